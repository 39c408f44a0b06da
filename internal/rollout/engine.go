package rollout

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Arm is one arm's telemetry within one window.
type Arm struct {
	// Units counts distinct units exposed; the SRM test compares the arms' units.
	Units    int64 `json:"units"`
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	// LatencyN requests had a duration; SumLog and SumLogSq are the sums of the natural log
	// of their durations in milliseconds and of its square.
	LatencyN int64   `json:"latencyN"`
	SumLog   float64 `json:"sumLog"`
	SumLogSq float64 `json:"sumLogSq"`
	// Exceed counts requests slower than the tail threshold (see SetTailThreshold).
	Exceed int64 `json:"exceed"`
	// Converted counts, per tracked event, the exposed units that tracked it.
	Converted map[string]int64 `json:"converted,omitempty"`
}

// Window is the telemetry of one tick of the current step, treatment against control.
type Window struct {
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Treatment Arm       `json:"treatment"`
	Control   Arm       `json:"control"`
}

// Action is what the controller should do after a tick.
type Action string

const (
	Continue Action = "continue" // keep the current step
	Advance  Action = "advance"  // move to the next step
	Hold     Action = "hold"     // keep the step and do not advance, for now
	Pause    Action = "pause"    // stop deciding until a person resumes
	Freeze   Action = "freeze"   // the control suffers too: neither advance nor roll back
	Rollback Action = "rollback" // serve control to everyone and end the rollout
	Complete Action = "complete" // the rollout reached 100 %
)

// Decision is the engine's verdict at a tick with the evidence behind it.
type Decision struct {
	Action Action `json:"action"`
	// Reason is machine-readable: "critical:error_rate", "circuit_breaker", "srm",
	// "warning:latency", "advance:evidence", "advance:step_cap", "watermark", ...
	Reason   string     `json:"reason"`
	Metric   Metric     `json:"metric,omitempty"`
	LogE     float64    `json:"logE,omitempty"` // the evidence that triggered it, if any
	Step     int        `json:"step"`
	Share    float64    `json:"share"`
	Evidence []Evidence `json:"evidence"`
}

// Evidence is the state of one guardrail's tests at a tick.
type Evidence struct {
	Metric Metric `json:"metric"`
	// Log e-values: of harm beyond the tolerance (rollback), of any harm (warning), and of
	// non-inferiority within the margin in the current step (advance).
	LogECritical       float64 `json:"logECritical"`
	LogEWarning        float64 `json:"logEWarning"`
	LogENonInferiority float64 `json:"logENonInferiority"`
	// Estimate is the relative change, treatment against control (0.5 = 50 % worse), with a
	// 95 % interval; for error_rate over the current step, for latency over the rollout.
	Estimate float64 `json:"estimate"`
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper"`
	// Treatment and control observations in the current step.
	TreatmentN     int64   `json:"treatmentN"`
	ControlN       int64   `json:"controlN"`
	TreatmentValue float64 `json:"treatmentValue"` // error rate, or geometric-mean latency in ms
	ControlValue   float64 `json:"controlValue"`
	// Dispersion is the over-dispersion factor that tempers the error-rate evidence.
	Dispersion float64 `json:"dispersion,omitempty"`
}

// State is everything the engine remembers; it is a plain value, stored between ticks.
type State struct {
	Step        int       `json:"step"`
	StepStarted time.Time `json:"stepStarted"`
	Started     time.Time `json:"started"`
	Done        bool      `json:"done"`
	// StepWindows and the step sums cover the windows of the current step.
	StepWindows int       `json:"stepWindows"`
	StepT       Arm       `json:"stepT"`
	StepC       Arm       `json:"stepC"`
	LastEnd     time.Time `json:"lastEnd"`
	// QuietWindows counts consecutive windows without treatment traffic.
	QuietWindows int       `json:"quietWindows"`
	WarnSince    time.Time `json:"warnSince"`

	ErrCrit rateProcess    `json:"errCrit"`
	ErrWarn rateProcess    `json:"errWarn"`
	ErrOK   rateProcess    `json:"errOK"`
	LatCrit meanProcess    `json:"latCrit"`
	LatWarn meanProcess    `json:"latWarn"`
	LatOK   meanProcess    `json:"latOK"`
	LatVar  pooledVariance `json:"latVar"`
	// TailCrit and TailWarn test the share of requests slower than TailThreshold (ms), a
	// high quantile of the control's latency before the rollout: a regression of the slowest
	// requests barely moves the mean of log-latency.
	TailCrit      rateProcess `json:"tailCrit"`
	TailWarn      rateProcess `json:"tailWarn"`
	TailThreshold float64     `json:"tailThreshold"`
	// Conversions holds a conversion guardrail's tests, by event; Success the success
	// metric's two-sided estimate.
	Conversions map[string]*conversionTests `json:"conversions,omitempty"`
	Success     *conversionTests            `json:"success,omitempty"`
	Dispersion  dispersion                  `json:"dispersion"`
	SRM         srmProcess                  `json:"srm"`
	// Recent are the windows of the last circuitBreakerSpan.
	Recent []Window `json:"recent"`
}

