package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/stats"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// checkoutVersion is the configuration version of checkout in production (created, then
// configured once).
const checkoutVersion = 2

// want describes the stored aggregate of one key of production's window at clockStart.
type want struct {
	flag, variant string
	version       int64
	metric        string
	evaluations   int64
	units         []int
	errors        int64
	values        []float64
}

// checkAggregates compares the stored aggregates of production with ws: counts and sums
// exactly (the test values add exactly), units exactly (small counts estimate exactly), and
// quantiles with those of one sketch of every value.
func checkAggregates(t *testing.T, got []domain.TelemetryAggregate, window time.Time, ws ...want) {
	t.Helper()
	if len(got) != len(ws) {
		t.Fatalf("%d aggregates, want %d: %+v", len(got), len(ws), got)
	}
	for i, w := range ws {
		g := got[i]
		key := domain.TelemetryKey{Project: "shop", Environment: "production", Flag: w.flag, Variant: w.variant,
			Version: w.version, Metric: w.metric, Window: window, Resolution: DefaultWindow}
		var exp domain.TelemetryAggregate
		if w.metric == "" {
			exp = testenv.Exposures(key, w.evaluations, w.units...)
		} else {
			exp = testenv.Observations(key, w.errors, w.values...)
			if len(w.units) > 0 {
				exp.Units = testenv.Units(w.units...)
			}
		}
		if g.TelemetryKey != key || g.Evaluations != exp.Evaluations || g.Count != exp.Count || g.Errors != exp.Errors ||
			g.Sum != exp.Sum || g.SumSq != exp.SumSq || math.Abs(g.SumLog-exp.SumLog) > 1e-9 {
			t.Errorf("aggregate %d:\n got %+v\nwant %+v", i, g, exp)
			continue
		}
		ga, err := stats.FromDomain(g)
		check(t, err)
		wa, err := stats.FromDomain(exp)
		check(t, err)
		// Merging HyperLogLogs is exact: the estimate is that of one made of every unit.
		if gu, wu := ga.UnitCount(), wa.UnitCount(); gu != wu {
			t.Errorf("aggregate %d: %d units, want %d (%d distinct units)", i, gu, wu, len(w.units))
		}
		for _, q := range []float64{0, 0.5, 0.99, 1} {
			gq, _ := ga.Quantile(q)
			wq, _ := wa.Quantile(q)
			if gq != wq {
				t.Errorf("aggregate %d: p%v = %v, want %v", i, 100*q, gq, wq)
			}
		}
	}
}

// TestSumsAndCountsAreExact merges the batches of three instances: counts and sums add
// exactly, units seen by several instances count once, quantiles are those of every value,
// rows without a version get the flag's, and a batch goes to the window of its start.
func TestSumsAndCountsAreExact(t *testing.T) {
	clk := testenv.NewClock(clockStart.Add(50 * time.Second))
	e := newTestEnv(t, Options{}, clk)
	window := clockStart.Truncate(time.Minute)
	for i, inst := range []string{"a", "b", "c"} {
		for seq := range uint64(2) {
			base := i*100 + int(seq)*10
			e.mustAccept(batch(inst, seq+1, window.Add(time.Duration(seq)*20*time.Second),
				exposure("checkout", "on", 0, 10, base, base+1, 1000),
				exposure("checkout", "off", 0, 5, base+2),
				// Version 1 served before the last change: kept apart.
				exposure("checkout", "on", 1, 1, 1000),
				observations("checkout", "on", 0, telemetry.RequestMetric, 1, 12.5, float64(base)+0.25),
				observations("checkout", "on", 0, "revenue", 0, 100),
			))
		}
	}
	// The next window's batch, which starts in it and ends after it, goes there alone.
	clk.Set(window.Add(time.Minute + 50*time.Second))
	e.mustAccept(batch("a", 3, window.Add(time.Minute+55*time.Second), exposure("checkout", "on", 0, 7, 1)))

	var onUnits, offUnits []int
	var latencies []float64
	for i := range 3 {
		for seq := range 2 {
			base := i*100 + seq*10
			onUnits = append(onUnits, base, base+1)
			offUnits = append(offUnits, base+2)
			latencies = append(latencies, 12.5, float64(base)+0.25)
		}
	}
	onUnits = append(onUnits, 1000)
	slices.Sort(latencies)
	got := e.list("production")
	checkAggregates(t, got[:5], window,
		want{flag: "checkout", variant: "off", version: checkoutVersion, evaluations: 30, units: offUnits},
		want{flag: "checkout", variant: "on", version: 1, evaluations: 6, units: []int{1000}},
		want{flag: "checkout", variant: "on", version: checkoutVersion, evaluations: 60, units: onUnits},
		want{flag: "checkout", variant: "on", version: checkoutVersion, metric: telemetry.RequestMetric, errors: 6, values: latencies},
		want{flag: "checkout", variant: "on", version: checkoutVersion, metric: "revenue", values: []float64{100, 100, 100, 100, 100, 100}},
	)
	checkAggregates(t, got[5:], window.Add(time.Minute),
		want{flag: "checkout", variant: "on", version: checkoutVersion, evaluations: 7, units: []int{1}})
	if !got[0].LastSeen.Equal(clockStart.Add(50*time.Second)) || !got[5].LastSeen.Equal(window.Add(time.Minute+50*time.Second)) {
		t.Errorf("LastSeen %v and %v, want the times the batches arrived", got[0].LastSeen, got[5].LastSeen)
	}
	last, err := e.store.LastEvaluated(context.Background(), "shop", "production")
	check(t, err)
	if !last["checkout"].Equal(window.Add(2 * time.Minute)) {
		t.Errorf("LastEvaluated = %v, want the end of the second window", last)
	}
}

