package rollout

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// arm builds an arm of n requests with x errors and log-latencies around ln(200 ms).
func arm(n, x int64, logShift float64) Arm {
	mu := math.Log(200) + logShift
	fn := float64(n)
	return Arm{Units: n / 2, Requests: n, Errors: x, LatencyN: n, SumLog: fn * mu, SumLogSq: fn*mu*mu + 0.25*(fn-1)}
}

func window(i int, t, c Arm) Window {
	start := t0.Add(time.Duration(i) * time.Minute)
	return Window{Start: start, End: start.Add(time.Minute), Treatment: t, Control: c}
}

func newEngine(t *testing.T, plan Plan) *Engine {
	t.Helper()
	e, err := New(plan, t0)
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		e.History(arm(9900, 99, 0))
	}
	return e
}

// feed observes n windows with the given arms from minute from, returning the first decision
// other than continue/hold, or the last one.
func feed(e *Engine, from, n int, t, c Arm) Decision {
	var d Decision
	for i := from; i < from+n; i++ {
		w := window(i, t, c)
		e.Observe(w)
		d = e.Decide(w.End)
		if d.Action != Continue && d.Action != Hold {
			return d
		}
	}
	return d
}

func TestCircuitBreakerRollsBackACatastrophe(t *testing.T) {
	e := newEngine(t, Plan{})
	d := feed(e, 0, 1, arm(100, 40, 0), arm(9900, 99, 0))
	if d.Action != Rollback || d.Reason != "circuit_breaker" {
		t.Fatalf("decision = %s, want rollback by the circuit breaker", d)
	}
}

func TestDoubledErrorsRollBackOnEvidence(t *testing.T) {
	e := newEngine(t, Plan{})
	d := feed(e, 0, 60, arm(100, 2, 0), arm(9900, 99, 0))
	if d.Action != Rollback || d.Reason != "critical:error_rate" || d.Metric != ErrorRate {
		t.Fatalf("decision = %s, want a critical error-rate rollback", d)
	}
	if d.LogE < math.Log(2/0.01) {
		t.Errorf("rolled back with log e-value %.2f, below the threshold log(K/alpha) = %.2f", d.LogE, math.Log(200))
	}
	ev := d.Evidence[0]
	if !(ev.Estimate > 0.5 && ev.Lower > 0) {
		t.Errorf("error-rate estimate %+.2f [%+.2f, %+.2f]: want about +100%% with an interval above 0", ev.Estimate, ev.Lower, ev.Upper)
	}
}

func TestSlowerLatencyRollsBack(t *testing.T) {
	e := newEngine(t, Plan{})
	d := feed(e, 0, 60, arm(100, 1, math.Log(1.3)), arm(9900, 99, 0))
	if d.Action != Rollback || d.Metric != Latency {
		t.Fatalf("decision = %s, want a latency rollback", d)
	}
}

