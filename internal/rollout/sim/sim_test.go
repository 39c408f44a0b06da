package sim

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The short fixed-seed subset of the detection benchmark that runs with the tests; the full
// matrix runs in scripts/sim-matrix.

func load(t *testing.T, name string, runs int) Scenario {
	t.Helper()
	s, err := Load(filepath.Join("testdata", "scenarios", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.Runs = runs
	return s
}

func run(t *testing.T, s Scenario, e Engine, fid Fidelity) Result {
	t.Helper()
	r, err := Run(s, e, fid)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAAFalseRollbacksStayRare(t *testing.T) {
	for _, name := range []string{"aa-1-10k-1pct", "aa-3-clustered-1k-1pct"} {
		r := run(t, load(t, name, 300), Autopilot, Fast)
		if r.RolledBack > 0.015 {
			t.Errorf("%s: %.1f%% of healthy rollouts rolled back, want at most 1.5%% (reasons %v)", name, 100*r.RolledBack, r.Reasons)
		}
		if r.ReachedFull < 0.9 {
			t.Errorf("%s: only %.1f%% of healthy rollouts reached 100%%", name, 100*r.ReachedFull)
		}
	}
}

func TestDoubledErrorsAreCaught(t *testing.T) {
	r := run(t, load(t, "er-2-2x-10k-1pct", 300), Autopilot, Fast)
	if r.RolledBack < 0.99 {
		t.Fatalf("caught %.1f%% of 2x regressions, want at least 99%%", 100*r.RolledBack)
	}
	if *r.ExposureRequestsP50 > 2500 {
		t.Errorf("median exposure %.0f treatment requests, want about the Wald bound of 1,700", *r.ExposureRequestsP50)
	}
	if r.Reasons["critical:error_rate"] == 0 {
		t.Errorf("reasons %v do not name the error rate", r.Reasons)
	}
}

func TestBaselinesShowWhyTheyAreNotUsed(t *testing.T) {
	s := load(t, "aa-1-10k-1pct", 200)
	if r := run(t, s, ZPeek, Fast); r.RolledBack < 0.2 {
		t.Errorf("the peeked z-test rolled back %.1f%% of A/A rollouts; the benchmark expects it to inflate false rollbacks", 100*r.RolledBack)
	}
	if r := run(t, s, Static, Fast); r.RolledBack < 0.2 {
		t.Errorf("the static threshold rolled back %.1f%% of A/A rollouts; the benchmark expects it to inflate false rollbacks", 100*r.RolledBack)
	}
}

func TestResultsAreReproducible(t *testing.T) {
	s := load(t, "er-1-1.5x-10k-1pct", 50)
	a, b := run(t, s, Autopilot, Fast), run(t, s, Autopilot, Fast)
	a.CPUMicrosPerTick, b.CPUMicrosPerTick = 0, 0
	if *a.TTDMinutesP50 != *b.TTDMinutesP50 || a.RolledBack != b.RolledBack {
		t.Errorf("two runs with one seed differ: %+v vs %+v", a, b)
	}
}

func TestScenarioErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"runs: 3", "name: required"},
		{"name: x\ntraffic: {rpm: 3}", "field rpm not found"},
		{"name: x\nerrors: {baseline: 2}", "errors.baseline"},
		{"name: x\neffect: {error_ratio: [[10, 1], [5, 2]]}", "minutes must increase"},
		{"name: x\nguardrails: [cpu]", "guardrails[0]"},
		{"name: x\nguardrails: [conversion]\nplan: {conversion_alpha: 0.5}", "plan.conversion_alpha"},
		{"name: x\nplan: {conversion_mde: 0.03}", "need the conversion guardrail"},
		{"name: x\nsuccess: {metric: latency}", "success.metric"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", tc.yaml, err, tc.want)
		}
	}
}

// TestConversionExperiment is target T11 on a short fixed-seed run: in a two-week 50/50
// experiment the conversion guardrail (one-sided 0.05, tuned to a 3 % drop) rarely fires on
// A/A, and catches a 3 % drop with a median under three days and 90 % within seven.
func TestConversionExperiment(t *testing.T) {
	if r := run(t, load(t, "cv-0-aa", 500), Autopilot, Fast); r.RolledBack > 0.05 {
		t.Errorf("A/A experiments rolled back %.1f%%, want at most 5%% (reasons %v)", 100*r.RolledBack, r.Reasons)
	}
	r := run(t, load(t, "cv-1-minus3pct", 500), Autopilot, Fast)
	if r.RolledBack < 0.99 || r.Reasons["critical:conversion:conversion"] == 0 {
		t.Fatalf("caught %.1f%% of 3 %% conversion drops (reasons %v), want at least 99%% on the conversion guardrail", 100*r.RolledBack, r.Reasons)
	}
	const day = 1440.0
	if *r.TTDMinutesP50 > 3*day || *r.TTDMinutesP90 > 7*day {
		t.Errorf("time to detect p50 %.1f d, p90 %.1f d; want at most 3 and 7 days", *r.TTDMinutesP50/day, *r.TTDMinutesP90/day)
	}
}

