package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
)

var _ domain.TelemetryStore = (*Store)(nil)

// The telemetry tables have no foreign keys to the flag state: SDKs report flags that were
// deleted or never created. Resolutions are stored in seconds.

const telemetryKeyCols = `project, environment, window_start, flag, variant, version, metric, resolution`

const telemetryCols = telemetryKeyCols + `, evaluations, observations, errors, sum_x, sum_x2, sum_log,
	sum_log2, units, sketch, last_seen, revision`

func scanTelemetry(s scanner) (a domain.TelemetryAggregate, err error) {
	var seconds int64
	err = s.Scan(&a.Project, &a.Environment, &a.Window, &a.Flag, &a.Variant, &a.Version, &a.Metric, &seconds,
		&a.Evaluations, &a.Count, &a.Errors, &a.Sum, &a.SumSq, &a.SumLog, &a.SumLogSq, &a.Units, &a.Sketch,
		&a.LastSeen, &a.Revision)
	a.Resolution = time.Duration(seconds) * time.Second
	return a, err
}

// telemetryValues are the parameters of one row, in the order of telemetryCols, to be stored
// with revision.
func telemetryValues(a domain.TelemetryAggregate, revision int64) []any {
	return []any{a.Project, a.Environment, ts(a.Window), a.Flag, a.Variant, a.Version, a.Metric,
		int64(a.Resolution / time.Second), a.Evaluations, a.Count, a.Errors, a.Sum, a.SumSq, a.SumLog,
		a.SumLogSq, blobOrNull(a.Units), blobOrNull(a.Sketch), ts(a.LastSeen), revision}
}

func blobOrNull(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// compareTelemetryKeys orders keys as the primary key does, which is also the order in which
// writes take row locks: writers that share a database lock in one order and cannot deadlock.
func compareTelemetryKeys(a, b domain.TelemetryKey) int {
	return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.Environment, b.Environment),
		a.Window.Compare(b.Window), cmp.Compare(a.Flag, b.Flag), cmp.Compare(a.Variant, b.Variant),
		cmp.Compare(a.Version, b.Version), cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.Resolution, b.Resolution))
}

// Rows per multi-row statement: well below SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const (
	telemetryChunk = 200
	batchChunk     = 1000
)

// valuesList returns "(p1, …, pk), (pk+1, …)": rows tuples of k parameters, numbered in order.
func valuesList(d Dialect, rows, k int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range k {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.Ordinal(r*k + c + 1))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// upsertTelemetry writes aggregates at their revisions and returns how many it wrote: an
// aggregate whose stored row is not at its Revision (or exists, for Revision 0) is skipped.
func upsertTelemetry(ctx context.Context, d Dialect, q Querier, aggs []domain.TelemetryAggregate) (int64, error) {
	const k = 19
	var written int64
	for chunk := range slices.Chunk(aggs, telemetryChunk) {
		params := make([]any, 0, len(chunk)*k)
		for _, a := range chunk {
			params = append(params, telemetryValues(a, a.Revision+1)...)
		}
		n, err := q.Exec(ctx, `INSERT INTO telemetry (`+telemetryCols+`) VALUES `+valuesList(d, len(chunk), k)+`
			ON CONFLICT (`+telemetryKeyCols+`) DO UPDATE SET evaluations = excluded.evaluations,
				observations = excluded.observations, errors = excluded.errors, sum_x = excluded.sum_x,
				sum_x2 = excluded.sum_x2, sum_log = excluded.sum_log, sum_log2 = excluded.sum_log2,
				units = excluded.units, sketch = excluded.sketch, last_seen = excluded.last_seen,
				revision = excluded.revision
			WHERE telemetry.revision = excluded.revision - 1`, params...)
		if err != nil {
			return written, fmt.Errorf("write telemetry: %w", err)
		}
		written += n
	}
	return written, nil
}

func checkResolution(d time.Duration) error {
	if d <= 0 || d%time.Second != 0 {
		return fmt.Errorf("telemetry resolution %s is not a positive whole number of seconds", d)
	}
	return nil
}

func (s *Store) SaveTelemetry(ctx context.Context, aggs []domain.TelemetryAggregate, batches []domain.BatchID) error {
	for _, a := range aggs {
		if err := checkResolution(a.Resolution); err != nil {
			return err
		}
	}
	for _, b := range batches {
		if b.Seq > math.MaxInt64 {
			return fmt.Errorf("batch %s/%d: seq above %d cannot be stored", b.Instance, b.Seq, int64(math.MaxInt64))
		}
	}
	aggs = slices.SortedFunc(slices.Values(aggs), func(a, b domain.TelemetryAggregate) int {
		return compareTelemetryKeys(a.TelemetryKey, b.TelemetryKey)
	})
	batches = slices.SortedFunc(slices.Values(batches), func(a, b domain.BatchID) int {
		return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.Environment, b.Environment),
			cmp.Compare(a.Instance, b.Instance), cmp.Compare(a.Seq, b.Seq))
	})
	return s.Update(ctx, func(dtx domain.Tx) error {
		w := dtx.(*writer)
		dups, err := insertBatches(ctx, s.d, w.tx, batches)
		if err != nil {
			return err
		}
		if len(dups) > 0 {
			return &domain.TelemetryConflict{Duplicates: dups}
		}
		n, err := upsertTelemetry(ctx, s.d, w.tx, aggs)
		if err != nil {
			return err
		}
		if n < int64(len(aggs)) {
			return &domain.TelemetryConflict{Stale: true}
		}
		return updateLastEvaluated(ctx, s.d, w.tx, aggs)
	})
}