const (
	circuitBreakerSpan = 15 * time.Minute
	incidentSpan       = 10 * time.Minute
	incidentReference  = 2 * time.Hour
	incidentRatio      = 1.5
	incidentOdds       = 200
	srmThreshold       = 1000
	advanceThreshold   = 20
	quietWindowsPause  = 10
	lateWindows        = 4
)

// Engine decides one rollout.
type Engine struct {
	plan Plan
	st   State
	// levels are the guardrails' false-rollback levels, by evidence metric (see alpha).
	levels map[Metric]float64
}

// New starts the engine for a rollout beginning at the first step at start.
func New(plan Plan, start time.Time) (*Engine, error) {
	plan = plan.WithDefaults()
	if err := plan.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{plan: plan, levels: criticalLevels(plan)}
	e.st = State{Started: start, StepStarted: start, SRM: newSRMProcess()}
	for _, g := range plan.Guardrails {
		switch g.Metric {
		case ErrorRate:
			e.st.ErrCrit = newHarmProcess(1 + g.Tolerance)
			e.st.ErrWarn = newHarmProcess(1)
			e.st.ErrOK = newRateProcess(1+g.Margin, []float64{0.8, 1.0, 1.2})
		case Latency:
			e.st.LatCrit = meanProcess{Delta0: math.Log1p(g.Tolerance), Sign: 1}
			e.st.LatWarn = meanProcess{Sign: 1}
			e.st.LatOK = meanProcess{Delta0: math.Log1p(g.Margin), Sign: -1}
			e.st.TailCrit = newHarmProcess(1 + g.Tolerance)
			e.st.TailWarn = newHarmProcess(1)
		case Conversion:
			if e.st.Conversions == nil {
				e.st.Conversions = map[string]*conversionTests{}
			}
			e.st.Conversions[g.Event] = &conversionTests{Tolerance: g.Tolerance, Margin: g.Margin}
		}
	}
	if plan.Success != nil {
		e.st.Success = &conversionTests{}
	}
	return e, nil
}

// Restore continues a rollout from a stored state.
func Restore(plan Plan, st State) (*Engine, error) {
	e, err := New(plan, st.Started)
	if err != nil {
		return nil, err
	}
	if st.Step < 0 || st.Step >= len(e.plan.Steps) {
		return nil, fmt.Errorf("state: step %d is not a step of the plan", st.Step)
	}
	e.st = st
	return e, nil
}

// State returns the engine's state, to store it.
func (e *Engine) State() State { return e.st }

// Plan returns the plan with its defaults filled in.
func (e *Engine) Plan() Plan { return e.plan }

// Share is the current treatment share in percent.
func (e *Engine) Share() float64 { return e.plan.Steps[e.st.Step] }

// Step is the index of the current step.
func (e *Engine) Step() int { return e.st.Step }

// History takes a control window from before the rollout began (everyone on control), which
// calibrates the dispersion of error counts and the reference error rate.
func (e *Engine) History(control Arm) {
	e.st.Dispersion.add(control.Requests, control.Errors)
}

// SetTailThreshold sets the latency (ms) above which requests count as the slow tail, from
// the control's history; windows must then carry Exceed counts against it.
func (e *Engine) SetTailThreshold(ms float64) { e.st.TailThreshold = ms }

// TailThreshold is the latency above which requests count as the slow tail; 0 when unset.
func (e *Engine) TailThreshold() float64 { return e.st.TailThreshold }