// TestUnknownFlagsAreKept stores the exposures of a flag the environment does not have (code
// still asking for a deleted flag), at version 0.
func TestUnknownFlagsAreKept(t *testing.T) {
	e := newTestEnv(t, Options{}, testenv.NewClock(clockStart))
	e.mustAccept(batch("a", 1, clockStart.Add(-10*time.Second), exposure("gone", "on", 0, 3, 1)))
	checkAggregates(t, e.list("production"), clockStart.Truncate(time.Minute),
		want{flag: "gone", variant: "on", version: 0, evaluations: 3, units: []int{1}})
}

func TestDuplicatesAreMergedOnce(t *testing.T) {
	clk := testenv.NewClock(clockStart)
	e := newTestEnv(t, Options{}, clk)
	start := clockStart.Add(-10 * time.Second)
	first := batch("a", 1, start, exposure("checkout", "on", 0, 10, 1))
	e.mustAccept(first)
	if res, err := e.accept(first); err != nil || !res.Duplicate || res.Merged != 0 {
		t.Errorf("resent batch: %+v, %v; want a duplicate", res, err)
	}
	// Another instance may use the same seq; an OTLP batch (seq 0) is never a duplicate.
	e.mustAccept(batch("b", 1, start, exposure("checkout", "on", 0, 10, 2)))
	otlp := batch(OTLPInstance, 0, start, exposure("checkout", "on", 0, 1, 3))
	e.mustAccept(otlp)
	e.mustAccept(otlp)

	// The same batch sent twice at once is merged once.
	twin := batch("c", 1, start, exposure("checkout", "on", 0, 100, 4))
	var wg sync.WaitGroup
	results := make([]Result, 2)
	for i := range results {
		wg.Go(func() {
			var err error
			results[i], err = e.accept(twin)
			check(t, err)
		})
	}
	wg.Wait()
	if results[0].Duplicate == results[1].Duplicate {
		t.Errorf("a batch sent twice at once: %+v; want it merged once and a duplicate once", results)
	}

	// A new process knows what the last one accepted.
	e.restart()
	if res, err := e.accept(first); err != nil || !res.Duplicate {
		t.Errorf("resent after a restart: %+v, %v; want a duplicate", res, err)
	}
	// ... and so does the next commit after that: its batches are merged once as well.
	if res, err := e.accept(twin); err != nil || !res.Duplicate {
		t.Errorf("resent again after a restart: %+v, %v; want a duplicate", res, err)
	}
	checkAggregates(t, e.list("production"), start.Truncate(time.Minute),
		want{flag: "checkout", variant: "on", version: checkoutVersion, evaluations: 122, units: []int{1, 2, 3, 4}})
}

