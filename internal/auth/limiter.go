package auth

import (
	"container/list"
	"sync"
	"time"
)

// LimiterKeys bounds how many keys a Limiter tracks. Beyond it the key whose last failure is
// oldest is forgotten first: someone who spreads failures over that many keys (client IPs,
// e-mail addresses) can wipe one key's record, but never make the server hold more.
const LimiterKeys = 10_000

// Limiter counts failed login attempts per key (a client IP, an e-mail address) and refuses a
// key that has failed max times within the sliding window. It is safe for concurrent use.
type Limiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*list.Element // of *failures
	// byLast orders the keys by their last failure, oldest first, so that expired and
	// evicted keys come off its front.
	byLast *list.List
}

// failures are a key's recent failure times, oldest first; at most max are kept.
type failures struct {
	key   string
	times []time.Time
}

// NewLimiter returns a limiter that allows max failures of a key within window, as the clock
// now (time.Now when nil) tells. max below 1 is taken as 1.
func NewLimiter(max int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	if max < 1 {
		max = 1
	}
	return &Limiter{max: max, window: window, now: now, keys: map[string]*list.Element{}, byLast: list.New()}
}

// Allow reports whether key may try again: false while it has max failures within the window.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	since := l.expire()
	e, ok := l.keys[key]
	if !ok {
		return true
	}
	f := e.Value.(*failures)
	return len(f.times) < l.max || !f.times[len(f.times)-l.max].After(since)
}

// Fail records a failed attempt of key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	since := l.expire()
	now := l.now()
	e, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= LimiterKeys {
			l.forget(l.byLast.Front())
		}
		e = l.byLast.PushBack(&failures{key: key})
		l.keys[key] = e
	}
	f := e.Value.(*failures)
	f.times = append(f.times, now)
	// Keep the failures within the window, at most max of them: older ones no longer count.
	drop := max(0, len(f.times)-l.max)
	for drop < len(f.times) && !f.times[drop].After(since) {
		drop++
	}
	f.times = append(f.times[:0], f.times[drop:]...)
	l.byLast.MoveToBack(e)
}

// Reset forgets key's failures, as after a successful login.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.keys[key]; ok {
		l.forget(e)
	}
}

// Len returns how many keys have failures that still count.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire()
	return len(l.keys)
}

// expire forgets the keys whose last failure has left the window, and returns the start of
// the window: failures at or before it no longer count.
func (l *Limiter) expire() time.Time {
	since := l.now().Add(-l.window)
	for e := l.byLast.Front(); e != nil; e = l.byLast.Front() {
		f := e.Value.(*failures)
		if len(f.times) > 0 && f.times[len(f.times)-1].After(since) {
			break
		}
		l.forget(e)
	}
	return since
}

func (l *Limiter) forget(e *list.Element) {
	delete(l.keys, e.Value.(*failures).key)
	l.byLast.Remove(e)
}