// Observe takes the next complete window of the current step.
func (e *Engine) Observe(w Window) {
	st := &e.st
	t, c := w.Treatment, w.Control
	st.StepWindows++
	st.StepT = addArm(st.StepT, t)
	st.StepC = addArm(st.StepC, c)
	if w.End.After(st.LastEnd) {
		st.LastEnd = w.End
	}
	if t.Requests == 0 && t.Units == 0 {
		st.QuietWindows++
	} else {
		st.QuietWindows = 0
	}
	st.Dispersion.add(c.Requests, c.Errors)
	for _, p := range []*rateProcess{&st.ErrCrit, &st.ErrWarn, &st.ErrOK} {
		p.add(t.Requests, t.Errors, c.Requests, c.Errors)
	}
	for _, p := range []*rateProcess{&st.TailCrit, &st.TailWarn} {
		p.add(t.LatencyN, t.Exceed, c.LatencyN, c.Exceed)
	}
	st.LatVar.add(t.LatencyN, t.SumLog, t.SumLogSq)
	st.LatVar.add(c.LatencyN, c.SumLog, c.SumLogSq)
	if t.LatencyN > 0 && c.LatencyN > 0 {
		mt, mc := t.SumLog/float64(t.LatencyN), c.SumLog/float64(c.LatencyN)
		for _, p := range []*meanProcess{&st.LatCrit, &st.LatWarn, &st.LatOK} {
			p.add(mt, t.LatencyN, mc, c.LatencyN)
		}
	}
	st.SRM.add(e.Share()/100, t.Units, c.Units)
	for event, ct := range st.Conversions {
		ct.add(t, c, event)
	}
	if st.Success != nil {
		st.Success.add(t, c, e.plan.Success.Event)
	}
	st.Recent = append(st.Recent, w)
	cut := 0
	for cut < len(st.Recent) && !st.Recent[cut].End.After(st.LastEnd.Add(-circuitBreakerSpan)) {
		cut++
	}
	st.Recent = append(st.Recent[:0], st.Recent[cut:]...)
}

func addArm(a, b Arm) Arm {
	return Arm{
		Units: a.Units + b.Units, Requests: a.Requests + b.Requests, Errors: a.Errors + b.Errors,
		LatencyN: a.LatencyN + b.LatencyN, SumLog: a.SumLog + b.SumLog, SumLogSq: a.SumLogSq + b.SumLogSq,
		Exceed: a.Exceed + b.Exceed, Converted: addCounts(a.Converted, b.Converted),
	}
}

// ErrDone is returned by AdvanceStep once the rollout has ended.
var ErrDone = errors.New("the rollout has ended")

// AdvanceStep moves to the next step at now, as the engine or a person decided. Evidence of
// harm carries over; non-inferiority must be shown again at the new share.
func (e *Engine) AdvanceStep(now time.Time) error {
	st := &e.st
	if st.Done {
		return ErrDone
	}
	st.Step++
	if st.Step >= len(e.plan.Steps)-1 {
		st.Step = len(e.plan.Steps) - 1
		st.Done = true
	}
	st.StepStarted = now
	st.StepWindows, st.StepT, st.StepC = 0, Arm{}, Arm{}
	st.WarnSince = time.Time{}
	st.ErrOK.reset()
	st.LatOK.reset()
	for _, ct := range st.Conversions {
		ct.OK.reset()
	}
	return nil
}

// End marks the rollout as ended (rolled back or stopped by a person).
func (e *Engine) End() { e.st.Done = true }

