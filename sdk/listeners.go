package sdk

import (
	"sync"

	"github.com/flagpilot/flagpilot/sdk/eval"
)

// FlagChange tells a listener that a flag's configuration changed.
type FlagChange struct {
	Key string
	// OldVersion and NewVersion are the flag's versions before and after; OldVersion is 0 when
	// the flag is new to the client.
	OldVersion, NewVersion int64
	// Removed is set when the new configuration no longer has the flag.
	Removed bool
	// SnapshotVersion is the version of the configuration that brought the change.
	SnapshotVersion int64
}

// OnChange calls fn after each new configuration that changes flag key's version (or adds or
// removes the flag), and returns a function that removes the listener. Listeners run one at a
// time on a goroutine of the client, never on the evaluation path: a slow listener delays only
// the listeners after it.
func (c *Client) OnChange(key string, fn func(FlagChange)) (remove func()) {
	return c.listeners.add(&listener{key: key, flag: fn})
}

// ConfigChange tells a listener that a new configuration was installed.
type ConfigChange struct {
	Version int64
	// Flags lists the flags whose configuration changed, was added or was removed.
	Flags []FlagChange
}

// OnAnyChange calls fn after each new configuration is installed, whatever changed, and returns
// a function that removes the listener.
func (c *Client) OnAnyChange(fn func(ConfigChange)) (remove func()) {
	return c.listeners.add(&listener{any: fn})
}

// Status is how a server-mode client stands with its server.
type Status string

const (
	// StatusReady: the client follows the server; its configuration is current.
	StatusReady Status = "ready"
	// StatusStale: the server cannot be reached; the client serves the last configuration it
	// had (from the server or a bootstrap) while it reconnects.
	StatusStale Status = "stale"
	// StatusError: the server cannot be reached and the client has no configuration at all;
	// every evaluation serves the caller's default.
	StatusError Status = "error"
)

// StatusChange tells a listener that the client's status changed, and why.
type StatusChange struct {
	Status Status
	Err    error // the failure behind stale and error
}

// OnStatus calls fn each time a server-mode client's status changes, and returns a function
// that removes the listener. A flag-file client is ready from the start and never changes.
func (c *Client) OnStatus(fn func(StatusChange)) (remove func()) {
	return c.listeners.add(&listener{status: fn})
}

// Status returns the client's status as last announced to OnStatus listeners; empty before a
// server-mode client has first succeeded or failed, and for flag-file clients.
func (c *Client) Status() Status {
	c.listeners.mu.Lock()
	defer c.listeners.mu.Unlock()
	return c.listeners.status
}

type listener struct {
	key    string
	flag   func(FlagChange)
	any    func(ConfigChange)
	status func(StatusChange)
}

// notice is one installed configuration's changes, or one status change, queued for the
// listeners.
type notice struct {
	version int64
	changes []FlagChange
	status  *StatusChange
}

// listeners keeps the registered listeners and a queue of notices. changed only appends to the
// queue, so installing a configuration never waits for a listener.
type listeners struct {
	mu     sync.Mutex
	list   []*listener
	queue  []notice
	wake   chan struct{} // capacity 1: a notice is queued
	closed bool
	status Status // the last status announced
}

func (l *listeners) add(ln *listener) func() {
	l.mu.Lock()
	l.list = append(l.list, ln)
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, x := range l.list {
			if x == ln {
				l.list = append(l.list[:i:i], l.list[i+1:]...)
				return
			}
		}
	}
}

// changed queues the differences between two compiled configurations; prev may be nil.
func (l *listeners) changed(prev, next *eval.Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.list) == 0 || l.wake == nil || l.closed {
		return
	}
	n := notice{version: next.Version()}
	for _, f := range next.Flags() {
		var old int64
		if prev != nil {
			if pf, ok := prev.Flag(f.Key()); ok {
				if pf.Version() == f.Version() {
					continue
				}
				old = pf.Version()
			}
		}
		n.changes = append(n.changes, FlagChange{Key: f.Key(), OldVersion: old, NewVersion: f.Version(), SnapshotVersion: n.version})
	}
	if prev != nil {
		for _, pf := range prev.Flags() {
			if _, ok := next.Flag(pf.Key()); !ok {
				n.changes = append(n.changes, FlagChange{Key: pf.Key(), OldVersion: pf.Version(), Removed: true, SnapshotVersion: n.version})
			}
		}
	}
	l.enqueue(n)
}

// statusChanged queues a status notice when the status differs from the last one.
func (l *listeners) statusChanged(sc StatusChange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sc.Status == l.status || l.wake == nil || l.closed {
		return
	}
	l.status = sc.Status
	l.enqueue(notice{status: &sc})
}

// enqueue adds a notice and wakes the listeners' goroutine; l.mu is held.
func (l *listeners) enqueue(n notice) {
	l.queue = append(l.queue, n)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// startListeners starts the goroutine that calls the listeners; Close stops it.
func (c *Client) startListeners() {
	l := &c.listeners
	l.mu.Lock()
	l.wake = make(chan struct{}, 1)
	l.mu.Unlock()
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		for {
			select {
			case <-c.stop:
				l.mu.Lock()
				l.closed = true
				l.mu.Unlock()
				return
			case <-l.wake:
			}
			l.mu.Lock()
			queue, list := l.queue, append([]*listener(nil), l.list...)
			l.queue = nil
			l.mu.Unlock()
			for _, n := range queue {
				for _, ln := range list {
					c.notify(ln, n)
				}
			}
		}
	}()
}

// notify calls one listener for one notice; a listener that panics is logged, not fatal.
func (c *Client) notify(ln *listener, n notice) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("change listener panicked", "panic", r)
		}
	}()
	switch {
	case n.status != nil:
		if ln.status != nil {
			ln.status(*n.status)
		}
		return
	case ln.status != nil:
		return
	case ln.any != nil:
		ln.any(ConfigChange{Version: n.version, Flags: n.changes})
		return
	}
	for _, ch := range n.changes {
		if ch.Key == ln.key {
			ln.flag(ch)
		}
	}
}