// TestWinnerNeedsABetterTreatment: the success metric's two-sided interval excludes 0 in the
// treatment's favour in most +3 % experiments, rarely in A/A ones, and never when the
// treatment is worse.
func TestWinnerNeedsABetterTreatment(t *testing.T) {
	for _, tc := range []struct {
		name     string
		min, max float64
	}{
		{"cv-2-plus3pct", 0.95, 1},
		{"cv-0-aa", 0, 0.05},
		{"cv-1-minus3pct", 0, 0},
	} {
		r := run(t, load(t, tc.name, 300), Autopilot, Fast)
		if r.Winner == nil {
			t.Fatalf("%s: no winner share in the result", tc.name)
		}
		if *r.Winner < tc.min || *r.Winner > tc.max {
			t.Errorf("%s: a winner in %.1f%% of runs, want %.0f%%..%.0f%%", tc.name, 100**r.Winner, 100*tc.min, 100*tc.max)
		}
	}
	if r := run(t, load(t, "aa-1-1k-1pct", 20), Autopilot, Fast); r.Winner != nil {
		t.Errorf("a scenario without a success metric reports winners: %v", *r.Winner)
	}
}

// TestDriftIsNotAnIncident: a baseline error rate doubling over the ramp at low volume does not
// freeze healthy rollouts as a global incident, while a real one (both arms 5× for ten
// minutes) is frozen.
func TestDriftIsNotAnIncident(t *testing.T) {
	if r := run(t, load(t, "aa-2-1k-0.1pct", 400), Autopilot, Fast); r.Frozen > 0.02 {
		t.Errorf("%.1f%% of drifting A/A rollouts frozen, want at most 2%% (reasons %v)", 100*r.Frozen, r.Reasons)
	}
	if r := run(t, load(t, "gi-1-incident-1k-1pct", 200), Autopilot, Fast); r.Frozen < 0.97 || r.RolledBack > 0.02 {
		t.Errorf("global incident: frozen %.1f%%, rolled back %.1f%%; want at least 97%% and at most 2%%", 100*r.Frozen, 100*r.RolledBack)
	}
}

// The full-fidelity subset: every request through the SDK's bucketing and aggregation, the
// intake's merge and the controller's reading of windows, held to fast fidelity's figures.

func TestFullFidelityAgreesOnHealthyRollouts(t *testing.T) {
	full := run(t, load(t, "aa-1-1k-1pct", 20), Autopilot, Full)
	if full.Fidelity != Full || full.RolledBack > 0 || full.Paused > 0 || full.ReachedFull < 0.9 {
		t.Errorf("healthy rollouts at full fidelity: %.1f%% rolled back, %.1f%% paused, %.1f%% reached 100%% (reasons %v); want none, none, at least 90%%",
			100*full.RolledBack, 100*full.Paused, 100*full.ReachedFull, full.Reasons)
	}
	fast := run(t, load(t, "aa-1-1k-1pct", 300), Autopilot, Fast)
	if f, g := *fast.TimeToFullMinutesP50, *full.TimeToFullMinutesP50; math.Abs(g-f) > 0.15*f {
		t.Errorf("median time to 100 %%: %.1f min at full fidelity, %.1f at fast; want within 15 %%", g, f)
	}
}

func TestFullFidelityAgreesOnA6xRegression(t *testing.T) {
	full := run(t, load(t, "er-3-6x-1k-1pct", 12), Autopilot, Full)
	if full.RolledBack < 1 || full.Reasons["critical:error_rate"] != full.Runs {
		t.Fatalf("caught %.1f%% of 6x regressions at full fidelity (reasons %v), want all by the error rate", 100*full.RolledBack, full.Reasons)
	}
	fast := run(t, load(t, "er-3-6x-1k-1pct", 300), Autopilot, Fast)
	for _, m := range []struct {
		name       string
		full, fast float64
	}{
		{"median minutes to detect", *full.TTDMinutesP50, *fast.TTDMinutesP50},
		{"median treatment requests before the rollback", *full.ExposureRequestsP50, *fast.ExposureRequestsP50},
	} {
		if m.full < m.fast/2 || m.full > 2*m.fast {
			t.Errorf("%s: %.1f at full fidelity, %.1f at fast; want within a factor of 2", m.name, m.full, m.fast)
		}
	}
}

// Full runs share the cores; each still depends on its seed alone.
func TestFullFidelityIsReproducible(t *testing.T) {
	s := load(t, "er-3-6x-100-1pct", 2)
	a, b := run(t, s, Autopilot, Full), run(t, s, Autopilot, Full)
	a.CPUMicrosPerTick, b.CPUMicrosPerTick = 0, 0
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two runs with one seed differ:\n%+v\n%+v", a, b)
	}
}

func TestFullFidelityNeedsWindowsThatLineUp(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"name: x\ntelemetry: {flush_seconds: 7}", "telemetry.flush_seconds"},
		{"name: x\nplan: {tick_minutes: 7, min_soak_minutes: 14}", "plan.tick_minutes"},
	} {
		s, err := Parse([]byte(tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		s.Runs = 2
		if _, err := Run(s, Autopilot, Full); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q at full fidelity: %v, want an error naming %s", tc.yaml, err, tc.want)
		}
		if _, err := Run(s, Autopilot, Fast); err != nil {
			t.Errorf("%q at fast fidelity: %v", tc.yaml, err)
		}
	}
	if _, err := Run(load(t, "aa-1-1k-1pct", 1), Autopilot, "medium"); err == nil || !strings.Contains(err.Error(), "fidelity") {
		t.Errorf("an unknown fidelity: %v", err)
	}
}