func TestLateness(t *testing.T) {
	clk := testenv.NewClock(clockStart)
	e := newTestEnv(t, Options{AllowedLateness: 20 * time.Second}, clk)
	window := clockStart.Truncate(time.Minute)
	// Flushed at the end of the window, arriving within the lateness: merged.
	clk.Set(window.Add(time.Minute + 20*time.Second))
	e.mustAccept(batch("a", 1, window.Add(50*time.Second), exposure("checkout", "on", 0, 1, 1)))
	// A second later the window is closed.
	clk.Set(window.Add(time.Minute + 21*time.Second))
	res, err := e.accept(batch("a", 2, window.Add(50*time.Second), exposure("checkout", "on", 0, 1, 2)))
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != "start" ||
		de.Message != "late: window 2025-03-01T12:00:00Z–2025-03-01T12:01:00Z closed at 2025-03-01T12:01:20Z (allowed lateness 20s); it is 2025-03-01T12:01:21Z" {
		t.Errorf("late batch: %+v, %v; want an invalid start saying it is late", res, err)
	}
	// A resend of a batch accepted in time is still a duplicate, not late.
	if res, err := e.accept(batch("a", 1, window.Add(50*time.Second), exposure("checkout", "on", 0, 1, 1))); err != nil || !res.Duplicate {
		t.Errorf("resend after the window closed: %+v, %v; want a duplicate", res, err)
	}
	// The next window is open.
	e.mustAccept(batch("a", 3, window.Add(time.Minute), exposure("checkout", "on", 0, 1, 3)))
	got := e.list("production")
	checkAggregates(t, got[:1], window, want{flag: "checkout", variant: "on", version: checkoutVersion, evaluations: 1, units: []int{1}})
	checkAggregates(t, got[1:], window.Add(time.Minute), want{flag: "checkout", variant: "on", version: checkoutVersion, evaluations: 1, units: []int{3}})
}

// Every batch's outcome is observed, with the drops an accepted one reports.
func TestBatchOutcomesAreObserved(t *testing.T) {
	clk := testenv.NewClock(clockStart)
	var seen []string
	e := newTestEnv(t, Options{AllowedLateness: 20 * time.Second, ObserveBatch: func(outcome string, merged, rejected int, dropped int64) {
		seen = append(seen, fmt.Sprintf("%s %d %d %d", outcome, merged, rejected, dropped))
	}}, clk)
	window := clockStart.Truncate(time.Minute)
	b := batch("a", 1, window, exposure("checkout", "on", 0, 1, 1), telemetry.Row{Flag: "checkout"})
	b.Dropped = 4
	e.accept(b)
	e.accept(b)
	e.accept(batch("", 2, window))
	clk.Set(window.Add(81 * time.Second))
	e.accept(batch("a", 3, window))
	want := []string{"accepted 1 1 4", "duplicate 0 0 0", "invalid 0 0 0", "late 0 0 0"}
	if !slices.Equal(seen, want) {
		t.Errorf("observed %q, want %q", seen, want)
	}
}

// invalidSketches are encoded sketches a row may not carry, with what the reason says.
func invalidSketches(t *testing.T) map[string][]byte {
	foreignMapping, err := mapping.NewLogarithmicMapping(0.02)
	check(t, err)
	foreign := ddsketch.NewDDSketch(foreignMapping, store.NewDenseStore(), store.NewDenseStore())
	check(t, foreign.Add(10))
	platform := telemetry.NewSketch()
	check(t, platform.Add(10))
	var noMapping []byte
	platform.Encode(&noMapping, true)
	truncated := telemetry.EncodeSketch(platform)
	negative := telemetry.NewSketch() // the sketch refuses negative counts; its store does not
	negative.GetPositiveValueStore().AddWithCount(negative.Index(10), -3)
	return map[string][]byte{
		telemetry.ErrForeignMapping.Error(): telemetry.EncodeSketch(foreign),
		"missing index mapping":             noMapping,
		"invalid sketch":                    truncated[:len(truncated)-1],
		"not a finite, non-negative number": telemetry.EncodeSketch(negative),
	}
}

