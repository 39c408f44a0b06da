package storetest

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/stats"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// telemetryOf returns s as a telemetry store; every store must be one.
func telemetryOf(t *testing.T, s domain.Store) domain.TelemetryStore {
	t.Helper()
	ts, ok := s.(domain.TelemetryStore)
	if !ok {
		t.Fatalf("%T does not implement domain.TelemetryStore", s)
	}
	return ts
}

// minute returns the start of the 60 s window at 12:00 + m minutes on the fixture day.
func minute(m int) time.Time { return time.Date(2025, 3, 1, 12, m, 0, 0, time.UTC) }

func tkey(project, env, flag, variant string, version int64, metric string, window time.Time, res time.Duration) domain.TelemetryKey {
	return domain.TelemetryKey{Project: project, Environment: env, Flag: flag, Variant: variant, Version: version,
		Metric: metric, Window: window, Resolution: res}
}

// stored returns aggs as ListTelemetry gives them back after one save: at revision 1, with
// LastSeen set to at.
func stored(at time.Time, aggs ...domain.TelemetryAggregate) []domain.TelemetryAggregate {
	out := make([]domain.TelemetryAggregate, len(aggs))
	for i, a := range aggs {
		a.Revision, a.LastSeen = 1, at
		out[i] = a
	}
	return out
}

func testTelemetrySaveAndList(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	ts := telemetryOf(t, s)
	m := time.Minute
	expA := testenv.Exposures(tkey("shop", "prod", "a", "on", 3, "", minute(0), m), 40, 1, 2, 3)
	reqA := testenv.Observations(tkey("shop", "prod", "a", "on", 3, telemetry.RequestMetric, minute(0), m), 1, 12.5, 30, 250)
	expAOff := testenv.Exposures(tkey("shop", "prod", "a", "off", 3, "", minute(0), m), 60, 4, 5)
	expB := testenv.Exposures(tkey("shop", "prod", "b", "on", 1, "", minute(0), m), 7, 9)
	checkout := testenv.Observations(tkey("shop", "prod", "b", "on", 1, "checkout", minute(1), m), 0, 99.99)
	// No sketch, no units: the blobs stay nil.
	bare := domain.TelemetryAggregate{TelemetryKey: tkey("shop", "prod", "a", "on", 3, "", minute(2), m), Evaluations: 5}
	hour := testenv.Exposures(tkey("shop", "prod", "a", "on", 2, "", minute(0), time.Hour), 1000, 1)
	staging := testenv.Exposures(tkey("shop", "staging", "a", "on", 3, "", minute(0), m), 1, 1)
	other := testenv.Exposures(tkey("other", "prod", "a", "on", 3, "", minute(0), m), 1, 1)
	at := t0
	all := []domain.TelemetryAggregate{other, checkout, bare, expB, staging, reqA, hour, expAOff, expA}
	for i := range all {
		all[i].LastSeen = at
	}
	check(t, ts.SaveTelemetry(ctx, all, nil))

	// In key order: window, flag, variant, version, metric, resolution.
	prod := stored(at, expAOff, hour, expA, reqA, expB, checkout, bare)
	for _, c := range []struct {
		name   string
		filter domain.TelemetryFilter
		want   []domain.TelemetryAggregate
	}{
		{"environment", domain.TelemetryFilter{Project: "shop", Environment: "prod"}, prod},
		{"other environment", domain.TelemetryFilter{Project: "shop", Environment: "staging"}, stored(at, staging)},
		{"from is inclusive", domain.TelemetryFilter{Project: "shop", Environment: "prod", From: minute(1)}, prod[5:]},
		{"to is exclusive", domain.TelemetryFilter{Project: "shop", Environment: "prod", To: minute(1)}, prod[:5]},
		{"from and to", domain.TelemetryFilter{Project: "shop", Environment: "prod", From: minute(1), To: minute(2)}, prod[5:6]},
		{"a microsecond before the window", domain.TelemetryFilter{Project: "shop", Environment: "prod",
			From: minute(2).Add(-time.Microsecond), To: minute(2).Add(time.Microsecond)}, prod[6:]},
		{"flags", domain.TelemetryFilter{Project: "shop", Environment: "prod", Flags: []string{"b"}}, prod[4:6]},
		{"exposures", domain.TelemetryFilter{Project: "shop", Environment: "prod", Metrics: []string{""}},
			[]domain.TelemetryAggregate{prod[0], prod[1], prod[2], prod[4], prod[6]}},
		{"metrics and flags", domain.TelemetryFilter{Project: "shop", Environment: "prod",
			Flags: []string{"a", "b"}, Metrics: []string{telemetry.RequestMetric, "checkout"}}, []domain.TelemetryAggregate{prod[3], prod[5]}},
		{"no match", domain.TelemetryFilter{Project: "shop", Environment: "prod", Flags: []string{"nope"}}, []domain.TelemetryAggregate{}},
	} {
		got, err := ts.ListTelemetry(ctx, c.filter)
		check(t, err)
		equal(t, c.name, got, c.want)
	}

	// Replacing at the stored revision.
	next := prod[2]
	next.Evaluations, next.Units, next.LastSeen = 41, testenv.Units(1, 2, 3, 4), at.Add(time.Second)
	check(t, ts.SaveTelemetry(ctx, []domain.TelemetryAggregate{next}, nil))
	next.Revision = 2
	got, err := ts.ListTelemetry(ctx, domain.TelemetryFilter{Project: "shop", Environment: "prod", Flags: []string{"a"}, Metrics: []string{""}, To: minute(1)})
	check(t, err)
	equal(t, "after replacing", got, []domain.TelemetryAggregate{prod[0], prod[1], next})

	odd := domain.TelemetryAggregate{TelemetryKey: next.TelemetryKey}
	odd.Resolution = 1500 * time.Millisecond
	if err := ts.SaveTelemetry(ctx, []domain.TelemetryAggregate{odd}, nil); err == nil {
		t.Error("SaveTelemetry accepted a resolution of 1.5 s")
	}
}

