// Package rollout is the autopilot's decision engine (DECISION.md): it reads per-window
// telemetry of a guarded rollout, treatment against the concurrent control, and decides at
// each tick to continue, advance, hold, pause, freeze or roll back. It is pure: no I/O, the
// clock is passed in, and its whole state is a value that can be stored and restored.
package rollout

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Metric names a guardrail metric.
type Metric string

const (
	// ErrorRate is the share of requests that failed, compared as a ratio of rates.
	ErrorRate Metric = "error_rate"
	// Latency is request duration, compared as a shift of mean log-latency.
	Latency Metric = "latency"
	// Conversion is the share of exposed units that tracked an event (Guardrail.Event), such
	// as a completed checkout; a drop is harm.
	Conversion Metric = "conversion"
	// LatencyTail is the latency guardrail's second test: the share of requests slower than
	// a high quantile of the control's latency. It is not configured on its own.
	LatencyTail Metric = "latency_tail"
)

// Guardrail is a metric the rollout must not make worse.
type Guardrail struct {
	Metric Metric `json:"metric"`
	// Tolerance is the harm allowed before rolling back: for error_rate a relative increase
	// of the rate (0.05 allows treatment 5 % above control), for latency a relative increase
	// of the typical (geometric-mean) latency. 0 rolls back on any proven harm.
	Tolerance float64 `json:"tolerance"`
	// Margin is the increase a step must rule out before advancing early (non-inferiority);
	// default 0.5 for error_rate (rate ratio 1.5) and 0.2 for latency.
	Margin float64 `json:"margin,omitempty"`
	// Event is the tracked metric a conversion guardrail counts.
	Event string `json:"event,omitempty"`
	// Alpha, when set, is this guardrail's own false-rollback level, outside the plan's
	// AlphaCritical: an experiment's conversion guardrail is usually held to a one-sided 0.05
	// (DECISION.md 2.6), where a rollout's guardrails share 0.01. Guardrails without it split
	// AlphaCritical equally, so the chance of rolling back a harmless rollout is at most the
	// sum of the guardrails' own levels plus AlphaCritical when any guardrail shares it.
	Alpha float64 `json:"alpha,omitempty"`
	// MDE is, for a conversion guardrail, the relative drop beyond the tolerance its tests are
	// tuned to detect soonest: the mixture is fitted to the sample a fixed-horizon test needs
	// to find that drop with 80 % power (default 0.1). An experiment sets its planned minimum
	// detectable effect.
	MDE float64 `json:"mde,omitempty"`
}

// Success is the metric a rollout hopes to improve: the share of exposed units that tracked
// Event. It is reported with an anytime-valid interval and does not change decisions.
type Success struct {
	Event string `json:"event"`
	// MDE is the relative lift the interval is tuned to detect (default 0.05).
	MDE float64 `json:"mde,omitempty"`
}

// Policy says what to do when a step stays inconclusive up to its cap.
type Policy string

const (
	AdvanceWhenInconclusive Policy = "advance"
	WaitWhenInconclusive    Policy = "wait"
)

// Plan is a guarded rollout's configuration.
type Plan struct {
	// Steps are the treatment shares in percent, increasing, ending at 100.
	Steps []float64 `json:"steps"`
	// Tick is how often the controller decides; one window of telemetry per tick.
	Tick Duration `json:"tick"`
	// MinSoak is the least time spent in a step before advancing.
	MinSoak Duration `json:"minSoak"`
	// StepCap is the most time spent in a step while evidence stays inconclusive.
	StepCap      Duration    `json:"stepCap"`
	Inconclusive Policy      `json:"inconclusive"`
	Guardrails   []Guardrail `json:"guardrails"`
	// AlphaCritical bounds the chance of rolling back a harmless rollout (family-wise over
	// the guardrails); AlphaWarning the chance of a warning hold, per guardrail.
	AlphaCritical float64 `json:"alphaCritical"`
	AlphaWarning  float64 `json:"alphaWarning"`
	// WarningHold is how long a warning may hold a step before a person is asked to decide.
	WarningHold Duration `json:"warningHold"`
	// Holdback, when set (percent, at most 20), keeps that share on the control for one more
	// step before 100 %: a bake period with a concurrent control still watching.
	Holdback float64 `json:"holdback,omitempty"`
	// Success is the optional success metric.
	Success *Success `json:"success,omitempty"`
}

