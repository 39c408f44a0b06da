// Package gate evaluates release gates: objectives measured over a flag's telemetry in a time
// window, against static thresholds and thresholds learned from the gate's earlier passing
// evaluations (DECISION.md 2.12, "Auto-adaptive baselines"). It is pure: the caller reads the
// telemetry and the history.
package gate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/stats"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Metrics lists the measurable metrics; "metric:<name>" measures a tracked metric's mean.
var Metrics = []string{"error_rate", "latency_p50", "latency_p95", "latency_p99", "throughput"}

// DefaultDirection is the bad direction of a metric: "max" when high values are bad.
func DefaultDirection(metric string) string {
	if metric == "throughput" || strings.HasPrefix(metric, "metric:") {
		return "min"
	}
	return "max"
}

// ValidMetric reports whether a metric can be measured.
func ValidMetric(metric string) bool {
	name, tracked := strings.CutPrefix(metric, "metric:")
	return slices.Contains(Metrics, metric) || (tracked && name != "" && !strings.HasPrefix(name, "$"))
}

// Measure returns the objective's value over aggs, a flag's aggregates of [from, to), and
// false when the window holds no data for it.
func Measure(o domain.Objective, aggs []domain.TelemetryAggregate, from, to time.Time) (float64, bool, error) {
	metric := telemetry.RequestMetric
	if name, ok := strings.CutPrefix(o.Metric, "metric:"); ok {
		metric = name
	}
	var sum stats.Aggregate
	for _, a := range aggs {
		if a.Metric != metric || (o.Variant != "" && a.Variant != o.Variant) || a.Window.Before(from) || !a.Window.Before(to) {
			continue
		}
		x, err := stats.FromDomain(a)
		if err != nil {
			return 0, false, err
		}
		if err := sum.Merge(x); err != nil {
			return 0, false, err
		}
	}
	if sum.Count == 0 {
		return 0, false, nil
	}
	switch o.Metric {
	case "error_rate":
		return float64(sum.Errors) / float64(sum.Count), true, nil
	case "throughput":
		return float64(sum.Count) / to.Sub(from).Seconds(), true, nil
	case "latency_p50", "latency_p95", "latency_p99":
		q := map[string]float64{"latency_p50": 0.5, "latency_p95": 0.95, "latency_p99": 0.99}[o.Metric]
		v, ok := sum.Quantile(q)
		return v, ok, nil
	default:
		return sum.Sum / float64(sum.Count), true, nil
	}
}

// minLearned is the number of earlier passing evaluations below which a gate is still
// learning: with fewer, a prediction interval is too wide to mean anything.
const minLearned = 5

// Thresholds returns the warning and fail thresholds of an objective: its static ones,
// tightened by learned ones when it is adaptive and has history (values of earlier passing
// evaluations). Learned thresholds are one-sided prediction intervals on a variance-stabilising
// scale (logit for rates, log otherwise) at 95 % (warning) and 99 % (fail), never closer to the
// typical value than 10 %.
func Thresholds(o domain.Objective, history []float64) (warn, fail *float64, learned int) {
	warn, fail = o.Warning, o.Fail
	if !o.Adaptive || len(history) < minLearned {
		return warn, fail, 0
	}
	to, from := math.Log, math.Exp
	if o.Metric == "error_rate" {
		to, from = logit, logistic
	}
	n := float64(len(history))
	var mean, ss float64
	for _, v := range history {
		mean += to(clampPositive(v)) / n
	}
	for _, v := range history {
		d := to(clampPositive(v)) - mean
		ss += d * d
	}
	sd := math.Sqrt(ss / (n - 1))
	sign := 1.0
	if o.Direction == "min" {
		sign = -1
	}
	typical := from(mean)
	bound := func(t float64) float64 {
		v := from(mean + sign*t*sd*math.Sqrt(1+1/n))
		floor := typical * (1 + sign*0.10)
		if sign*(v-floor) < 0 {
			v = floor
		}
		return v
	}
	stricter := func(static *float64, learned float64) *float64 {
		if static != nil && sign*(*static-learned) < 0 {
			return static
		}
		return &learned
	}
	df := len(history) - 1
	return stricter(o.Warning, bound(tQuantile(df, 0.95))), stricter(o.Fail, bound(tQuantile(df, 0.99))), len(history)
}

