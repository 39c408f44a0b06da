package sim

import (
	"path/filepath"
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

func run(t *testing.T, s Scenario, e Engine) Result {
	t.Helper()
	r, err := Run(s, e)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAAFalseRollbacksStayRare(t *testing.T) {
	for _, name := range []string{"aa-1-10k-1pct", "aa-3-clustered-1k-1pct"} {
		r := run(t, load(t, name, 300), Autopilot)
		if r.RolledBack > 0.015 {
			t.Errorf("%s: %.1f%% of healthy rollouts rolled back, want at most 1.5%% (reasons %v)", name, 100*r.RolledBack, r.Reasons)
		}
		if r.ReachedFull < 0.9 {
			t.Errorf("%s: only %.1f%% of healthy rollouts reached 100%%", name, 100*r.ReachedFull)
		}
	}
}

func TestDoubledErrorsAreCaught(t *testing.T) {
	r := run(t, load(t, "er-2-2x-10k-1pct", 300), Autopilot)
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
	if r := run(t, s, ZPeek); r.RolledBack < 0.2 {
		t.Errorf("the peeked z-test rolled back %.1f%% of A/A rollouts; the benchmark expects it to inflate false rollbacks", 100*r.RolledBack)
	}
	if r := run(t, s, Static); r.RolledBack < 0.2 {
		t.Errorf("the static threshold rolled back %.1f%% of A/A rollouts; the benchmark expects it to inflate false rollbacks", 100*r.RolledBack)
	}
}

func TestResultsAreReproducible(t *testing.T) {
	s := load(t, "er-1-1.5x-10k-1pct", 50)
	a, b := run(t, s, Autopilot), run(t, s, Autopilot)
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
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", tc.yaml, err, tc.want)
		}
	}
}

func TestConversionDropIsCaughtInAnExperiment(t *testing.T) {
	if r := run(t, load(t, "cv-0-aa", 200), Autopilot); r.RolledBack > 0.02 {
		t.Errorf("A/A experiments rolled back %.1f%%, want at most 2%% (reasons %v)", 100*r.RolledBack, r.Reasons)
	}
	r := run(t, load(t, "cv-1-minus3pct", 200), Autopilot)
	if r.RolledBack < 0.9 || r.Reasons["critical:conversion:conversion"] == 0 {
		t.Errorf("caught %.1f%% of 3 %% conversion drops (reasons %v), want at least 90%% on the conversion guardrail", 100*r.RolledBack, r.Reasons)
	}
}