// insertBatches records batch ids and returns those recorded already.
func insertBatches(ctx context.Context, d Dialect, q Querier, batches []domain.BatchID) ([]domain.BatchID, error) {
	type id struct {
		project, env, instance string
		seq                    int64
	}
	var dups []domain.BatchID
	for chunk := range slices.Chunk(batches, batchChunk) {
		params := make([]any, 0, 5*len(chunk))
		for _, b := range chunk {
			params = append(params, b.Project, b.Environment, b.Instance, int64(b.Seq), ts(b.Received))
		}
		inserted, err := list(ctx, q, func(s scanner) (i id, err error) {
			err = s.Scan(&i.project, &i.env, &i.instance, &i.seq)
			return i, err
		}, `INSERT INTO telemetry_batches (project, environment, instance, seq, received_at)
			VALUES `+valuesList(d, len(chunk), 5)+`
			ON CONFLICT DO NOTHING RETURNING project, environment, instance, seq`, params...)
		if err != nil {
			return nil, fmt.Errorf("record telemetry batches: %w", err)
		}
		if len(inserted) == len(chunk) {
			continue
		}
		fresh := make(map[id]bool, len(inserted))
		for _, i := range inserted {
			fresh[i] = true
		}
		for _, b := range chunk {
			if !fresh[id{b.Project, b.Environment, b.Instance, int64(b.Seq)}] {
				dups = append(dups, b)
			}
		}
	}
	return dups, nil
}

// updateLastEvaluated raises the last-evaluated time of every flag with evaluations in aggs
// (sorted by key) to the end of its latest such window.
func updateLastEvaluated(ctx context.Context, d Dialect, q Querier, aggs []domain.TelemetryAggregate) error {
	type flag struct{ project, env, flag string }
	last := map[flag]time.Time{}
	var order []flag
	for _, a := range aggs {
		if a.Metric != "" || a.Evaluations <= 0 {
			continue
		}
		f := flag{a.Project, a.Environment, a.Flag}
		end := a.Window.Add(a.Resolution)
		prev, seen := last[f]
		if !seen {
			order = append(order, f)
		}
		if end.After(prev) {
			last[f] = end
		}
	}
	// Sorted, as the rows are locked in this order.
	slices.SortFunc(order, func(a, b flag) int {
		return cmp.Or(cmp.Compare(a.project, b.project), cmp.Compare(a.env, b.env), cmp.Compare(a.flag, b.flag))
	})
	for chunk := range slices.Chunk(order, batchChunk) {
		params := make([]any, 0, 4*len(chunk))
		for _, f := range chunk {
			params = append(params, f.project, f.env, f.flag, ts(last[f]))
		}
		if _, err := q.Exec(ctx, `INSERT INTO telemetry_last_evaluated (project, environment, flag, last_evaluated)
			VALUES `+valuesList(d, len(chunk), 4)+` ON CONFLICT (project, environment, flag)
			DO UPDATE SET last_evaluated = excluded.last_evaluated
			WHERE excluded.last_evaluated > telemetry_last_evaluated.last_evaluated`, params...); err != nil {
			return fmt.Errorf("record last evaluations: %w", err)
		}
	}
	return nil
}