// Decide returns the action for the tick at now. Checks run in DECISION.md's order, the first
// that applies wins: incomplete data, circuit breaker, critical harm, global incident, data
// health, warnings, advance.
func (e *Engine) Decide(now time.Time) Decision {
	st := &e.st
	d := Decision{Step: st.Step, Share: e.Share(), Evidence: e.evidence()}
	if st.Done {
		d.Action, d.Reason = Complete, "complete"
		return d
	}
	decide := func(a Action, reason string, m Metric, logE float64) Decision {
		d.Action, d.Reason, d.Metric, d.LogE = a, reason, m, logE
		return d
	}
	latest := st.LastEnd
	if latest.Before(st.StepStarted) {
		latest = st.StepStarted
	}
	if now.Sub(latest) > lateWindows*e.plan.Tick.D() {
		return decide(Hold, "watermark", "", 0)
	}
	if e.circuitBroken() {
		return decide(Rollback, "circuit_breaker", ErrorRate, 0)
	}
	for _, ev := range d.Evidence {
		if th := e.Thresholds(ev.Metric); th.Critical > 0 && ev.LogECritical >= math.Log(th.Critical) {
			return decide(Rollback, "critical:"+string(ev.Metric), ev.Metric, ev.LogECritical)
		}
	}
	if e.controlDegraded() {
		return decide(Freeze, "global_incident", ErrorRate, 0)
	}
	if l := st.SRM.logE(); l >= math.Log(srmThreshold) {
		return decide(Pause, "srm", "", l)
	}
	if st.QuietWindows >= quietWindowsPause {
		return decide(Pause, "no_traffic", "", 0)
	}
	for _, ev := range d.Evidence {
		if th := e.Thresholds(ev.Metric); th.Warning > 0 && ev.LogEWarning >= math.Log(th.Warning) {
			if st.WarnSince.IsZero() {
				st.WarnSince = now
			}
			if now.Sub(st.WarnSince) >= e.plan.WarningHold.D() {
				// A person is asked to decide; until then the step holds and the
				// critical test keeps watching.
				return decide(Hold, "escalated:warning:"+string(ev.Metric), ev.Metric, ev.LogEWarning)
			}
			return decide(Hold, "warning:"+string(ev.Metric), ev.Metric, ev.LogEWarning)
		}
	}
	st.WarnSince = time.Time{}
	inStep := now.Sub(st.StepStarted)
	if inStep < e.plan.MinSoak.D() || st.StepWindows < 3 {
		return decide(Continue, "soaking", "", 0)
	}
	if e.nonInferior(d.Evidence) {
		return decide(Advance, "advance:evidence", "", 0)
	}
	if inStep >= e.plan.StepCap.D() {
		if e.plan.Inconclusive == AdvanceWhenInconclusive {
			return decide(Advance, "advance:step_cap", "", 0)
		}
		return decide(Pause, "inconclusive", "", 0)
	}
	return decide(Continue, "gathering", "", 0)
}

// nonInferior reports whether every guardrail has ruled out harm beyond its margin in this
// step, and the treatment has seen enough requests to have caught a doubling of errors.
func (e *Engine) nonInferior(ev []Evidence) bool {
	if float64(e.st.StepT.Requests) < e.minExposure() {
		return false
	}
	for _, x := range ev {
		if th := e.Thresholds(x.Metric); th.NonInferiority > 0 && x.LogENonInferiority < math.Log(th.NonInferiority) {
			return false
		}
	}
	return true
}

// minExposure is n* of DECISION.md 2.10: the treatment requests in which a doubling of the
// error rate would have produced, on average, enough errors to be detected.
func (e *Engine) minExposure() float64 {
	p0 := e.st.Dispersion.rate()
	if p0 == 0 {
		return 0
	}
	const r, w = 2.0, 1.0 / 7
	lambda := (math.Log(1/e.plan.AlphaCritical) + math.Log(1/w)) / (r*math.Log(r) - r + 1)
	return lambda / p0
}

// circuitBroken is the catastrophic check: within the last 15 minutes at least ten treatment
// errors at a rate of at least 25 % and five times the control's.
func (e *Engine) circuitBroken() bool {
	var t, c Arm
	for _, w := range e.st.Recent {
		t, c = addArm(t, w.Treatment), addArm(c, w.Control)
	}
	if t.Errors < 10 || t.Requests == 0 {
		return false
	}
	rt := float64(t.Errors) / float64(t.Requests)
	rc := 0.0
	if c.Requests > 0 {
		rc = float64(c.Errors) / float64(c.Requests)
	}
	return rt >= math.Max(0.25, 5*rc)
}