// DefaultPlan is DECISION.md's defaults: 1 → 5 → 20 → 50 → 100 %, one-minute ticks, ten-minute
// soak, thirty-minute cap, error-rate and latency guardrails with no tolerated harm.
func DefaultPlan() Plan {
	return Plan{
		Steps:         []float64{1, 5, 20, 50, 100},
		Tick:          Duration(time.Minute),
		MinSoak:       Duration(10 * time.Minute),
		StepCap:       Duration(30 * time.Minute),
		Inconclusive:  AdvanceWhenInconclusive,
		Guardrails:    []Guardrail{{Metric: ErrorRate}, {Metric: Latency}},
		AlphaCritical: 0.01,
		// 0.05 rather than DECISION.md's 0.10 per guardrail: with the two default guardrails
		// a healthy rollout would otherwise be held by a warning in about one run in ten.
		AlphaWarning: 0.05,
		WarningHold:  Duration(30 * time.Minute),
	}
}

// WithDefaults fills the zero fields of p from DefaultPlan.
func (p Plan) WithDefaults() Plan {
	d := DefaultPlan()
	if len(p.Steps) == 0 {
		p.Steps = d.Steps
	}
	if p.Tick == 0 {
		p.Tick = d.Tick
	}
	if p.MinSoak == 0 {
		p.MinSoak = d.MinSoak
	}
	if p.StepCap == 0 {
		p.StepCap = d.StepCap
	}
	if p.Inconclusive == "" {
		p.Inconclusive = d.Inconclusive
	}
	if p.Guardrails == nil {
		p.Guardrails = d.Guardrails
	}
	if p.AlphaCritical == 0 {
		p.AlphaCritical = d.AlphaCritical
	}
	if p.AlphaWarning == 0 {
		p.AlphaWarning = d.AlphaWarning
	}
	if p.WarningHold == 0 {
		p.WarningHold = d.WarningHold
	}
	p.Steps = slices.Clone(p.Steps)
	if bake := 100 - p.Holdback; p.Holdback > 0 && p.Holdback <= 20 && len(p.Steps) > 1 && p.Steps[len(p.Steps)-2] < bake {
		p.Steps = slices.Insert(p.Steps, len(p.Steps)-1, bake)
	}
	p.Guardrails = slices.Clone(p.Guardrails)
	for i := range p.Guardrails {
		g := &p.Guardrails[i]
		if g.Margin == 0 {
			g.Margin = map[Metric]float64{ErrorRate: 0.5, Latency: 0.2, Conversion: 0.1}[g.Metric]
		}
		if g.MDE == 0 && g.Metric == Conversion {
			g.MDE = 0.1
		}
	}
	return p
}

// PlanError is a plan's invalid field: Field is its path in the plan ("steps[1]",
// "guardrails[0].tolerance").
type PlanError struct {
	Field, Message string
}

func (e *PlanError) Error() string { return e.Field + ": " + e.Message }