func (r reader) ListTelemetry(ctx context.Context, f domain.TelemetryFilter) ([]domain.TelemetryAggregate, error) {
	var a args
	where := []string{"project = " + a.add(f.Project), "environment = " + a.add(f.Environment)}
	if !f.From.IsZero() {
		where = append(where, "window_start >= "+a.add(ts(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "window_start < "+a.add(ts(f.To)))
	}
	for _, in := range []struct {
		col    string
		values []string
	}{{"flag", f.Flags}, {"metric", f.Metrics}} {
		if len(in.values) == 0 {
			continue
		}
		ps := make([]string, len(in.values))
		for i, v := range in.values {
			ps[i] = a.add(v)
		}
		where = append(where, in.col+" IN ("+strings.Join(ps, ", ")+")")
	}
	return list(ctx, r.q, scanTelemetry, `SELECT `+telemetryCols+` FROM telemetry WHERE `+
		strings.Join(where, " AND ")+` ORDER BY window_start, flag, variant, version, metric, resolution`, a...)
}

func (r reader) LastEvaluated(ctx context.Context, project, env string) (map[string]time.Time, error) {
	type last struct {
		flag string
		at   time.Time
	}
	rows, err := list(ctx, r.q, func(s scanner) (l last, err error) {
		err = s.Scan(&l.flag, &l.at)
		return l, err
	}, `SELECT flag, last_evaluated FROM telemetry_last_evaluated WHERE project = $1 AND environment = $2`, project, env)
	if err != nil {
		return nil, err
	}
	m := make(map[string]time.Time, len(rows))
	for _, l := range rows {
		m[l.flag] = l.at
	}
	return m, nil
}

func (r reader) EvaluationCounts(ctx context.Context, project, env string, flags []string, bounds []time.Time) (map[string][]int64, error) {
	n := len(bounds) - 1
	if n < 1 {
		return map[string][]int64{}, nil
	}
	var a args
	where := []string{"project = " + a.add(project), "environment = " + a.add(env), "metric = ''",
		"window_start >= " + a.add(ts(bounds[0])), "window_start < " + a.add(ts(bounds[n]))}
	if len(flags) > 0 {
		ps := make([]string, len(flags))
		for i, f := range flags {
			ps[i] = a.add(f)
		}
		where = append(where, "flag IN ("+strings.Join(ps, ", ")+")")
	}
	// The step of each window, by comparisons: portable SQL.
	bucket := "0"
	if n > 1 {
		var b strings.Builder
		b.WriteString("CASE")
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, " WHEN window_start < %s THEN %d", a.add(ts(bounds[i])), i-1)
		}
		fmt.Fprintf(&b, " ELSE %d END", n-1)
		bucket = b.String()
	}
	type count struct {
		flag        string
		bucket      int
		evaluations int64
	}
	rows, err := list(ctx, r.q, func(s scanner) (c count, err error) {
		err = s.Scan(&c.flag, &c.bucket, &c.evaluations)
		return c, err
	}, `SELECT flag, `+bucket+` AS bucket, SUM(evaluations) FROM telemetry WHERE `+strings.Join(where, " AND ")+
		` GROUP BY flag, bucket`, a...)
	if err != nil {
		return nil, err
	}
	out := map[string][]int64{}
	for _, c := range rows {
		counts := out[c.flag]
		if counts == nil {
			counts = make([]int64, n)
			out[c.flag] = counts
		}
		counts[c.bucket] += c.evaluations
	}
	return out, nil
}

// errRaced makes a compaction step roll back when another writer changed its windows
// meanwhile (another replica compacting them).
var errRaced = errors.New("telemetry compaction raced with another writer")

// maxCompactionRaces bounds the compaction steps retried in one CompactTelemetry.
const maxCompactionRaces = 3

func (s *Store) CompactTelemetry(ctx context.Context, before time.Time, to time.Duration, dropBefore, forgetBefore time.Time,
	merge func(dst *domain.TelemetryAggregate, srcs ...domain.TelemetryAggregate) error) error {
	if err := checkResolution(to); err != nil {
		return err
	}
	err := s.Update(ctx, func(dtx domain.Tx) error {
		q := dtx.(*writer).tx
		if _, err := q.Exec(ctx, `DELETE FROM telemetry WHERE window_start < $1`, ts(dropBefore)); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM telemetry_last_evaluated WHERE last_evaluated <= $1`, ts(dropBefore)); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM telemetry_batches WHERE received_at < $1`, ts(forgetBefore))
		return err
	})
	if err != nil {
		return fmt.Errorf("drop old telemetry: %w", err)
	}
	// One target window of one environment per transaction, so that no transaction grows with
	// the backlog and the intake's writes wait for one short step at a time.
	for races := 0; ; {
		err := s.compactStep(ctx, ts(before), to, merge)
		switch {
		case errors.Is(err, errDone):
			return nil
		case errors.Is(err, errRaced) && races < maxCompactionRaces:
			races++
		case err != nil:
			return fmt.Errorf("downsample telemetry: %w", err)
		}
	}
}