// controlDegraded reports a global incident: the control's errors in the last few minutes
// exceed 1.5 times its rate in the two hours before, beyond doubt (a one-sided test at 1/200
// per look), so the flag is not what is failing. The test is conditional on the errors of
// both periods, as the rate test is on the two arms (DECISION.md 2.4), so the reference's own
// noise is accounted for exactly; it uses the Chernoff bound P(X ≥ x) ≤ exp(−m·KL(x/m ‖ π))
// of the binomial tail, tempered by the dispersion. The reference excludes the span, so an
// incident does not raise its own reference, and is recent, so that a baseline drifting over
// the rollout is not taken for an incident.
func (e *Engine) controlDegraded() bool {
	var c Arm
	inSpan := 0
	for _, w := range e.st.Recent {
		if w.End.After(e.st.LastEnd.Add(-incidentSpan)) {
			c = addArm(c, w.Control)
			if w.Control.Requests > 0 {
				inSpan++ // a window the dispersion batches hold
			}
		}
	}
	refRequests, refErrors := e.st.Dispersion.countsBefore(inSpan, max(1, int(incidentReference/e.plan.Tick.D())))
	if c.Errors < 10 || refRequests == 0 {
		return false
	}
	pi := share(incidentRatio, c.Requests, refRequests)
	m := float64(c.Errors + refErrors)
	f := float64(c.Errors) / m
	if f <= pi {
		return false
	}
	kl := f * math.Log(f/pi)
	if f < 1 {
		kl += (1 - f) * math.Log((1-f)/(1-pi))
	}
	return m*kl/e.st.Dispersion.phi() >= math.Log(incidentOdds)
}

func (e *Engine) evidence() []Evidence {
	st := &e.st
	out := make([]Evidence, 0, len(e.plan.Guardrails))
	for _, g := range e.plan.Guardrails {
		ev := Evidence{Metric: g.Metric}
		switch g.Metric {
		case ErrorRate:
			phi := st.Dispersion.phi()
			ev.Dispersion = phi
			ev.LogECritical = st.ErrCrit.logE(phi)
			ev.LogEWarning = st.ErrWarn.logE(phi)
			ev.LogENonInferiority = st.ErrOK.logE(phi)
			ev.TreatmentN, ev.ControlN = st.StepT.Requests, st.StepC.Requests
			ev.TreatmentValue = ratio(st.StepT.Errors, st.StepT.Requests)
			ev.ControlValue = ratio(st.StepC.Errors, st.StepC.Requests)
			ev.Estimate, ev.Lower, ev.Upper = rateRatio(st.StepT, st.StepC)
		case Latency:
			s2 := st.LatVar.value()
			crit := mixtureScale(e.alpha(Latency), 0.2, 0.1)
			ev.LogECritical = st.LatCrit.logE(s2, crit)
			ev.LogEWarning = st.LatWarn.logE(s2, mixtureScale(e.plan.AlphaWarning, 0.2, 0.1))
			ev.LogENonInferiority = st.LatOK.logE(s2, mixtureScale(1.0/advanceThreshold, 0.2, math.Log1p(g.Margin)))
			ev.TreatmentN, ev.ControlN = st.StepT.LatencyN, st.StepC.LatencyN
			ev.TreatmentValue = geoMean(st.StepT)
			ev.ControlValue = geoMean(st.StepC)
			ev.Estimate, ev.Lower, ev.Upper = shiftInterval(st.LatWarn, s2, crit)
			if st.TailThreshold > 0 {
				out = append(out, ev)
				ev = e.tailEvidence()
			}
		}
		if g.Metric == Conversion {
			ev = st.Conversions[g.Event].evidence(e, g, st.StepT, st.StepC)
		}
		out = append(out, ev)
	}
	if st.Success != nil {
		out = append(out, st.Success.successEvidence(e.plan.Success, st.StepT, st.StepC))
	}
	return out
}

// criticalLevels gives each guardrail its false-rollback level: its own Alpha, or an equal share
// of AlphaCritical with the other guardrails that have none (Bonferroni).
func criticalLevels(p Plan) map[Metric]float64 {
	sharing := 0
	for _, g := range p.Guardrails {
		if g.Alpha == 0 {
			sharing++
		}
	}
	levels := make(map[Metric]float64, len(p.Guardrails))
	for _, g := range p.Guardrails {
		m := g.Metric
		if m == Conversion {
			m = conversionMetric(g.Event)
		}
		levels[m] = g.Alpha
		if g.Alpha == 0 {
			levels[m] = p.AlphaCritical / float64(sharing)
		}
	}
	return levels
}

// Thresholds are the e-values at which a guardrail's tests act, to read its Evidence against:
// exp(LogECritical) ≥ Critical rolls back, exp(LogEWarning) ≥ Warning holds the step, and
// exp(LogENonInferiority) ≥ NonInferiority on every guardrail lets the step advance. A zero
// threshold means that test never acts on the metric.
type Thresholds struct {
	Critical, Warning, NonInferiority float64
}