// TestInvalidBatchesAreRefused checks every problem of a batch as a whole: the error names the
// field, nothing is stored, and the batch id is not taken (the corrected batch is accepted).
func TestInvalidBatchesAreRefused(t *testing.T) {
	clk := testenv.NewClock(clockStart)
	e := newTestEnv(t, Options{}, clk)
	start := clockStart.Add(-10 * time.Second)
	valid := func() telemetry.Batch { return batch("a", 1, start, exposure("checkout", "on", 0, 1, 1)) }
	tooMany := valid()
	for len(tooMany.Rows) <= telemetry.MaxBatchRows {
		tooMany.Rows = append(tooMany.Rows, tooMany.Rows[0])
	}
	for _, c := range []struct {
		name   string
		change func(b *telemetry.Batch)
		field  string
	}{
		{"no instance", func(b *telemetry.Batch) { b.Instance = "" }, "instance"},
		{"long instance", func(b *telemetry.Batch) { b.Instance = strings.Repeat("i", 129) }, "instance"},
		{"instance not UTF-8", func(b *telemetry.Batch) { b.Instance = "a\xff" }, "instance"},
		{"instance with NUL", func(b *telemetry.Batch) { b.Instance = "a\x00" }, "instance"},
		{"long sdk", func(b *telemetry.Batch) { b.SDK = strings.Repeat("s", 129) }, "sdk"},
		{"seq beyond int64", func(b *telemetry.Batch) { b.Seq = math.MaxInt64 + 1 }, "seq"},
		{"no start", func(b *telemetry.Batch) { b.Start = time.Time{} }, "start"},
		{"no end", func(b *telemetry.Batch) { b.End = time.Time{} }, "end"},
		{"end before start", func(b *telemetry.Batch) { b.End = b.Start }, "end"},
		{"longer than an hour", func(b *telemetry.Batch) { b.Start = b.End.Add(-time.Hour - time.Second) }, "end"},
		{"from the future", func(b *telemetry.Batch) {
			b.Start, b.End = clockStart.Add(time.Minute), clockStart.Add(time.Minute+time.Second)
		}, "end"},
		{"negative dropped", func(b *telemetry.Batch) { b.Dropped = -1 }, "dropped"},
		{"too many rows", func(b *telemetry.Batch) { *b = tooMany }, "rows"},
		{"late", func(b *telemetry.Batch) {
			b.Start, b.End = clockStart.Add(-2*time.Minute), clockStart.Add(-110*time.Second)
		}, "start"},
	} {
		b := valid()
		c.change(&b)
		res, err := e.accept(b)
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != c.field || de.Message == "" {
			t.Errorf("%s: %+v, %v; want an invalid %s", c.name, res, err, c.field)
		}
	}
	if got := e.list("production"); len(got) != 0 {
		t.Fatalf("refused batches stored %+v", got)
	}
	e.mustAccept(valid())
}