// testTelemetryConflicts checks that writers sharing a database never overwrite each other: a
// write over another revision, or of a batch recorded already, saves nothing at all.
func testTelemetryConflicts(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	ts := telemetryOf(t, s)
	a := testenv.Exposures(tkey("shop", "prod", "a", "on", 1, "", minute(0), time.Minute), 10, 1)
	b := testenv.Exposures(tkey("shop", "prod", "b", "on", 1, "", minute(0), time.Minute), 20, 2)
	a.LastSeen, b.LastSeen = t0, t0
	first := domain.BatchID{Project: "shop", Environment: "prod", Instance: "i1", Seq: 1, Received: t0}
	check(t, ts.SaveTelemetry(ctx, []domain.TelemetryAggregate{a}, []domain.BatchID{first}))

	list := func() []domain.TelemetryAggregate {
		t.Helper()
		got, err := ts.ListTelemetry(ctx, domain.TelemetryFilter{Project: "shop", Environment: "prod"})
		check(t, err)
		return got
	}
	want := stored(t0, a)
	fresh := domain.BatchID{Project: "shop", Environment: "prod", Instance: "i2", Seq: 1, Received: t0}
	for _, c := range []struct {
		name    string
		aggs    []domain.TelemetryAggregate
		batches []domain.BatchID
		stale   bool
		dups    []domain.BatchID
	}{
		// Another writer's first write of a key it did not find.
		{"a key stored since it was read", []domain.TelemetryAggregate{b, a}, []domain.BatchID{fresh}, true, nil},
		{"an older revision", []domain.TelemetryAggregate{b, func() domain.TelemetryAggregate { a := a; a.Revision = 5; return a }()}, nil, true, nil},
		{"a batch recorded already", []domain.TelemetryAggregate{b}, []domain.BatchID{fresh, {Project: "shop", Environment: "prod", Instance: "i1", Seq: 1, Received: t0.Add(time.Second)}},
			false, []domain.BatchID{{Project: "shop", Environment: "prod", Instance: "i1", Seq: 1, Received: t0.Add(time.Second)}}},
	} {
		err := ts.SaveTelemetry(ctx, c.aggs, c.batches)
		var conflict *domain.TelemetryConflict
		if !errors.As(err, &conflict) {
			t.Fatalf("%s: SaveTelemetry = %v, want a *domain.TelemetryConflict", c.name, err)
		}
		if conflict.Stale != c.stale || !slices.Equal(conflict.Duplicates, c.dups) {
			t.Errorf("%s: conflict %+v, want stale %v, duplicates %v", c.name, conflict, c.stale, c.dups)
		}
		equal(t, c.name+": stored aggregates", list(), want)
	}
	if err := ts.SaveTelemetry(ctx, nil, []domain.BatchID{{Project: "shop", Environment: "prod", Instance: "i1", Seq: math.MaxUint64}}); err == nil {
		t.Error("SaveTelemetry recorded a seq above MaxInt64")
	}
	// The batch of every failed save above was left out; other seqs of a known instance, and
	// its seqs in another environment, are new.
	check(t, ts.SaveTelemetry(ctx, []domain.TelemetryAggregate{b}, []domain.BatchID{fresh,
		{Project: "shop", Environment: "prod", Instance: "i1", Seq: 2, Received: t0},
		{Project: "shop", Environment: "staging", Instance: "i1", Seq: 1, Received: t0},
		{Project: "other", Environment: "prod", Instance: "i1", Seq: 1, Received: t0}}))
	if len(list()) != 2 {
		t.Error("a save after conflicts did not write its aggregate")
	}
}

