package ingest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/stats"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// windowKey identifies an open window of one environment.
type windowKey struct {
	project, env string
	start        int64 // Unix microseconds
}

// openWindow holds the aggregates of an open window as they are stored, loaded from the store
// on first use, so that a commit writes merged aggregates without reading them back.
type openWindow struct {
	key   windowKey
	start time.Time
	aggs  map[aggKey]*cached
}

type cached struct {
	agg      stats.Aggregate
	lastSeen time.Time
	revision int64 // of the stored aggregate; 0 when not stored
}

// commitTimeout bounds one commit, so that a hung database fails the waiting batches (which
// their SDKs retry) instead of holding them.
const commitTimeout = 30 * time.Second

// minCommitGap is the least time between commits: about the latency a batch's sender sees.
const minCommitGap = 20 * time.Millisecond

// maxCommitAttempts bounds the retries of a commit that lost a race with another writer
// sharing the database.
const maxCommitAttempts = 10

// Run writes accepted batches and runs the retention job until ctx is cancelled, then writes
// what is queued and returns. Accept refuses batches with ErrClosed once Run has returned.
func (in *Intake) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { in.retain(ctx) })
	in.write(ctx)
	wg.Wait()
	return nil
}

// write is the single writer: every wake-up it takes all queued batches and commits them
// together, so that a write's cost is shared by every batch that arrived while the previous
// one ran.
func (in *Intake) write(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last time.Time
	var took time.Duration
	for {
		select {
		case <-ctx.Done():
			if items := in.queue.take(true); len(items) > 0 {
				in.commit(context.WithoutCancel(ctx), items)
			}
			return
		case <-in.queue.wake:
			// A commit costs mostly per aggregate written, not per batch: waiting lets more
			// batches share one. The writer rests at least as long as its last commit took, so
			// that it never takes more than half a core from the request handlers, unless the
			// queue fills up.
			rest := time.NewTimer(time.Until(last.Add(max(minCommitGap, took))))
			for waiting := true; waiting; {
				select {
				case <-rest.C:
					waiting = false
				case <-ctx.Done():
					waiting = false
				case <-in.queue.wake:
					waiting = in.queue.size() < in.opts.MaxQueuedRows/2
				}
			}
			rest.Stop()
			start := time.Now()
			in.commit(context.WithoutCancel(ctx), in.queue.take(false))
			last = time.Now()
			took = last.Sub(start)
		case <-tick.C:
			now := in.opts.Now()
			in.evict(now)
			in.seen.forget(now.Add(-in.dedupHorizon()))
		}
	}
}

// dedupHorizon is how long after it was accepted a resent batch could still be accepted
// (it would be late after that): its start may be MaxClockSkew ahead, and its window takes
// batches until AllowedLateness after its end.
func (in *Intake) dedupHorizon() time.Duration {
	return MaxClockSkew + in.opts.Window + in.opts.AllowedLateness
}

// commit merges items into their windows and writes them with their batch ids in one
// transaction, then tells every waiting Accept.
func (in *Intake) commit(ctx context.Context, items []*pending) {
	if len(items) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	live := in.twins(items)
	for attempt := 1; ; attempt++ {
		err := in.save(ctx, live)
		var conflict *domain.TelemetryConflict
		if err == nil || !errors.As(err, &conflict) || attempt == maxCommitAttempts {
			if err != nil {
				in.log.Error("writing telemetry failed", "batches", len(live), "attempt", attempt, "error", err)
				err = fmt.Errorf("write telemetry: %w", err)
			}
			for _, p := range live {
				p.err = err
				close(p.done)
			}
			return
		}
		// Another writer sharing the database (a replica) recorded some of these batches or
		// changed the aggregates since they were loaded: drop those batches and merge the rest
		// into freshly loaded aggregates, after a random pause that grows with the attempts,
		// so that writers racing for the same windows fall out of step.
		if conflict.Stale {
			time.Sleep(rand.N(time.Duration(attempt) * 10 * time.Millisecond))
		}
		dup := map[domain.BatchID]bool{}
		for _, id := range conflict.Duplicates {
			id.Received = time.Time{}
			dup[id] = true
		}
		kept := live[:0]
		for _, p := range live {
			id := p.id
			id.Received = time.Time{}
			if p.id.Seq > 0 && dup[id] {
				p.duplicate = true
				close(p.done)
				continue
			}
			kept = append(kept, p)
		}
		live = kept
	}
}

// twins answers the batches sent twice within one commit, once the first is written, and
// returns the others.
func (in *Intake) twins(items []*pending) []*pending {
	first := map[domain.BatchID]*pending{}
	live := items[:0:0]
	for _, p := range items {
		if p.id.Seq == 0 {
			live = append(live, p)
			continue
		}
		k := p.id
		k.Received = time.Time{}
		if orig, ok := first[k]; ok {
			go func() {
				<-orig.done
				p.duplicate, p.err = orig.err == nil, orig.err
				close(p.done)
			}()
			continue
		}
		first[k] = p
		live = append(live, p)
	}
	return live
}

