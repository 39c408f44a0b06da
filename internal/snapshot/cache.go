// Package snapshot turns the state of a project's environment into the immutable snapshot that
// SDKs and OFREP evaluate: the wire model, its compiled form and its JSON (plain and gzipped),
// built once per version and shared by every reader. A Cache keeps the newest snapshot of each
// environment in use, rebuilds it in the background when the service announces a change, and
// publishes each newer snapshot to subscribers such as SSE streams.
package snapshot

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// Options configures a Cache. Every field is optional.
type Options struct {
	// Logger receives build failures; it defaults to discarding.
	Logger *slog.Logger
	// Observe, when set, is told of every successful build and how long it took: the hook for
	// metrics.
	Observe func(project, env string, d time.Duration)
}

// Cache holds the newest Entry of every environment that was asked for. It is safe for
// concurrent use.
type Cache struct {
	store   domain.Reader
	log     *slog.Logger
	observe func(project, env string, d time.Duration)

	mu    sync.Mutex
	slots map[key]*slot
}

type key struct{ project, env string }

// slot is the state of one environment. Its fields are guarded by Cache.mu, and every send to
// a subscriber happens under it too, so publishing a newer entry needs no other ordering.
type slot struct {
	key   key
	entry *Entry  // the newest good entry; nil until a build succeeds
	build *flight // the build under way, if any
	again bool    // invalidated while build was under way: build once more after it
	// retry is the delay before retrying a build that failed for a reason that may pass (the
	// database was away); retrying says a retry is scheduled.
	retry    time.Duration
	retrying bool
	subs     map[chan *Entry]struct{}
}

// flight is one build. done closes when it ends; entry and err tell Gets waiting for it what
// to return: the slot's newest entry, or, when there is none, why.
type flight struct {
	done  chan struct{}
	entry *Entry
	err   error
}

// Retry delays after a failed build: doubled after each failure, between these bounds.
const (
	minRetry = time.Second
	maxRetry = 30 * time.Second
)

// New returns an empty cache over store.
func New(store domain.Reader, opts Options) *Cache {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Cache{store: store, log: log, observe: opts.Observe, slots: map[key]*slot{}}
}

// Get returns the newest entry of an environment, building it on first use; concurrent first
// Gets share one build. An unknown project or environment is a domain not_found error.
func (c *Cache) Get(ctx context.Context, project, env string) (*Entry, error) {
	c.mu.Lock()
	s := c.slotLocked(key{project, env})
	if e := s.entry; e != nil {
		c.mu.Unlock()
		return e, nil
	}
	f := s.build
	if f == nil {
		f = c.startLocked(s)
	}
	c.mu.Unlock()
	// The build runs on its own, so a caller that gives up does not fail the others, and its
	// result is cached for the next caller.
	select {
	case <-f.done:
		return f.entry, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Invalidate says that what SDKs see of project in env changed; env "" means every
// environment. Cached environments are rebuilt in the background and the new entries published
// to subscribers. Invalidations that arrive during a build coalesce into one more build after
// it, so a burst costs at most two builds and the last one reads the final state.
func (c *Cache) Invalidate(project, env string) {
	if env != "" {
		c.mu.Lock()
		defer c.mu.Unlock()
		if s, ok := c.slots[key{project, env}]; ok {
			c.rebuildLocked(s)
		}
		return
	}
	c.invalidateWhere(func(k key) bool { return k.project == project })
}

// InvalidateAll says that anything may have changed, as when announcements of changes may have
// been missed: every cached environment is rebuilt as by Invalidate.
func (c *Cache) InvalidateAll() {
	c.invalidateWhere(func(key) bool { return true })
}

func (c *Cache) invalidateWhere(match func(key) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.slots {
		if match(k) {
			c.rebuildLocked(s)
		}
	}
}

// Subscribe returns a channel that receives every newer entry of an environment, from now on,
// and a function that ends the subscription. Delivery never waits for the subscriber: one that
// has not taken an entry when the next arrives finds only the newer one (latest wins). The
// channel is closed when the environment or its project is deleted.
func (c *Cache) Subscribe(project, env string) (updates <-chan *Entry, cancel func()) {
	ch := make(chan *Entry, 1)
	c.mu.Lock()
	s := c.slotLocked(key{project, env})
	s.subs[ch] = struct{}{}
	c.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			delete(s.subs, ch)
			c.dropIfIdleLocked(s)
		})
	}
}