// batchRecorded reports whether a batch id is recorded, by recording it (again).
func batchRecorded(t *testing.T, ts domain.TelemetryStore, id domain.BatchID) bool {
	t.Helper()
	err := ts.SaveTelemetry(t.Context(), nil, []domain.BatchID{id})
	var conflict *domain.TelemetryConflict
	if errors.As(err, &conflict) {
		return len(conflict.Duplicates) == 1 && conflict.Duplicates[0] == id
	}
	check(t, err)
	return false
}

func testLastEvaluated(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	ts := telemetryOf(t, s)
	m := time.Minute
	save := func(aggs ...domain.TelemetryAggregate) {
		t.Helper()
		for i := range aggs {
			aggs[i].LastSeen = t0
		}
		check(t, ts.SaveTelemetry(ctx, aggs, nil))
	}
	save(
		testenv.Exposures(tkey("shop", "prod", "a", "on", 1, "", minute(0), m), 1, 1),
		testenv.Exposures(tkey("shop", "prod", "a", "off", 1, "", minute(3), m), 1, 1),
		testenv.Exposures(tkey("shop", "prod", "b", "on", 1, "", minute(1), m), 1, 1),
		// Observations and exposure rows without evaluations are not evaluations.
		testenv.Observations(tkey("shop", "prod", "b", "on", 1, telemetry.RequestMetric, minute(5), m), 0, 10),
		testenv.Observations(tkey("shop", "prod", "c", "on", 1, telemetry.RequestMetric, minute(5), m), 0, 10),
		domain.TelemetryAggregate{TelemetryKey: tkey("shop", "prod", "d", "on", 1, "", minute(5), m)},
		testenv.Exposures(tkey("shop", "staging", "a", "on", 1, "", minute(9), m), 1, 1),
		testenv.Exposures(tkey("shop", "prod", "e", "on", 1, "", minute(0), time.Hour), 1, 1),
	)
	// An earlier window saved later does not move it back.
	save(testenv.Exposures(tkey("shop", "prod", "a", "on", 1, "", minute(-5), m), 1, 1))
	got, err := ts.LastEvaluated(ctx, "shop", "prod")
	check(t, err)
	equal(t, "LastEvaluated", got, map[string]time.Time{"a": minute(4), "b": minute(2), "e": minute(60)})
	got, err = ts.LastEvaluated(ctx, "none", "prod")
	check(t, err)
	equal(t, "LastEvaluated of nothing", got, map[string]time.Time{})
}