// Thresholds returns the thresholds of a metric's tests. Slow requests are few, so a warning or
// a missing proof of non-inferiority on them alone would hold healthy rollouts often: the tail
// test only ever rolls back. The success metric is reported, never acted on.
func (e *Engine) Thresholds(m Metric) Thresholds {
	switch {
	case isSuccess(m):
		return Thresholds{}
	case m == LatencyTail:
		return Thresholds{Critical: 1 / e.alpha(m)}
	}
	return Thresholds{Critical: 1 / e.alpha(m), Warning: 1 / e.plan.AlphaWarning, NonInferiority: advanceThreshold}
}

// alpha is the level a guardrail's rollback test is held to. Latency's level is split 60/40
// between the log-latency and slow-tail tests once the tail threshold is known, so that adding
// the tail test costs the other guardrails nothing.
func (e *Engine) alpha(m Metric) float64 {
	switch {
	case m == LatencyTail:
		return 0.4 * e.levels[Latency]
	case m == Latency && e.st.TailThreshold > 0:
		return 0.6 * e.levels[Latency]
	}
	return e.levels[m]
}

// tailEvidence is the slow-tail test's evidence. It never blocks an advance: slow requests are
// too rare to show non-inferiority within a short step.
func (e *Engine) tailEvidence() Evidence {
	st := &e.st
	t, c := Arm{Requests: st.StepT.LatencyN, Errors: st.StepT.Exceed}, Arm{Requests: st.StepC.LatencyN, Errors: st.StepC.Exceed}
	ev := Evidence{Metric: LatencyTail, LogECritical: st.TailCrit.logE(1), LogEWarning: st.TailWarn.logE(1),
		TreatmentN: t.Requests, ControlN: c.Requests,
		TreatmentValue: ratio(t.Errors, t.Requests), ControlValue: ratio(c.Errors, c.Requests)}
	ev.Estimate, ev.Lower, ev.Upper = rateRatio(t, c)
	return ev
}

func ratio(x, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(x) / float64(n)
}

func geoMean(a Arm) float64 {
	if a.LatencyN == 0 {
		return 0
	}
	return math.Exp(a.SumLog / float64(a.LatencyN))
}

// rateRatio is the relative change of the error rate, treatment against control, with a 95 %
// interval on the log scale (0.5 added to zero counts).
func rateRatio(t, c Arm) (est, lo, hi float64) {
	if t.Requests == 0 || c.Requests == 0 {
		return 0, 0, 0
	}
	xt, xc := float64(t.Errors), float64(c.Errors)
	if xt == 0 || xc == 0 {
		xt, xc = xt+0.5, xc+0.5
	}
	l := math.Log(xt/float64(t.Requests)) - math.Log(xc/float64(c.Requests))
	h := 1.96 * math.Sqrt(1/xt+1/xc)
	return math.Expm1(l), math.Expm1(l - h), math.Expm1(l + h)
}

// shiftInterval is the relative latency change with its anytime-valid 95 % interval from the
// two-sided normal-mixture confidence sequence (DECISION.md 2.5 (a)).
func shiftInterval(p meanProcess, s2, tau float64) (est, lo, hi float64) {
	if p.B == 0 || s2 <= 0 {
		return 0, 0, 0
	}
	I := p.B / s2
	delta := p.A / p.B
	t2 := tau * tau
	h := math.Sqrt((1 + t2*I) / (t2 * I * I) * (math.Log(1+t2*I) + 2*math.Log(1/0.05)))
	return math.Expm1(delta), math.Expm1(delta - h), math.Expm1(delta + h)
}

// String summarises a decision for logs and audit comments.
func (d Decision) String() string {
	s := fmt.Sprintf("%s at %g%% (%s)", d.Action, d.Share, d.Reason)
	for _, ev := range d.Evidence {
		if ev.TreatmentN == 0 {
			continue
		}
		s += fmt.Sprintf("; %s %+.1f%% [%+.1f%%, %+.1f%%] over %d treatment / %d control",
			ev.Metric, 100*ev.Estimate, 100*ev.Lower, 100*ev.Upper, ev.TreatmentN, ev.ControlN)
	}
	return s
}