// errDone ends compaction: no window is left to merge.
var errDone = errors.New("nothing left to compact")

// compactStep merges the windows shorter than to of one environment that start before before
// and in one window of length to into that window.
func (s *Store) compactStep(ctx context.Context, before time.Time, to time.Duration,
	merge func(dst *domain.TelemetryAggregate, srcs ...domain.TelemetryAggregate) error) error {
	seconds := int64(to / time.Second)
	return s.Update(ctx, func(dtx domain.Tx) error {
		q := dtx.(*writer).tx
		type found struct {
			project, env string
			window       time.Time
		}
		next, err := get(ctx, q, func(s scanner) (f found, err error) {
			err = s.Scan(&f.project, &f.env, &f.window)
			return f, err
		}, errDone, `SELECT project, environment, window_start FROM telemetry
			WHERE resolution < $1 AND window_start < $2 LIMIT 1`, seconds, before)
		if err != nil {
			return err
		}
		start := domain.WindowStart(next.window, to)
		end := start.Add(to)
		if before.Before(end) {
			end = before
		}
		srcs, err := list(ctx, q, scanTelemetry, `SELECT `+telemetryCols+` FROM telemetry
			WHERE project = $1 AND environment = $2 AND window_start >= $3 AND window_start < $4 AND resolution < $5`,
			next.project, next.env, ts(start), ts(end), seconds)
		if err != nil {
			return err
		}
		existing, err := list(ctx, q, scanTelemetry, `SELECT `+telemetryCols+` FROM telemetry
			WHERE project = $1 AND environment = $2 AND window_start = $3 AND resolution = $4`,
			next.project, next.env, ts(start), seconds)
		if err != nil {
			return err
		}
		merged, err := mergeInto(srcs, existing, start, to, merge)
		if err != nil {
			return err
		}
		n, err := q.Exec(ctx, `DELETE FROM telemetry WHERE project = $1 AND environment = $2
			AND window_start >= $3 AND window_start < $4 AND resolution < $5`,
			next.project, next.env, ts(start), ts(end), seconds)
		if err != nil {
			return err
		}
		if n != int64(len(srcs)) {
			return errRaced
		}
		written, err := upsertTelemetry(ctx, s.d, q, merged)
		if err != nil {
			return err
		}
		if written != int64(len(merged)) {
			return errRaced
		}
		return nil
	})
}

// mergeInto merges srcs into the aggregates of window start and length to, existing (at their
// revisions) or new, and returns them in key order.
func mergeInto(srcs, existing []domain.TelemetryAggregate, start time.Time, to time.Duration,
	merge func(dst *domain.TelemetryAggregate, srcs ...domain.TelemetryAggregate) error) ([]domain.TelemetryAggregate, error) {
	target := func(k domain.TelemetryKey) domain.TelemetryKey {
		k.Window, k.Resolution = start, to
		return k
	}
	groups := map[domain.TelemetryKey][]domain.TelemetryAggregate{}
	for _, a := range srcs {
		k := target(a.TelemetryKey)
		groups[k] = append(groups[k], a)
	}
	dsts := map[domain.TelemetryKey]domain.TelemetryAggregate{}
	for _, a := range existing {
		dsts[a.TelemetryKey] = a
	}
	out := make([]domain.TelemetryAggregate, 0, len(groups))
	for k, group := range groups {
		dst, ok := dsts[k]
		if !ok {
			dst = domain.TelemetryAggregate{TelemetryKey: k}
		}
		if err := merge(&dst, group...); err != nil {
			return nil, fmt.Errorf("merge %s/%s %s %s v%d %q: %w", k.Project, k.Environment, k.Flag, k.Variant, k.Version, k.Metric, err)
		}
		out = append(out, dst)
	}
	slices.SortFunc(out, func(a, b domain.TelemetryAggregate) int { return compareTelemetryKeys(a.TelemetryKey, b.TelemetryKey) })
	return out, nil
}