func testEvaluationCounts(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	ts := telemetryOf(t, s)
	m := time.Minute
	aggs := []domain.TelemetryAggregate{
		// a: two variants and two versions in the first step, one window in the second.
		testenv.Exposures(tkey("shop", "prod", "a", "on", 1, "", minute(0), m), 10, 1),
		testenv.Exposures(tkey("shop", "prod", "a", "off", 1, "", minute(1), m), 20, 2),
		testenv.Exposures(tkey("shop", "prod", "a", "on", 2, "", minute(1), m), 5, 3),
		testenv.Exposures(tkey("shop", "prod", "a", "on", 2, "", minute(2), m), 7, 3),
		// b: in the last step only, its first window at the step's start.
		testenv.Exposures(tkey("shop", "prod", "b", "on", 1, "", minute(4), m), 3, 1),
		testenv.Exposures(tkey("shop", "prod", "b", "on", 1, "", minute(5), m), 4, 1),
		// Outside the range, of another metric, environment or project: left out.
		testenv.Exposures(tkey("shop", "prod", "a", "on", 1, "", minute(6), m), 100, 1),
		testenv.Exposures(tkey("shop", "prod", "a", "on", 1, "", minute(-1), m), 100, 1),
		{TelemetryKey: tkey("shop", "prod", "a", "on", 1, telemetry.RequestMetric, minute(0), m), Evaluations: 100},
		testenv.Exposures(tkey("shop", "staging", "a", "on", 1, "", minute(0), m), 100, 1),
		testenv.Exposures(tkey("other", "prod", "a", "on", 1, "", minute(0), m), 100, 1),
	}
	for i := range aggs {
		aggs[i].LastSeen = t0
	}
	check(t, ts.SaveTelemetry(ctx, aggs, nil))
	bounds := []time.Time{minute(0), minute(2), minute(4), minute(6)}
	got, err := ts.EvaluationCounts(ctx, "shop", "prod", nil, bounds)
	check(t, err)
	equal(t, "every flag", got, map[string][]int64{"a": {35, 7, 0}, "b": {0, 0, 7}})
	got, err = ts.EvaluationCounts(ctx, "shop", "prod", []string{"b", "c"}, bounds)
	check(t, err)
	equal(t, "flags b and c", got, map[string][]int64{"b": {0, 0, 7}})
	got, err = ts.EvaluationCounts(ctx, "shop", "prod", nil, bounds[:2])
	check(t, err)
	equal(t, "one step", got, map[string][]int64{"a": {35}})
}

