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
	} {
		if _, err := New(tc.plan, time.Now()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %q", tc.plan, err, tc.want)
		}
	}
}
