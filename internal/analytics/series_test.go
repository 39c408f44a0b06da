package analytics

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

var t0 = time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

// key is the key of flag dark-mode's variant in the window starting minutes after t0.
func key(variant string, version int64, metric string, minutes int) domain.TelemetryKey {
	return domain.TelemetryKey{Project: "shop", Environment: "production", Flag: "dark-mode", Variant: variant,
		Version: version, Metric: metric, Window: t0.Add(time.Duration(minutes) * time.Minute), Resolution: time.Minute}
}

func near(got, want float64) bool {
	return math.Abs(got-want) <= telemetry.SketchRelativeAccuracy*math.Abs(want)
}

func TestSeriesMergesWindowsVersionsAndUnits(t *testing.T) {
	const req = telemetry.RequestMetric
	revenue := testenv.Observations(key("on", 1, "revenue", 0), 0, 10, 30)
	revenue.Units = testenv.Units(1, 2)
	aggs := []domain.TelemetryAggregate{
		// Variant on: two versions in the first step, one window in the second.
		testenv.Exposures(key("on", 1, "", 0), 10, 1, 2, 3, 4, 5),
		testenv.Exposures(key("on", 2, "", 1), 6, 4, 5, 6, 7, 8),
		testenv.Exposures(key("on", 2, "", 5), 3, 1, 2),
		testenv.Observations(key("on", 1, req, 0), 1, 10, 20, 30),
		testenv.Observations(key("on", 2, req, 1), 0, 40, 50),
		testenv.Observations(key("on", 2, req, 5), 1, 100),
		revenue,
		testenv.Observations(key("on", 1, "other-metric", 0), 0, 99),
		// Variant off: exposures and one request, in the first step only.
		testenv.Exposures(key("off", 1, "", 0), 4, 20, 21),
		testenv.Observations(key("off", 1, req, 2), 0, 5),
		// A variant since removed from the flag.
		testenv.Exposures(key("legacy", 1, "", 3), 1, 30),
		// Outside [from, to).
		testenv.Exposures(key("on", 1, "", -1), 1000, 100, 101),
		testenv.Exposures(key("on", 1, "", 10), 1000, 102),
	}
	s, err := BuildSeries(aggs, SeriesQuery{From: t0, To: t0.Add(10 * time.Minute), Step: 5 * time.Minute,
		Metric: "revenue", Variants: []string{"on", "off"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.StepSeconds != 300 || s.Metric != "revenue" || len(s.Variants) != 3 {
		t.Fatalf("series %+v", s)
	}
	for i, want := range []string{"on", "off", "legacy"} {
		if v := s.Variants[i]; v.Variant != want || len(v.Points) != 2 ||
			!v.Points[0].Time.Equal(t0) || !v.Points[1].Time.Equal(t0.Add(5*time.Minute)) {
			t.Errorf("variant %d: %s with points %+v, want %s with points at t0 and t0+5m", i, v.Variant, v.Points, want)
		}
	}

	on := s.Variants[0]
	first := on.Points[0].Stats
	if first.Evaluations != 16 || first.Units != 8 || first.Requests != 5 || first.Errors != 1 || *first.ErrorRate != 0.2 {
		t.Errorf("on, first step: %+v; want 16 evaluations by 8 units, 5 requests, 1 error", first)
	}
	// A sketch's q-quantile of n values is the one at index ⌊q·(n−1)⌋ in sorted order: of
	// durations 10..50, p50 is 30 and p95 and p99 are 40.
	if l := first.LatencyMs; l == nil || !near(l.P50, 30) || !near(l.P95, 40) || !near(l.P99, 40) {
		t.Errorf("on, first step latency %+v; want p50 30, p95 and p99 40", first.LatencyMs)
	}
	if m := first.Metric; m == nil || m.Count != 2 || m.Sum != 40 || m.Mean == nil || *m.Mean != 20 || m.Units != 2 {
		t.Errorf("on, first step revenue %+v; want 2 observations summing to 40 from 2 units", first.Metric)
	}
	second := on.Points[1].Stats
	if second.Evaluations != 3 || second.Units != 2 || second.Requests != 1 || second.Errors != 1 || !near(second.LatencyMs.P50, 100) {
		t.Errorf("on, second step: %+v", second)
	}
	// The total counts units 1..8 once, though units 1 and 2 show up in both steps.
	total := on.Total
	if total.Evaluations != 19 || total.Units != 8 || total.Requests != 6 || total.Errors != 2 {
		t.Errorf("on, total: %+v; want 19 evaluations by 8 units, 6 requests, 2 errors", total)
	}
	// The quantiles of all six durations, not a mix of the steps' (p50 30 and 100).
	if l := total.LatencyMs; !near(l.P50, 30) || !near(l.P99, 50) {
		t.Errorf("on, total latency %+v; want the quantiles of the merged sketches: p50 30, p99 50", l)
	}

	off := s.Variants[1]
	if p := off.Points[0].Stats; p.Evaluations != 4 || p.Units != 2 || p.Requests != 1 || *p.ErrorRate != 0 {
		t.Errorf("off, first step: %+v", p)
	}
	// A step without requests has no rate or latency, and an empty metric has no mean.
	if p := off.Points[1].Stats; p.ErrorRate != nil || p.LatencyMs != nil || p.Metric == nil || p.Metric.Count != 0 || p.Metric.Mean != nil {
		t.Errorf("off, empty second step: %+v", p)
	}
	if legacy := s.Variants[2].Total; legacy.Evaluations != 1 || legacy.Units != 1 {
		t.Errorf("legacy total %+v", legacy)
	}
}

func TestSeriesWithoutTrackedMetricOrData(t *testing.T) {
	s, err := BuildSeries(nil, SeriesQuery{From: t0, To: t0.Add(90 * time.Second), Step: time.Minute, Variants: []string{"on", "off"}})
	if err != nil {
		t.Fatal(err)
	}
	// 90 s in steps of 1 m: the last point is partial.
	if len(s.Variants) != 2 || len(s.Variants[1].Points) != 2 || s.Variants[1].Total.Metric != nil || s.Variants[1].Points[1].Evaluations != 0 {
		t.Errorf("series %+v", s)
	}
	s, err = BuildSeries(nil, SeriesQuery{From: t0, To: t0.Add(time.Hour), Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(s); !strings.Contains(string(b), `"variants":[]`) {
		t.Errorf("series without variants: %s", b)
	}
}

func TestSeriesQueryValidation(t *testing.T) {
	tests := []struct {
		name  string
		q     SeriesQuery
		field string
		msg   string
	}{
		{"empty range", SeriesQuery{From: t0, To: t0, Step: time.Minute}, "from", "must be before to"},
		{"reversed range", SeriesQuery{From: t0, To: t0.Add(-time.Hour), Step: time.Minute}, "from", "must be before to"},
		{"short step", SeriesQuery{From: t0, To: t0.Add(time.Hour), Step: 0}, "step", "at least 1s"},
		{"fractional step", SeriesQuery{From: t0, To: t0.Add(time.Hour), Step: 90*time.Second + time.Millisecond}, "step", "whole seconds"},
		{"too many points", SeriesQuery{From: t0, To: t0.Add(48 * time.Hour), Step: time.Minute}, "step", "2880 points, more than 2000: use a step of at least 2m0s"},
		{"built-in metric", SeriesQuery{From: t0, To: t0.Add(time.Hour), Step: time.Minute, Metric: "$request"}, "metric", "built in"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildSeries(nil, tc.q)
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != tc.field || !strings.Contains(de.Message, tc.msg) {
				t.Errorf("error %v, want an invalid %s containing %q", err, tc.field, tc.msg)
			}
		})
	}
}

func TestDefaultStepKeepsSeriesWithinMaxPoints(t *testing.T) {
	for _, tc := range []struct {
		span, want time.Duration
	}{{time.Hour, time.Minute}, {24 * time.Hour, time.Minute}, {48 * time.Hour, 2 * time.Minute}, {7 * 24 * time.Hour, 6 * time.Minute}} {
		step := DefaultStep(t0, t0.Add(tc.span))
		if step != tc.want {
			t.Errorf("default step over %s: %s, want %s", tc.span, step, tc.want)
		}
		if err := (SeriesQuery{From: t0, To: t0.Add(tc.span), Step: step}).Validate(); err != nil {
			t.Errorf("the default step over %s is refused: %v", tc.span, err)
		}
	}
}

func TestSeriesReportsUnreadableAggregates(t *testing.T) {
	bad := testenv.Observations(key("on", 1, telemetry.RequestMetric, 0), 0, 1)
	bad.Sketch = []byte{1, 2, 3}
	_, err := BuildSeries([]domain.TelemetryAggregate{bad}, SeriesQuery{From: t0, To: t0.Add(time.Hour), Step: time.Minute})
	if domain.ErrorCode(err) != domain.CodeInternal || !strings.Contains(err.Error(), "dark-mode") {
		t.Errorf("error %v, want an internal error naming the flag", err)
	}
}

func TestEvaluatedListsEveryFlag(t *testing.T) {
	seen := t0.Add(time.Minute)
	got := Evaluated([]string{"b", "a"}, map[string]time.Time{"a": seen, "gone": t0})
	want := `[{"flag":"a","lastEvaluated":"2026-01-02T10:01:00Z"},{"flag":"b"},{"flag":"gone","lastEvaluated":"2026-01-02T10:00:00Z","unknown":true}]`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("evaluated %s\nwant %s", b, want)
	}
}