// TestInvalidRowsAreLeftOut checks every problem of a row: the row is listed with its field
// and reason, the other rows are merged, and nothing of it is stored.
func TestInvalidRowsAreLeftOut(t *testing.T) {
	e := newTestEnv(t, Options{}, testenv.NewClock(clockStart))
	good := exposure("checkout", "on", 0, 1, 1)
	obs := func(change func(r *telemetry.Row)) telemetry.Row {
		r := observations("checkout", "on", 0, "revenue", 0, 5)
		change(&r)
		return r
	}
	exp := func(change func(r *telemetry.Row)) telemetry.Row {
		r := exposure("checkout", "on", 0, 1, 1)
		change(&r)
		return r
	}
	cases := []struct {
		name   string
		row    telemetry.Row
		field  string
		reason string
	}{
		{"no flag", exp(func(r *telemetry.Row) { r.Flag = "" }), "flag", "required"},
		{"long flag", exp(func(r *telemetry.Row) { r.Flag = strings.Repeat("f", 201) }), "flag", "more than 200"},
		{"flag with NUL", exp(func(r *telemetry.Row) { r.Flag = "a\x00b" }), "flag", "without NUL"},
		{"no variant", exp(func(r *telemetry.Row) { r.Variant = "" }), "variant", "required"},
		{"variant not UTF-8", exp(func(r *telemetry.Row) { r.Variant = "\xc3" }), "variant", "UTF-8"},
		{"long metric", obs(func(r *telemetry.Row) { r.Metric = strings.Repeat("m", 201) }), "metric", "more than 200"},
		{"reserved metric", obs(func(r *telemetry.Row) { r.Metric = "$cpu" }), "metric", "reserved for built-in metrics"},
		{"negative version", exp(func(r *telemetry.Row) { r.Version = -1 }), "version", "negative"},
		{"negative evaluations", exp(func(r *telemetry.Row) { r.Evaluations = -1 }), "evaluations", "negative"},
		{"negative units", exp(func(r *telemetry.Row) { r.Units = -1 }), "units", "negative"},
		{"negative count", obs(func(r *telemetry.Row) { r.Count = -1 }), "count", "negative"},
		{"negative errors", obs(func(r *telemetry.Row) { r.Errors = -1 }), "errors", "negative"},
		{"more errors than observations", obs(func(r *telemetry.Row) { r.Errors = 2 }), "errors", "more than count (1)"},
		{"NaN sum", obs(func(r *telemetry.Row) { r.Sum = math.NaN() }), "sum", "finite"},
		{"infinite sum of squares", obs(func(r *telemetry.Row) { r.SumSq = math.Inf(1) }), "sumSq", "finite"},
		{"negative sum of squares", obs(func(r *telemetry.Row) { r.SumSq = -1 }), "sumSq", "negative"},
		{"NaN log sum", obs(func(r *telemetry.Row) { r.SumLog = math.NaN() }), "sumLog", "finite"},
		{"negative log sum of squares", obs(func(r *telemetry.Row) { r.SumLogSq = -1 }), "sumLogSq", "negative"},
		{"exposure with observations", exp(func(r *telemetry.Row) { r.Count = 1 }), "metric", "exposure row"},
		{"observations with evaluations", obs(func(r *telemetry.Row) { r.Evaluations = 1 }), "evaluations", "only the exposure row"},
		{"broken unit sketch", exp(func(r *telemetry.Row) { r.UnitSketch = []byte{7, 1} }), "unitSketch", telemetry.ErrInvalidHLL.Error()},
		{"sparse unit sketch with rank 0", exp(func(r *telemetry.Row) { r.UnitSketch = []byte{1, 5, 0, 0} }), "unitSketch", telemetry.ErrInvalidHLL.Error()},
		{"sparse unit sketch cut short", exp(func(r *telemetry.Row) { r.UnitSketch = []byte{1, 5, 0} }), "unitSketch", telemetry.ErrInvalidHLL.Error()},
		{"dense unit sketch too short", exp(func(r *telemetry.Row) { r.UnitSketch = []byte{2, 1, 1} }), "unitSketch", telemetry.ErrInvalidHLL.Error()},
	}
	for reason, sketch := range invalidSketches(t) {
		cases = append(cases, struct {
			name   string
			row    telemetry.Row
			field  string
			reason string
		}{"sketch: " + reason, obs(func(r *telemetry.Row) { r.Sketch = sketch }), "sketch", reason})
	}
	for i, c := range cases {
		res, err := e.accept(batch("a", uint64(i+1), clockStart.Add(-10*time.Second), good, c.row))
		if err != nil || res.Merged != 1 || len(res.Rejected) != 1 {
			t.Errorf("%s: %+v, %v; want the first row merged and the second rejected", c.name, res, err)
			continue
		}
		r := res.Rejected[0]
		if r.Index != 1 || r.Field != "rows[1]."+c.field || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s: rejected %+v; want rows[1].%s saying %q", c.name, r, c.field, c.reason)
		}
	}
	checkAggregates(t, e.list("production"), clockStart.Truncate(time.Minute),
		want{flag: "checkout", variant: "on", version: checkoutVersion, evaluations: int64(len(cases)), units: []int{1}})
}

