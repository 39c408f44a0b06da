package rollout

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// convArm is an arm of n units of which the given number converted, with healthy requests.
func convArm(units, converted int64) Arm {
	a := arm(units, units/100, 0)
	a.Units = units
	a.Converted = map[string]int64{"checkout": converted}
	return a
}

func TestConversionDropRollsBack(t *testing.T) {
	e := newEngine(t, Plan{Steps: []float64{10, 100}, Guardrails: []Guardrail{{Metric: ErrorRate}, {Metric: Conversion, Event: "checkout"}}})
	// 10 % of control users check out, 7 % of treatment users: a 30 % drop.
	d := feed(e, 0, 120, convArm(500, 35), convArm(4500, 450))
	if d.Action != Rollback || d.Reason != "critical:conversion:checkout" {
		t.Fatalf("decision = %s, want a rollback on the conversion guardrail", d)
	}
}

func TestSuccessMetricIsEstimatedWithAnInterval(t *testing.T) {
	e := newEngine(t, Plan{Steps: []float64{20, 100}, StepCap: Duration(2 * time.Hour), Success: &Success{Event: "checkout"}})
	// 12 % against 10 %: a 20 % lift.
	d := feed(e, 0, 60, convArm(2000, 240), convArm(8000, 800))
	var found bool
	for _, ev := range d.Evidence {
		if ev.Metric != "success:checkout" {
			continue
		}
		found = true
		if !(ev.Lower > 0 && ev.Estimate > 0.1 && ev.Estimate < 0.3 && ev.Upper > ev.Estimate) {
			t.Errorf("success lift %+.3f [%+.3f, %+.3f], want about +0.2 with an interval above 0", ev.Estimate, ev.Lower, ev.Upper)
		}
	}
	if !found {
		t.Fatalf("no success evidence in %+v", d.Evidence)
	}
	if d.Action == Rollback || strings.Contains(d.Reason, "success") {
		t.Errorf("the success metric changed the decision: %s", d)
	}
}

// TestConversionAAStaysQuiet: with equal conversion rates, the guardrail's harm e-process
// rarely crosses 1/alpha however long it is watched.
func TestConversionAAStaysQuiet(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const runs, alpha = 300, 0.05
	crossed := 0
	for range runs {
		c := &conversionTests{}
		for range 200 {
			nT, nC := int64(200), int64(1800)
			xT, xC := binom(rng, nT, 0.1), binom(rng, nC, 0.1)
			c.add(Arm{Units: nT, Converted: map[string]int64{"e": xT}}, Arm{Units: nC, Converted: map[string]int64{"e": xC}}, "e")
			if c.Crit.logE(c.Var.value(), c.tau(alpha, 0.1)) >= math.Log(1/alpha) {
				crossed++
				break
			}
		}
	}
	if rate := float64(crossed) / runs; rate > alpha {
		t.Errorf("A/A crossing rate %.3f exceeds alpha %.2f", rate, alpha)
	}
}

func binom(r *rand.Rand, n int64, p float64) int64 {
	var k int64
	for range n {
		if r.Float64() < p {
			k++
		}
	}
	return k
}

func TestConversionPlanValidation(t *testing.T) {
	for _, tc := range []struct {
		plan Plan
		want string
	}{
		{Plan{Guardrails: []Guardrail{{Metric: Conversion}}}, "guardrails[0].event"},
		{Plan{Guardrails: []Guardrail{{Metric: ErrorRate, Event: "x"}}}, "guardrails[0].event"},
		{Plan{Guardrails: []Guardrail{{Metric: Conversion, Event: "x", Tolerance: 1.5}}}, "guardrails[0].tolerance"},
		{Plan{Success: &Success{}}, "success.event"},
		{Plan{Guardrails: []Guardrail{{Metric: Conversion, Event: "x", Alpha: 0.5}}}, "guardrails[0].alpha"},
		{Plan{Guardrails: []Guardrail{{Metric: ErrorRate, Alpha: -0.01}}}, "guardrails[0].alpha"},
		{Plan{Guardrails: []Guardrail{{Metric: Conversion, Event: "x", MDE: 1}}}, "guardrails[0].mde"},
		{Plan{Guardrails: []Guardrail{{Metric: Latency, MDE: 0.1}}}, "guardrails[0].mde"},
	} {
		if _, err := New(tc.plan, time.Now()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %q", tc.plan, err, tc.want)
		}
	}
}

// TestExperimentGuardrailUsesItsOwnLevelAndMDE: an experiment's conversion guardrail held to a
// one-sided 0.05 and tuned to a 3 % drop catches a 3 % drop sooner than one sharing the
// rollout's 0.01 and tuned to 10 %, while the error-rate guardrail keeps the whole 0.01.
func TestExperimentGuardrailUsesItsOwnLevelAndMDE(t *testing.T) {
	long := Duration(1000 * time.Hour)
	plan := func(g Guardrail) Plan {
		return Plan{Steps: []float64{50, 100}, MinSoak: long, StepCap: long,
			Guardrails: []Guardrail{{Metric: ErrorRate}, g}}
	}
	tuned := newEngine(t, plan(Guardrail{Metric: Conversion, Event: "checkout", Alpha: 0.05, MDE: 0.03}))
	shared := newEngine(t, plan(Guardrail{Metric: Conversion, Event: "checkout"}))
	if a := tuned.alpha(ErrorRate); a != 0.01 {
		t.Errorf("error_rate level = %v, want the whole alphaCritical 0.01", a)
	}
	if a := shared.alpha(ErrorRate); a != 0.005 {
		t.Errorf("error_rate level beside a sharing guardrail = %v, want 0.005", a)
	}
	// 9.7 % of treatment units convert against 10 % of control units: a 3 % drop.
	treatment, control := convArm(2000, 194), convArm(2000, 200)
	minutes := 0
	for ; minutes < 2000; minutes++ {
		w := window(minutes, treatment, control)
		tuned.Observe(w)
		shared.Observe(w)
		if d := tuned.Decide(w.End); d.Action == Rollback {
			if d.Reason != "critical:conversion:checkout" {
				t.Fatalf("rolled back for %s, want the conversion guardrail", d.Reason)
			}
			if d := shared.Decide(w.End); d.Action == Rollback {
				t.Fatalf("the guardrail sharing 0.01 and tuned to 10 %% rolled back as soon (%d windows)", minutes+1)
			}
			break
		}
	}
	if minutes == 2000 {
		t.Fatal("the tuned guardrail never caught the 3 % drop")
	}
	d := feed(shared, minutes+1, 2000, treatment, control)
	if d.Action != Rollback {
		t.Fatalf("the default guardrail never caught the drop: %s", d)
	}
}
