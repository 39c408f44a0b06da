package snapshot

import (
	"context"
	"sync"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// Source is where the SDK endpoints and OFREP take snapshots from: a Cache, built from the
// database, or a Mirror, fed from an upstream server by a relay.
type Source interface {
	// Get returns the newest entry of an environment; an unknown one is a domain not_found
	// error.
	Get(ctx context.Context, project, env string) (*Entry, error)
	// Subscribe returns a channel that receives every newer entry of an environment, latest
	// wins, and a function that ends the subscription.
	Subscribe(project, env string) (updates <-chan *Entry, cancel func())
}

var (
	_ Source = (*Cache)(nil)
	_ Source = (*Mirror)(nil)
)

// Mirror holds the one environment that a relay serves, as the upstream sends it: it has no
// entry until the first Set, and then the newest one set.
type Mirror struct {
	mu    sync.Mutex
	entry *Entry
	subs  map[chan *Entry]struct{}
	ready chan struct{} // closed by the first Set
}

// NewMirror returns an empty mirror.
func NewMirror() *Mirror {
	return &Mirror{subs: map[chan *Entry]struct{}{}, ready: make(chan struct{})}
}

// Set publishes e to the mirror's subscribers unless the mirror holds a newer entry already.
func (m *Mirror) Set(e *Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entry == nil {
		close(m.ready)
	} else if !supersedes(e, m.entry) {
		return
	}
	m.entry = e
	for ch := range m.subs {
		offer(ch, e)
	}
}

// Ready is closed once the mirror holds an entry.
func (m *Mirror) Ready() <-chan struct{} { return m.ready }

// Latest returns the newest entry, waiting for the first one until ctx ends.
func (m *Mirror) Latest(ctx context.Context) (*Entry, error) {
	select {
	case <-m.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entry, nil
}

// Get returns the mirror's entry as Latest does. Any other environment than the mirrored one
// is not found.
func (m *Mirror) Get(ctx context.Context, project, env string) (*Entry, error) {
	e, err := m.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if e.Project != project || e.Environment != env {
		return nil, domain.Errorf(domain.CodeNotFound, "this relay serves only %s/%s", e.Project, e.Environment)
	}
	return e, nil
}

// Subscribe follows the mirrored environment, whichever project and env are named: callers
// learn them from its entries, so they cannot name another.
func (m *Mirror) Subscribe(_, _ string) (updates <-chan *Entry, cancel func()) {
	ch := make(chan *Entry, 1)
	m.mu.Lock()
	m.subs[ch] = struct{}{}
	m.mu.Unlock()
	return ch, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs, ch)
	}
}