func clampPositive(v float64) float64 { return math.Max(v, 1e-9) }

func logit(p float64) float64    { p = math.Min(p, 1-1e-9); return math.Log(p / (1 - p)) }
func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Check judges a measured value against the thresholds.
func Check(o domain.Objective, value float64, measured bool, history []float64) domain.Checked {
	c := domain.Checked{Name: o.Name, Metric: o.Metric}
	c.Warning, c.Fail, c.Learned = Thresholds(o, history)
	if !measured {
		c.Result = domain.GateNoData
		return c
	}
	c.Value = &value
	beyond := func(t *float64) bool {
		if t == nil {
			return false
		}
		if o.Direction == "min" {
			return value < *t
		}
		return value > *t
	}
	switch {
	case beyond(c.Fail):
		c.Result = domain.GateFail
	case beyond(c.Warning):
		c.Result = domain.GateWarning
	default:
		c.Result = domain.GatePass
	}
	return c
}

// Overall is a gate's result from its objectives': any failure (or missing data) fails it, any
// warning warns.
func Overall(checked []domain.Checked) domain.GateResult {
	out := domain.GatePass
	for _, c := range checked {
		switch c.Result {
		case domain.GateFail, domain.GateNoData:
			return domain.GateFail
		case domain.GateWarning:
			out = domain.GateWarning
		}
	}
	return out
}

// Validate checks a gate's objectives, naming the bad field.
func Validate(g domain.Gate) error {
	if len(g.Objectives) == 0 {
		return domain.FieldErrorf("objectives", "at least one objective is required")
	}
	seen := map[string]bool{}
	for i, o := range g.Objectives {
		path := fmt.Sprintf("objectives[%d]", i)
		switch {
		case o.Name == "" || len(o.Name) > 100:
			return domain.FieldErrorf(path+".name", "required, at most 100 bytes")
		case seen[o.Name]:
			return domain.FieldErrorf(path+".name", "%q appears twice", o.Name)
		case !ValidMetric(o.Metric):
			return domain.FieldErrorf(path+".metric", "%q is not one of %s or metric:<name>", o.Metric, strings.Join(Metrics, ", "))
		case o.Direction != "max" && o.Direction != "min":
			return domain.FieldErrorf(path+".direction", "%q is not one of max, min", o.Direction)
		case o.Warning == nil && o.Fail == nil && !o.Adaptive:
			return domain.FieldErrorf(path, "needs a warning or fail threshold, or adaptive")
		}
		for _, t := range []struct {
			name string
			v    *float64
		}{{"warning", o.Warning}, {"fail", o.Fail}} {
			if t.v != nil && (math.IsNaN(*t.v) || math.IsInf(*t.v, 0) || *t.v < 0) {
				return domain.FieldErrorf(path+"."+t.name, "expected a finite number, at least 0")
			}
		}
		if o.Warning != nil && o.Fail != nil {
			if (o.Direction == "max" && *o.Warning > *o.Fail) || (o.Direction == "min" && *o.Warning < *o.Fail) {
				return domain.FieldErrorf(path+".warning", "must be reached before the fail threshold %v", *o.Fail)
			}
		}
		seen[o.Name] = true
	}
	return nil
}

// tQuantile is Student's t quantile at p (0.95 or 0.99) with df degrees of freedom.
func tQuantile(df int, p float64) float64 {
	t95 := [...]float64{6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753,
		1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697}
	t99 := [...]float64{31.821, 6.965, 4.541, 3.747, 3.365, 3.143, 2.998, 2.896, 2.821, 2.764, 2.718, 2.681, 2.650, 2.624, 2.602,
		2.583, 2.567, 2.552, 2.539, 2.528, 2.518, 2.508, 2.500, 2.492, 2.485, 2.479, 2.473, 2.467, 2.462, 2.457}
	table := t95
	if p > 0.95 {
		table = t99
	}
	return table[min(max(df, 1), len(table))-1]
}