func planErrorf(field, format string, args ...any) *PlanError {
	return &PlanError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate reports the first invalid field of a plan (after WithDefaults) as a *PlanError.
func (p Plan) Validate() error {
	for i, s := range p.Steps {
		if !(s > 0 && s <= 100) || math.IsNaN(s) {
			return planErrorf(fmt.Sprintf("steps[%d]", i), "%v is not a percentage in (0, 100]", s)
		}
		if i > 0 && s <= p.Steps[i-1] {
			return planErrorf(fmt.Sprintf("steps[%d]", i), "%v does not increase on the previous step %v", s, p.Steps[i-1])
		}
	}
	if len(p.Steps) == 0 || p.Steps[len(p.Steps)-1] != 100 {
		return planErrorf("steps", "the last step must be 100")
	}
	switch {
	case p.Tick.D() < time.Second:
		return planErrorf("tick", "%v is shorter than one second", p.Tick)
	case p.MinSoak < p.Tick:
		return planErrorf("minSoak", "%v is shorter than the tick %v", p.MinSoak, p.Tick)
	case p.StepCap < p.MinSoak:
		return planErrorf("stepCap", "%v is shorter than minSoak %v", p.StepCap, p.MinSoak)
	case p.Inconclusive != AdvanceWhenInconclusive && p.Inconclusive != WaitWhenInconclusive:
		return planErrorf("inconclusive", "%q is not one of advance, wait", p.Inconclusive)
	case !(p.AlphaCritical > 0 && p.AlphaCritical < 0.5):
		return planErrorf("alphaCritical", "%v is not in (0, 0.5)", p.AlphaCritical)
	case !(p.AlphaWarning > 0 && p.AlphaWarning < 0.5):
		return planErrorf("alphaWarning", "%v is not in (0, 0.5)", p.AlphaWarning)
	case p.WarningHold < 0:
		return planErrorf("warningHold", "%v is negative", p.WarningHold)
	case !(p.Holdback >= 0 && p.Holdback <= 20):
		return planErrorf("holdback", "%v is not a percentage in [0, 20]", p.Holdback)
	case p.Success != nil && p.Success.Event == "":
		return planErrorf("success.event", "required")
	case p.Success != nil && !(p.Success.MDE >= 0 && p.Success.MDE < 1):
		return planErrorf("success.mde", "%v is not a relative lift in (0, 1)", p.Success.MDE)
	}
	seen := map[Guardrail]bool{}
	for i, g := range p.Guardrails {
		if g.Metric != ErrorRate && g.Metric != Latency && g.Metric != Conversion {
			return planErrorf(fmt.Sprintf("guardrails[%d].metric", i), "%q is not one of error_rate, latency, conversion", g.Metric)
		}
		if (g.Metric == Conversion) != (g.Event != "") {
			return planErrorf(fmt.Sprintf("guardrails[%d].event", i), "a conversion guardrail, and only one, names its tracked event")
		}
		if seen[Guardrail{Metric: g.Metric, Event: g.Event}] {
			return planErrorf(fmt.Sprintf("guardrails[%d].metric", i), "%q appears twice", g.Metric)
		}
		seen[Guardrail{Metric: g.Metric, Event: g.Event}] = true
		if g.Metric == Conversion && g.Tolerance >= 1 {
			return planErrorf(fmt.Sprintf("guardrails[%d].tolerance", i), "%v is not a relative drop in [0, 1)", g.Tolerance)
		}
		if !(g.Tolerance >= 0 && g.Tolerance < 10) {
			return planErrorf(fmt.Sprintf("guardrails[%d].tolerance", i), "%v is not in [0, 10)", g.Tolerance)
		}
		if !(g.Margin > g.Tolerance && g.Margin < 10) {
			return planErrorf(fmt.Sprintf("guardrails[%d].margin", i), "%v must exceed the tolerance %v (and be under 10)", g.Margin, g.Tolerance)
		}
		if !(g.Alpha >= 0 && g.Alpha < 0.5) {
			return planErrorf(fmt.Sprintf("guardrails[%d].alpha", i), "%v is not a level in (0, 0.5), or 0 to share alphaCritical", g.Alpha)
		}
		if g.MDE != 0 && g.Metric != Conversion {
			return planErrorf(fmt.Sprintf("guardrails[%d].mde", i), "only a conversion guardrail takes a minimum detectable effect")
		}
		if g.Metric == Conversion && !(g.MDE > 0 && g.MDE < 1) {
			return planErrorf(fmt.Sprintf("guardrails[%d].mde", i), "%v is not a relative drop in (0, 1)", g.MDE)
		}
	}
	return nil
}
