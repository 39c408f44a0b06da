package ingest

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Merger is the intake without its store and writer: it admits batches as Accept does (the
// checks, the lateness of a window at the time it is given, deduplication by instance and
// seq, the rows it leaves out) and merges them at once, as the writer does, into window
// aggregates it holds in memory. The rollout simulator, which keeps a virtual clock, stands
// it between its SDK instances and the autopilot's reading of windows. A Merger is not safe
// for concurrent use.
type Merger struct {
	in      *Intake
	windows map[windowKey]*openWindow
	forgot  time.Time // when batch ids were last forgotten
}

// NewMerger returns a merger whose flags' current versions (for rows without one) come from
// source, with the intake's options (of which it uses the window and the allowed lateness).
func NewMerger(source Source, opts Options) (*Merger, error) {
	in, err := New(nil, source, opts)
	if err != nil {
		return nil, err
	}
	return &Merger{in: in, windows: map[windowKey]*openWindow{}}, nil
}

// Accept admits b, received at now for project's environment env, and merges its valid rows.
// Its errors are Accept's for a batch refused as a whole; a merge that fails (it cannot, for
// rows admitted) leaves the window's aggregates incomplete.
func (m *Merger) Accept(ctx context.Context, project, env string, b telemetry.Batch, now time.Time) (Result, error) {
	if now.Sub(m.forgot) >= time.Second { // as often as the writer forgets them
		m.in.seen.forget(now.Add(-m.in.dedupHorizon()))
		m.forgot = now
	}
	p, res, err := m.in.admit(ctx, project, env, b, now)
	if err != nil || res.Duplicate {
		return res, err
	}
	k := windowKey{project: project, env: env, start: p.window.UnixMicro()}
	w := m.windows[k]
	if w == nil {
		w = &openWindow{key: k, start: p.window, aggs: map[aggKey]*cached{}}
		m.windows[k] = w
	}
	if err := w.add(p, nil); err != nil {
		return Result{}, err
	}
	if p.id.Seq > 0 {
		m.in.seen.add([]domain.BatchID{p.id})
	}
	res.Merged = len(p.rows)
	return res, nil
}

// Aggregates returns the aggregates of project's environment env whose windows start in
// [from, to), as the store would list them: ordered by window, flag, variant, version and
// metric.
func (m *Merger) Aggregates(project, env string, from, to time.Time) []domain.TelemetryAggregate {
	var out []domain.TelemetryAggregate
	for k, w := range m.windows {
		if k.project != project || k.env != env || w.start.Before(from) || !w.start.Before(to) {
			continue
		}
		for ak, c := range w.aggs {
			out = append(out, c.toDomain(w.telemetryKey(ak, m.in.opts.Window)))
		}
	}
	slices.SortFunc(out, func(a, b domain.TelemetryAggregate) int {
		return cmp.Or(a.Window.Compare(b.Window), strings.Compare(a.Flag, b.Flag), strings.Compare(a.Variant, b.Variant),
			cmp.Compare(a.Version, b.Version), strings.Compare(a.Metric, b.Metric))
	})
	return out
}

// Forget drops the windows that start before t.
func (m *Merger) Forget(t time.Time) {
	for k, w := range m.windows {
		if w.start.Before(t) {
			delete(m.windows, k)
		}
	}
}