func (c *Cache) slotLocked(k key) *slot {
	s, ok := c.slots[k]
	if !ok {
		s = &slot{key: k, subs: map[chan *Entry]struct{}{}}
		c.slots[k] = s
	}
	return s
}

// dropIfIdleLocked forgets a slot that holds nothing and that nobody waits on, such as one for
// an environment that does not exist.
func (c *Cache) dropIfIdleLocked(s *slot) {
	if s.entry == nil && s.build == nil && len(s.subs) == 0 && c.slots[s.key] == s {
		delete(c.slots, s.key)
	}
}

func (c *Cache) rebuildLocked(s *slot) {
	if s.build != nil {
		s.again = true
		return
	}
	c.startLocked(s)
}

func (c *Cache) startLocked(s *slot) *flight {
	f := &flight{done: make(chan struct{})}
	s.build = f
	go c.run(s, f)
	return f
}

// run builds a slot until no invalidation arrived during the last build. It is the only
// builder of its slot, so entries are settled in the order they were built.
func (c *Cache) run(s *slot, f *flight) {
	for {
		e, err := c.build(s.key)
		c.mu.Lock()
		c.settleLocked(s, e, err)
		f.entry = s.entry
		if f.entry == nil {
			f.err = err
		}
		close(f.done)
		if !s.again {
			s.build = nil
			c.dropIfIdleLocked(s)
			c.mu.Unlock()
			return
		}
		s.again = false
		f = &flight{done: make(chan struct{})}
		s.build = f
		c.mu.Unlock()
	}
}

// settleLocked records the outcome of a build of s.
func (c *Cache) settleLocked(s *slot, e *Entry, err error) {
	k := s.key
	switch {
	case err == nil:
		s.retry = 0
		if s.entry != nil && !supersedes(e, s.entry) {
			return
		}
		s.entry = e
		for ch := range s.subs {
			offer(ch, e)
		}
	case domain.ErrorCode(err) == domain.CodeNotFound:
		// Deleted: there is nothing left to serve or to follow.
		s.entry = nil
		for ch := range s.subs {
			close(ch)
		}
		clear(s.subs)
	case errors.Is(err, errUnservable):
		// The service validates every change, so this is a defect; SDKs keep the previous
		// snapshot rather than lose every flag.
		c.log.Error("snapshot does not compile; still serving the previous one",
			"project", k.project, "environment", k.env, "serving_version", version(s.entry), "error", err)
	default:
		c.log.Error("snapshot build failed", "project", k.project, "environment", k.env, "error", err)
		// Retry only what someone is served or follows; a Get of anything else tries again.
		if !s.retrying && (s.entry != nil || len(s.subs) > 0) {
			s.retry = min(max(2*s.retry, minRetry), maxRetry)
			s.retrying = true
			time.AfterFunc(s.retry, func() {
				c.mu.Lock()
				defer c.mu.Unlock()
				s.retrying = false
				if c.slots[k] == s {
					c.rebuildLocked(s)
				}
			})
		}
	}
}

// supersedes reports whether e should replace old. A higher version always does. An equal
// version with other content happens when ids are handed out in another order than commits
// (PostgreSQL sequences): the later build read the later state, so it wins.
func supersedes(e, old *Entry) bool {
	return e.Version > old.Version || e.Version == old.Version && !bytes.Equal(e.JSON, old.JSON)
}

// offer hands e to a subscriber without waiting: when the subscriber has not taken the
// previous entry yet, e takes its place. Only the publisher sends, under Cache.mu, so after
// the buffer is emptied the send cannot block.
func offer(ch chan *Entry, e *Entry) {
	select {
	case ch <- e:
		return
	default:
	}
	select {
	case <-ch:
	default:
	}
	ch <- e
}

func version(e *Entry) int64 {
	if e == nil {
		return 0
	}
	return e.Version
}