func testCompactTelemetry(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	ts := telemetryOf(t, s)
	m, h := time.Minute, time.Hour
	at := func(hour, min int) time.Time { return time.Date(2025, 3, 1, hour, min, 0, 0, time.UTC) }
	exp := func(flag string, w time.Time, res time.Duration, evaluations int64, units ...int) domain.TelemetryAggregate {
		a := testenv.Exposures(tkey("shop", "prod", flag, "on", 1, "", w, res), evaluations, units...)
		a.LastSeen = w.Add(res)
		return a
	}
	req := func(w time.Time, values ...float64) domain.TelemetryAggregate {
		a := testenv.Observations(tkey("shop", "prod", "a", "on", 1, telemetry.RequestMetric, w, m), 1, values...)
		a.LastSeen = w.Add(m)
		return a
	}
	check(t, ts.SaveTelemetry(ctx, []domain.TelemetryAggregate{
		// Hour 9 was downsampled before; a straggler of it is merged into it.
		exp("a", at(9, 0), h, 100, 1, 2),
		exp("a", at(9, 59), m, 5, 2, 3),
		// Hour 10: three windows, with units seen in several.
		exp("a", at(10, 0), m, 10, 1, 2),
		exp("a", at(10, 1), m, 20, 2, 3),
		exp("a", at(10, 59), m, 30, 4),
		req(at(10, 0), 10, 20),
		req(at(10, 30), 30, 40, 50),
		// Another environment's hour 10 is merged apart.
		func() domain.TelemetryAggregate {
			a := exp("a", at(10, 5), m, 7, 9)
			a.Environment = "staging"
			return a
		}(),
		// Hour 11: only the part before "before" (11:30) is merged now.
		exp("a", at(11, 0), m, 1, 1),
		exp("a", at(11, 29), m, 2, 2),
		exp("a", at(11, 30), m, 4, 3),
		// Old enough to be dropped.
		exp("old", at(2, 0), h, 1, 1),
		exp("old", at(4, 59), m, 1, 1),
	}, []domain.BatchID{
		{Project: "shop", Environment: "prod", Instance: "i", Seq: 1, Received: at(11, 0)},
		{Project: "shop", Environment: "prod", Instance: "i", Seq: 2, Received: at(11, 45)},
	}))
	compact := func(before time.Time) {
		t.Helper()
		check(t, ts.CompactTelemetry(ctx, before, h, at(5, 0), at(11, 30), stats.MergeDomain))
	}
	compact(at(11, 30))

	want := []domain.TelemetryAggregate{
		withRevision(exp("a", at(9, 0), h, 105, 1, 2, 3), 2, at(10, 0)),
		withRevision(exp("a", at(10, 0), h, 60, 1, 2, 3, 4), 1, at(11, 0)),
		withRevision(func() domain.TelemetryAggregate {
			a := testenv.Observations(tkey("shop", "prod", "a", "on", 1, telemetry.RequestMetric, at(10, 0), h), 2, 10, 20, 30, 40, 50)
			return a
		}(), 1, at(10, 31)),
		withRevision(exp("a", at(11, 0), h, 3, 1, 2), 1, at(11, 30)),
		withRevision(exp("a", at(11, 30), m, 4, 3), 1, at(11, 31)),
	}
	got, err := ts.ListTelemetry(ctx, domain.TelemetryFilter{Project: "shop", Environment: "prod"})
	check(t, err)
	equalAggregates(t, "after compacting", got, want)
	staging, err := ts.ListTelemetry(ctx, domain.TelemetryFilter{Project: "shop", Environment: "staging"})
	check(t, err)
	if len(staging) != 1 || staging[0].Window != at(10, 0) || staging[0].Resolution != h || staging[0].Evaluations != 7 {
		t.Errorf("staging after compacting: %+v, want its own hour 10 with 7 evaluations", staging)
	}
	last, err := ts.LastEvaluated(ctx, "shop", "prod")
	check(t, err)
	if _, ok := last["old"]; ok {
		t.Errorf("LastEvaluated still has a flag whose windows were dropped: %v", last)
	}
	if batchRecorded(t, ts, domain.BatchID{Project: "shop", Environment: "prod", Instance: "i", Seq: 1, Received: at(12, 0)}) {
		t.Error("a batch received before forgetBefore is still recorded")
	}
	if !batchRecorded(t, ts, domain.BatchID{Project: "shop", Environment: "prod", Instance: "i", Seq: 2, Received: at(12, 0)}) {
		t.Error("a batch received after forgetBefore was forgotten")
	}

	// Later, the rest of hour 11 joins the row the first pass wrote; a pass with nothing to do
	// changes nothing.
	compact(at(12, 0))
	compact(at(12, 0))
	want[3] = withRevision(exp("a", at(11, 0), h, 7, 1, 2, 3), 2, at(11, 31))
	got, err = ts.ListTelemetry(ctx, domain.TelemetryFilter{Project: "shop", Environment: "prod"})
	check(t, err)
	equalAggregates(t, "after compacting the rest", got, want[:4])
}

func withRevision(a domain.TelemetryAggregate, revision int64, lastSeen time.Time) domain.TelemetryAggregate {
	a.Revision, a.LastSeen = revision, lastSeen
	return a
}

// equalAggregates compares aggregates by key, numbers, units and sketch quantiles: a merged
// sketch holds the same values as one built from them all, but its encoding may differ, and
// sums of logs may differ in their last bits with the order of addition.
func equalAggregates(t *testing.T, what string, got, want []domain.TelemetryAggregate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d aggregates, want %d:\n got %+v\nwant %+v", what, len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
		if g.TelemetryKey != w.TelemetryKey || g.Evaluations != w.Evaluations || g.Count != w.Count || g.Errors != w.Errors ||
			g.Sum != w.Sum || g.SumSq != w.SumSq || !near(g.SumLog, w.SumLog) || !near(g.SumLogSq, w.SumLogSq) ||
			!slices.Equal(g.Units, w.Units) || !g.LastSeen.Equal(w.LastSeen) || g.Revision != w.Revision {
			t.Errorf("%s: aggregate %d:\n got %+v\nwant %+v", what, i, g, w)
			continue
		}
		ga, err := stats.FromDomain(g)
		check(t, err)
		wa, err := stats.FromDomain(w)
		check(t, err)
		for _, q := range []float64{0, 0.5, 0.99, 1} {
			gq, gok := ga.Quantile(q)
			wq, wok := wa.Quantile(q)
			if gok != wok || gq != wq {
				t.Errorf("%s: aggregate %d: quantile %v = %v (%v), want %v (%v)", what, i, q, gq, gok, wq, wok)
			}
		}
	}
}