// save merges live into the cached windows and writes every aggregate they changed. When the
// write fails, the windows it touched are dropped, since they hold merges that were not
// stored; the next use loads them again.
func (in *Intake) save(ctx context.Context, live []*pending) error {
	if len(live) == 0 {
		return nil
	}
	touched := map[*cached]domain.TelemetryKey{}
	windows := map[*openWindow]bool{}
	var ids []domain.BatchID
	err := func() error {
		for _, p := range live {
			w, err := in.window(ctx, p.project, p.env, p.window)
			if err != nil {
				return err
			}
			windows[w] = true
			err = w.add(p, func(k aggKey, c *cached) { touched[c] = w.telemetryKey(k, in.opts.Window) })
			if err != nil {
				return err
			}
			if p.id.Seq > 0 {
				ids = append(ids, p.id)
			}
		}
		aggs := make([]domain.TelemetryAggregate, 0, len(touched))
		for c, k := range touched {
			aggs = append(aggs, c.toDomain(k))
		}
		return in.store.SaveTelemetry(ctx, aggs, ids)
	}()
	if err != nil {
		for w := range windows {
			delete(in.windows, w.key)
		}
		return err
	}
	for c := range touched {
		c.revision++
	}
	in.seen.add(ids)
	return nil
}

// add merges p's rows into the window's aggregates, telling touched of each one it changed.
func (w *openWindow) add(p *pending, touched func(aggKey, *cached)) error {
	for _, r := range p.rows {
		c := w.aggs[r.key]
		if c == nil {
			c = &cached{}
			w.aggs[r.key] = c
		}
		if err := c.agg.Merge(r.agg); err != nil {
			return err
		}
		if len(r.sketch) > 0 {
			if c.agg.Sketch == nil {
				c.agg.Sketch = telemetry.NewSketch()
			}
			// Checked by Accept: it decodes, in the platform mapping.
			if err := c.agg.Sketch.DecodeAndMergeWith(r.sketch); err != nil {
				return err
			}
		}
		if len(r.units) > 0 {
			if c.agg.Units == nil {
				c.agg.Units = new(telemetry.HLL)
			}
			for _, reg := range r.units {
				c.agg.Units.SetMax(int(reg>>8), uint8(reg))
			}
		}
		c.lastSeen = maxTime(c.lastSeen, p.received)
		if touched != nil {
			touched(r.key, c)
		}
	}
	return nil
}

// telemetryKey is the stored key of the window's aggregate k.
func (w *openWindow) telemetryKey(k aggKey, resolution time.Duration) domain.TelemetryKey {
	return domain.TelemetryKey{Project: w.key.project, Environment: w.key.env, Flag: k.flag,
		Variant: k.variant, Version: k.version, Metric: k.metric, Window: w.start, Resolution: resolution}
}

// toDomain is the aggregate as the store keeps it under key k.
func (c *cached) toDomain(k domain.TelemetryKey) domain.TelemetryAggregate {
	a := domain.TelemetryAggregate{TelemetryKey: k, LastSeen: c.lastSeen, Revision: c.revision}
	c.agg.ToDomain(&a)
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// window returns the cached window, loading it from the store on first use.
func (in *Intake) window(ctx context.Context, project, env string, start time.Time) (*openWindow, error) {
	k := windowKey{project: project, env: env, start: start.UnixMicro()}
	if w := in.windows[k]; w != nil {
		return w, nil
	}
	stored, err := in.store.ListTelemetry(ctx, domain.TelemetryFilter{Project: project, Environment: env,
		From: start, To: start.Add(time.Microsecond)})
	if err != nil {
		return nil, fmt.Errorf("load window: %w", err)
	}
	w := &openWindow{key: k, start: start, aggs: make(map[aggKey]*cached, len(stored))}
	for _, a := range stored {
		if a.Resolution != in.opts.Window {
			continue // written with another window length before a configuration change
		}
		agg, err := stats.FromDomain(a)
		if err != nil {
			return nil, fmt.Errorf("load window: %w", err)
		}
		w.aggs[aggKey{flag: a.Flag, variant: a.Variant, version: a.Version, metric: a.Metric}] =
			&cached{agg: agg, lastSeen: a.LastSeen, revision: a.Revision}
	}
	in.windows[k] = w
	return w, nil
}

// evict forgets the windows that closed: Accept refuses their batches now. A batch accepted
// just before its window closed and written after loads the window again.
func (in *Intake) evict(now time.Time) {
	for k, w := range in.windows {
		if now.After(w.start.Add(in.opts.Window + in.opts.AllowedLateness)) {
			delete(in.windows, k)
		}
	}
}

// retain runs Compact every CompactEvery until ctx is cancelled.
func (in *Intake) retain(ctx context.Context) {
	t := time.NewTicker(in.opts.CompactEvery)
	defer t.Stop()
	for {
		if err := in.Compact(ctx); err != nil && ctx.Err() == nil {
			in.log.Error("telemetry retention failed; retrying at the next run", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Compact merges the windows older than DownsampleAfter into hour windows (whole hours only,
// so that each hour is merged once), deletes the windows older than Retention, and forgets the
// batch ids older than twice the deduplication horizon: a resend after that would be late.
func (in *Intake) Compact(ctx context.Context) error {
	now := in.opts.Now()
	return in.store.CompactTelemetry(ctx,
		domain.WindowStart(now.Add(-in.opts.DownsampleAfter), DownsampleResolution), DownsampleResolution,
		now.Add(-in.opts.Retention), now.Add(-2*in.dedupHorizon()), stats.MergeDomain)
}