func TestHealthyRolloutAdvancesAfterSoakAndCompletes(t *testing.T) {
	e := newEngine(t, Plan{})
	minute := 0
	for step := 0; step < 4; step++ {
		share := e.Share() / 100
		nT := int64(10000 * share)
		var d Decision
		for {
			w := window(minute, arm(nT, nT/100, 0), arm(10000-nT, (10000-nT)/100, 0))
			minute++
			e.Observe(w)
			d = e.Decide(w.End)
			if d.Action == Advance {
				break
			}
			if d.Action != Continue || minute > 400 {
				t.Fatalf("step %d: decision = %s, want continue until an advance", step, d)
			}
		}
		if err := e.AdvanceStep(t0.Add(time.Duration(minute) * time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if d := e.Decide(t0.Add(time.Duration(minute) * time.Minute)); d.Action != Complete || e.Share() != 100 {
		t.Fatalf("after the last advance: %s at %v%%, want complete at 100%%", d, e.Share())
	}
	if minute < 4*10 {
		t.Errorf("completed in %d minutes, faster than four ten-minute soaks", minute)
	}
	if err := e.AdvanceStep(t0); err != ErrDone {
		t.Errorf("AdvanceStep after the end = %v, want ErrDone", err)
	}
}

func TestSampleRatioMismatchPauses(t *testing.T) {
	e := newEngine(t, Plan{Steps: []float64{50, 100}})
	tr, co := arm(5000, 50, 0), arm(5000, 50, 0)
	tr.Units, co.Units = 2350, 2500 // 6 % of the treatment's exposures lost
	d := feed(e, 0, 30, tr, co)
	if d.Action != Pause || d.Reason != "srm" {
		t.Fatalf("decision = %s, want a pause for sample-ratio mismatch", d)
	}
}

func TestGlobalIncidentFreezesInsteadOfRollingBack(t *testing.T) {
	e := newEngine(t, Plan{})
	d := feed(e, 0, 5, arm(100, 5, 0), arm(9900, 495, 0))
	if d.Action != Freeze || d.Reason != "global_incident" {
		t.Fatalf("decision = %s, want a freeze", d)
	}
}

func TestMissingTelemetryHoldsOnTheWatermark(t *testing.T) {
	e := newEngine(t, Plan{})
	feed(e, 0, 3, arm(100, 1, 0), arm(9900, 99, 0))
	d := e.Decide(t0.Add(10 * time.Minute))
	if d.Action != Hold || d.Reason != "watermark" {
		t.Fatalf("decision = %s, want a hold on the watermark", d)
	}
}

func TestStateRoundTripContinuesTheSameWay(t *testing.T) {
	plan := Plan{}
	a := newEngine(t, plan)
	feed(a, 0, 20, arm(100, 1, 0), arm(9900, 99, 0))
	data, err := json.Marshal(a.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	b, err := Restore(plan, st)
	if err != nil {
		t.Fatal(err)
	}
	for i := 20; i < 40; i++ {
		w := window(i, arm(100, int64(i%4), 0), arm(9900, 99, 0))
		a.Observe(w)
		b.Observe(w)
		da, db := a.Decide(w.End), b.Decide(w.End)
		if da.String() != db.String() {
			t.Fatalf("minute %d: original %s, restored %s", i, da, db)
		}
	}
}

// TestAAFalseAlarmsStayBelowAlpha checks the guarantee behind every rollback: with no
// difference between the arms, the error-rate e-process crosses 1/alpha in at most about
// alpha of rollouts, however long it is watched.
func TestAAFalseAlarmsStayBelowAlpha(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const runs, alpha = 400, 0.05
	crossed := 0
	for range runs {
		p := newHarmProcess(1)
		for range 300 {
			nT, nC := int64(500), int64(9500)
			xT, xC := poissonSmall(rng, 5), poissonSmall(rng, 95)
			p.add(nT, xT, nC, xC)
			if p.logE(1) >= math.Log(1/alpha) {
				crossed++
				break
			}
		}
	}
	if rate := float64(crossed) / runs; rate > alpha {
		t.Errorf("A/A crossing rate %.3f exceeds alpha %.2f", rate, alpha)
	}
}

func poissonSmall(r *rand.Rand, lambda float64) int64 {
	l, k, p := math.Exp(-lambda), int64(0), 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func TestPlanValidationNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		plan Plan
		want string
	}{
		{Plan{Steps: []float64{5, 1, 100}}, "steps[1]"},
		{Plan{Steps: []float64{1, 50}}, "steps: the last step must be 100"},
		{Plan{Steps: []float64{0, 100}}, "steps[0]"},
		{Plan{Tick: Duration(time.Millisecond)}, "tick"},
		{Plan{MinSoak: Duration(time.Hour), StepCap: Duration(time.Minute)}, "stepCap"},
		{Plan{Inconclusive: "maybe"}, "inconclusive"},
		{Plan{Guardrails: []Guardrail{{Metric: "cpu"}}}, "guardrails[0].metric"},
		{Plan{Guardrails: []Guardrail{{Metric: ErrorRate}, {Metric: ErrorRate}}}, "guardrails[1].metric"},
		{Plan{Guardrails: []Guardrail{{Metric: ErrorRate, Tolerance: 0.6}}}, "guardrails[0].margin"},
		{Plan{Holdback: 50}, "holdback"},
	} {
		_, err := New(tc.plan, t0)
		field, _, _ := strings.Cut(tc.want, ":")
		var pe *PlanError
		if !errors.As(err, &pe) || pe.Field != field || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want a PlanError of field %s saying %q", tc.plan, err, field, tc.want)
		}
	}
}

func TestThresholdsSplitTheCriticalLevelOverTheGuardrails(t *testing.T) {
	e, err := New(Plan{AlphaCritical: 0.01, AlphaWarning: 0.05}, t0) // error_rate and latency
	if err != nil {
		t.Fatal(err)
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9*want }
	if th := e.Thresholds(ErrorRate); !near(th.Critical, 200) || !near(th.Warning, 20) || th.NonInferiority != 20 {
		t.Errorf("error_rate thresholds %+v, want rollback at 200 (0.01 over two guardrails), warning and advance at 20", th)
	}
	// Once the slow-tail test runs, latency's share of the level is split 60/40 with it.
	e.SetTailThreshold(250)
	if th := e.Thresholds(Latency); !near(th.Critical, 1/(0.6*0.005)) {
		t.Errorf("latency critical threshold %v, want %v", th.Critical, 1/(0.6*0.005))
	}
	if th := e.Thresholds(LatencyTail); !near(th.Critical, 1/(0.4*0.005)) || th.Warning != 0 || th.NonInferiority != 0 {
		t.Errorf("slow-tail thresholds %+v, want only a rollback threshold at %v", th, 1/(0.4*0.005))
	}
	if th := e.Thresholds("success:checkout"); th != (Thresholds{}) {
		t.Errorf("success metric thresholds %+v, want none: it never acts", th)
	}
}

func TestHoldbackAddsABakeStep(t *testing.T) {
	p := Plan{Steps: []float64{10, 50, 100}, Holdback: 5}.WithDefaults()
	if want := []float64{10, 50, 95, 100}; !slices.Equal(p.Steps, want) {
		t.Errorf("steps with a 5 %% holdback = %v, want %v", p.Steps, want)
	}
	if p := (Plan{Steps: []float64{10, 100}}).WithDefaults(); !slices.Equal(p.Steps, []float64{10, 100}) {
		t.Errorf("steps without holdback = %v", p.Steps)
	}
}