// TestAcknowledgedMeansStored reads the store as soon as Accept returns: the batch is there.
// Then the intake stops with batches still arriving, and a new one on the same database goes
// on from the stored aggregates rather than over them.
func TestAcknowledgedMeansStored(t *testing.T) {
	e := newTestEnv(t, Options{}, testenv.NewClock(clockStart))
	start := clockStart.Add(-10 * time.Second)
	for seq := range uint64(5) {
		e.mustAccept(batch("a", seq+1, start, exposure("checkout", "on", 0, 1, int(seq))))
		got := e.list("production")
		if len(got) != 1 || got[0].Evaluations != int64(seq+1) {
			t.Fatalf("after batch %d was acknowledged, the store has %+v", seq+1, got)
		}
	}

	// Stopping while batches arrive: every acknowledged one is stored.
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for i := range 50 {
		wg.Go(func() {
			res, err := e.accept(batch("b", uint64(i+1), start, exposure("checkout", "on", 0, 1, 100+i)))
			if err == nil && res.Merged == 1 {
				mu.Lock()
				acked++
				mu.Unlock()
			} else if !errors.Is(err, ErrClosed) {
				t.Errorf("Accept during shutdown: %+v, %v; want it merged or ErrClosed", res, err)
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	e.stopRun()
	wg.Wait()
	if _, err := e.accept(batch("b", 1000, start, exposure("checkout", "on", 0, 1, 1))); !errors.Is(err, ErrClosed) {
		t.Errorf("Accept after Run returned: %v, want ErrClosed", err)
	}
	e.restart()
	got := e.list("production")
	if len(got) != 1 || got[0].Evaluations != int64(5+acked) {
		t.Fatalf("after a restart: %+v; want %d evaluations", got, 5+acked)
	}
	e.mustAccept(batch("c", 1, start, exposure("checkout", "on", 0, 10, 1)))
	if got := e.list("production"); got[0].Evaluations != int64(15+acked) {
		t.Errorf("a batch after the restart: %d evaluations, want %d", got[0].Evaluations, 15+acked)
	}
}

// TestIntakesSharingADatabase runs two intakes on one database, as replicas do: each caches
// the windows, yet neither overwrites the other's merges, and a batch sent to both is merged
// once. On SQLite, and on PostgreSQL when TEST_POSTGRES_URL is set.
func TestIntakesSharingADatabase(t *testing.T) {
	for _, db := range []struct {
		name string
		opts []envOption
	}{{"sqlite", nil}, {"postgres", []envOption{onPostgres}}} {
		t.Run(db.name, func(t *testing.T) {
			e := newTestEnv(t, Options{}, testenv.NewClock(clockStart), db.opts...)
			other, err := New(e.store, e.cache, e.opts)
			check(t, err)
			stop := e.run(other)
			defer stop()
			start := clockStart.Add(-10 * time.Second)
			var wg sync.WaitGroup
			for i, in := range []*Intake{e.in, other, e.in, other} {
				wg.Go(func() {
					for seq := range 20 {
						b := batch(fmt.Sprintf("i%d", i), uint64(seq+1), start,
							exposure("checkout", "on", 0, 1, i*100+seq),
							observations("checkout", "on", 0, telemetry.RequestMetric, 0, float64(i+1)))
						res, err := in.Accept(context.Background(), "shop", "production", b)
						if err != nil || res.Merged != 2 {
							t.Errorf("Accept: %+v, %v", res, err)
						}
					}
				})
			}
			wg.Wait()
			both := batch("both", 1, start, exposure("checkout", "on", 0, 1000, 7))
			r1, err1 := e.in.Accept(context.Background(), "shop", "production", both)
			r2, err2 := other.Accept(context.Background(), "shop", "production", both)
			if err1 != nil || err2 != nil || r1.Duplicate || !r2.Duplicate {
				t.Errorf("a batch sent to both: %+v, %v and %+v, %v; want it merged by the first only", r1, err1, r2, err2)
			}
			var units []int
			var values []float64
			for i := range 4 {
				for seq := range 20 {
					units = append(units, i*100+seq)
					values = append(values, float64(i+1))
				}
			}
			units = append(units, 7)
			slices.Sort(values)
			checkAggregates(t, e.list("production"), start.Truncate(time.Minute),
				want{flag: "checkout", variant: "on", version: checkoutVersion, evaluations: 1080, units: units},
				want{flag: "checkout", variant: "on", version: checkoutVersion, metric: telemetry.RequestMetric, values: values})
		})
	}
}

// TestBackpressure fills the queue while the writer is away: the next batch is refused as
// rate-limited instead of buffered.
func TestBackpressure(t *testing.T) {
	e := newTestEnv(t, Options{MaxQueuedRows: telemetry.MaxBatchRows}, testenv.NewClock(clockStart), withoutWriter)
	start := clockStart.Add(-10 * time.Second)
	full := batch("a", 1, start)
	for len(full.Rows) < telemetry.MaxBatchRows {
		full.Rows = append(full.Rows, exposure("checkout", "on", 0, 1, len(full.Rows)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error)
	go func() {
		_, err := e.in.Accept(ctx, "shop", "production", full)
		waited <- err
	}()
	// The first batch fills the queue once it is in.
	deadline := time.Now().Add(5 * time.Second)
	for e.in.queue.size() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	_, err := e.accept(batch("b", 1, start, exposure("checkout", "on", 0, 1, 1)))
	if domain.ErrorCode(err) != domain.CodeRateLimited {
		t.Errorf("Accept with a full queue: %v, want rate_limited", err)
	}
	r := e.post(e.serverKey, mustJSON(t, batch("c", 1, start, exposure("checkout", "on", 0, 1, 1))))
	if r.status != 429 || r.err.Code != string(domain.CodeRateLimited) || r.header.Get("Retry-After") == "" {
		t.Errorf("POST with a full queue: %+v, want 429 with Retry-After", r)
	}
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Errorf("the waiting Accept returned %v, want its context's end", err)
	}
}

// TestRetention lets Run downsample windows older than DownsampleAfter into hours and delete
// those older than Retention.
func TestRetention(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2025, 3, 1, h, m, 0, 0, time.UTC) }
	clk := testenv.NewClock(at(10, 0))
	e := newTestEnv(t, Options{DownsampleAfter: 2 * time.Hour, Retention: 5 * time.Hour, CompactEvery: 10 * time.Millisecond}, clk)
	for i, w := range []time.Time{at(10, 0), at(12, 30), at(12, 31), at(13, 0), at(14, 10)} {
		clk.Set(w.Add(20 * time.Second))
		e.mustAccept(batch("a", uint64(i+1), w.Add(5*time.Second), exposure("checkout", "on", 0, int64(i+1), i)))
	}
	// At 16:30, windows before 14:00 are downsampled and those before 11:30 deleted.
	clk.Set(at(16, 30))
	type summary struct {
		window      time.Time
		resolution  time.Duration
		evaluations int64
		units       int64
	}
	wantSums := []summary{
		{at(12, 0), time.Hour, 2 + 3, 2},
		{at(13, 0), time.Hour, 4, 1},
		{at(14, 10), time.Minute, 5, 1},
	}
	var sums []summary
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		sums = nil
		for _, a := range e.list("production") {
			agg, err := stats.FromDomain(a)
			check(t, err)
			sums = append(sums, summary{a.Window, a.Resolution, a.Evaluations, agg.UnitCount()})
		}
		if slices.Equal(sums, wantSums) {
			return
		}
	}
	t.Errorf("after retention:\n got %+v\nwant %+v", sums, wantSums)
}

func TestOptionsAreValidated(t *testing.T) {
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{Window: 7 * time.Second}, "window:"},
		{Options{Window: 1500 * time.Millisecond}, "window:"},
		{Options{Window: 2 * time.Hour}, "window:"},
		{Options{AllowedLateness: -time.Second}, "allowed lateness:"},
		{Options{DownsampleAfter: time.Hour}, "downsample after:"},
		{Options{Retention: time.Hour}, "retention:"},
		{Options{MaxQueuedRows: 10}, "max queued rows:"},
		{Options{MaxBodyBytes: 10}, "max body bytes:"},
		{Options{CompactEvery: -time.Second}, "compact every:"},
	} {
		if _, err := New(nil, nil, c.opts); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error starting %q", c.opts, err, c.want)
		}
	}
}
