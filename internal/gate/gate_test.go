package gate

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

func ptr(v float64) *float64 { return &v }

func TestLearnedThresholdsTightenWithHistory(t *testing.T) {
	o := domain.Objective{Name: "p99", Metric: "latency_p99", Direction: "max", Fail: ptr(2000), Adaptive: true}
	if w, f, n := Thresholds(o, []float64{400, 410, 390, 405}); n != 0 || w != nil || *f != 2000 {
		t.Errorf("with 4 runs (learning): warning %v, fail %v, learned %d; want the static ones", w, f, n)
	}
	history := []float64{400, 410, 390, 405, 395, 402, 398, 407}
	w, f, n := Thresholds(o, history)
	if n != len(history) || w == nil || f == nil {
		t.Fatalf("learned %d, warning %v, fail %v", n, w, f)
	}
	// The typical value is about 400 ms with little spread, so the learned bounds sit near the
	// 10 % floor (440 ms), well inside the static 2,000 ms, and warning comes before fail.
	if !(*w >= 440 && *w <= *f && *f < 500) {
		t.Errorf("learned warning %.1f, fail %.1f; want 440 <= warning <= fail < 500", *w, *f)
	}
	o.Fail = ptr(450)
	if _, f, _ := Thresholds(o, history); *f != 450 && *f > 450 {
		t.Errorf("fail %.1f, want the static 450 when it is stricter", *f)
	}
	// A spread-out history gives a wider interval.
	wide := []float64{300, 500, 350, 450, 400, 600, 250}
	if _, fw, _ := Thresholds(domain.Objective{Metric: "latency_p99", Direction: "max", Adaptive: true}, wide); *fw < 600 {
		t.Errorf("fail %.1f from a spread-out history, want above its largest value 600", *fw)
	}
	// For rates the logit scale keeps thresholds below 1; "min" objectives bound from below.
	rate := domain.Objective{Metric: "error_rate", Direction: "max", Adaptive: true}
	if _, f, _ := Thresholds(rate, []float64{0.01, 0.012, 0.009, 0.011, 0.01}); *f <= 0.011 || *f >= 1 {
		t.Errorf("learned error-rate fail threshold %v", *f)
	}
	tp := domain.Objective{Metric: "throughput", Direction: "min", Adaptive: true}
	if w, _, _ := Thresholds(tp, []float64{100, 102, 98, 101, 99}); *w > 90 {
		t.Errorf("learned throughput warning %.1f, want at most 90 (the 10 %% floor below 100)", *w)
	}
}

func TestCheckAndOverall(t *testing.T) {
	o := domain.Objective{Name: "errors", Metric: "error_rate", Direction: "max", Warning: ptr(0.01), Fail: ptr(0.02)}
	for _, tc := range []struct {
		value float64
		ok    bool
		want  domain.GateResult
	}{{0.005, true, domain.GatePass}, {0.015, true, domain.GateWarning}, {0.03, true, domain.GateFail}, {0, false, domain.GateNoData}} {
		if got := Check(o, tc.value, tc.ok, nil).Result; got != tc.want {
			t.Errorf("Check(%v, %v) = %s, want %s", tc.value, tc.ok, got, tc.want)
		}
	}
	pass, warn, fail := domain.Checked{Result: domain.GatePass}, domain.Checked{Result: domain.GateWarning}, domain.Checked{Result: domain.GateNoData}
	if Overall([]domain.Checked{pass, warn}) != domain.GateWarning || Overall([]domain.Checked{warn, fail}) != domain.GateFail || Overall([]domain.Checked{pass}) != domain.GatePass {
		t.Error("Overall does not combine as worst-of")
	}
}

func TestMeasure(t *testing.T) {
	from := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	aggs := []domain.TelemetryAggregate{
		testenv.Observations(domain.TelemetryKey{Flag: "f", Variant: "on", Metric: "$request", Window: from, Resolution: time.Minute}, 1, 100, 200, 300, 400),
		testenv.Observations(domain.TelemetryKey{Flag: "f", Variant: "off", Metric: "$request", Window: from.Add(time.Minute), Resolution: time.Minute}, 0, 100, 100, 100, 100),
		testenv.Observations(domain.TelemetryKey{Flag: "f", Variant: "on", Metric: "$request", Window: from.Add(2 * time.Minute), Resolution: time.Minute}, 1, 9000),
	}
	to := from.Add(2 * time.Minute)
	measure := func(metric, variant string) float64 {
		v, ok, err := Measure(domain.Objective{Metric: metric, Variant: variant}, aggs, from, to)
		if err != nil || !ok {
			t.Fatalf("Measure(%s): %v %v", metric, ok, err)
		}
		return v
	}
	if v := measure("error_rate", ""); v != 1.0/8 {
		t.Errorf("error rate %v, want 1/8 (the window after to left out)", v)
	}
	if v := measure("error_rate", "on"); v != 0.25 {
		t.Errorf("error rate of on %v, want 0.25", v)
	}
	if v := measure("throughput", ""); v != 8.0/120 {
		t.Errorf("throughput %v, want 8 requests over 120 s", v)
	}
	// Of 100×5, 200, 300, 400 the sketch's p99 is the value of rank ⌊0.99·7⌋ = 6: 300.
	if v := measure("latency_p99", ""); math.Abs(v-300) > 3 {
		t.Errorf("p99 %v, want 300 within 1 %%", v)
	}
	if _, ok, _ := Measure(domain.Objective{Metric: "metric:revenue"}, aggs, from, to); ok {
		t.Error("a metric without observations measured something")
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		o    domain.Objective
		want string
	}{
		{domain.Objective{Metric: "error_rate", Direction: "max", Fail: ptr(1)}, "objectives[0].name"},
		{domain.Objective{Name: "a", Metric: "cpu", Direction: "max", Fail: ptr(1)}, "objectives[0].metric"},
		{domain.Objective{Name: "a", Metric: "metric:$request", Direction: "max", Fail: ptr(1)}, "objectives[0].metric"},
		{domain.Objective{Name: "a", Metric: "error_rate", Direction: "up", Fail: ptr(1)}, "objectives[0].direction"},
		{domain.Objective{Name: "a", Metric: "error_rate", Direction: "max"}, "needs a warning or fail"},
		{domain.Objective{Name: "a", Metric: "error_rate", Direction: "max", Warning: ptr(0.5), Fail: ptr(0.1)}, "objectives[0].warning"},
		{domain.Objective{Name: "a", Metric: "error_rate", Direction: "max", Fail: ptr(math.NaN())}, "objectives[0].fail"},
	} {
		err := Validate(domain.Gate{Objectives: []domain.Objective{tc.o}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error naming %q", tc.o, err, tc.want)
		}
	}
}
