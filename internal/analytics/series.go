// Package analytics turns stored telemetry aggregates into what people read: a flag's
// per-variant time series (exposures, unique units, requests, errors, latency quantiles,
// tracked metrics) and the ranking of flags by how strongly one variant carries excess errors,
// with the flag changes around it. BuildSeries and Correlate are pure computation over
// aggregates the caller has read, with no clock but the times passed in; ReadSeries and
// ReadCorrelation read those aggregates and audit events for them, for every transport alike.
//
// Aggregates of one variant merge whatever flag version or window they come from: counts and
// sums add, latency sketches and unit HyperLogLogs merge exactly, so quantiles and unique units
// over a range are those of the range, never sums or averages of per-window figures.
package analytics

import (
	"cmp"
	"slices"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/stats"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Bounds of a series. Telemetry windows can be as short as a second (rollouts run on
// one-second ticks), so a series may be that fine; without a step asked for, points are a
// minute or longer (DefaultStep).
const (
	MinStep   = time.Second
	MaxPoints = 2000
	// defaultMinStep is the step of DefaultStep over ranges short enough for MaxPoints.
	defaultMinStep = time.Minute
)

// SeriesQuery selects a series.
type SeriesQuery struct {
	// From and To bound the windows, by their start: [From, To).
	From, To time.Time
	// Step is the length of a point, at least MinStep. Windows are merged into the point
	// holding their start, so a step shorter than the stored resolution leaves gaps.
	Step time.Duration
	// Metric is a tracked metric to report besides exposures and requests; "" for none.
	Metric string
	// Variants are the flag's variants, in order: each gets a series, with data or not.
	// Variants found only in the data (since removed from the flag) follow, by name.
	Variants []string
}

// Validate checks the query. Errors name the parameter at fault (from, to, step, metric).
func (q SeriesQuery) Validate() error {
	if err := CheckRange(q.From, q.To); err != nil {
		return err
	}
	switch {
	case q.Step < MinStep || q.Step%time.Second != 0:
		return domain.FieldErrorf("step", "expected whole seconds, at least %s; got %s", MinStep, q.Step)
	case points(q.From, q.To, q.Step) > MaxPoints:
		return domain.FieldErrorf("step", "%s over %s makes %d points, more than %d: use a step of at least %s",
			q.Step, q.To.Sub(q.From), points(q.From, q.To, q.Step), MaxPoints, leastStep(q.From, q.To))
	case len(q.Metric) > 0 && q.Metric[0] == '$':
		return domain.FieldErrorf("metric", "expected a tracked metric's name; names starting with $ are built in, got %q", q.Metric)
	}
	return nil
}

// CheckRange checks that from is before to, naming from.
func CheckRange(from, to time.Time) error {
	if !from.Before(to) {
		return domain.FieldErrorf("from", "must be before to (%s), got %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return nil
}

// DefaultStep is the step of a series over [from, to) when none is asked for: a minute, or the
// shortest whole number of minutes that keeps the series within MaxPoints.
func DefaultStep(from, to time.Time) time.Duration {
	step := defaultMinStep
	if n := points(from, to, step); n > MaxPoints {
		step *= time.Duration((n + MaxPoints - 1) / MaxPoints)
	}
	return step
}

// leastStep is the shortest whole-second step that keeps a series over [from, to) within
// MaxPoints.
func leastStep(from, to time.Time) time.Duration {
	return max(MinStep, time.Duration((points(from, to, time.Second)+MaxPoints-1)/MaxPoints)*time.Second)
}

// points is the number of steps that cover [from, to).
func points(from, to time.Time, step time.Duration) int64 {
	return int64((to.Sub(from) + step - 1) / step)
}

// Series is a flag's telemetry in one environment, per variant.
type Series struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	StepSeconds int64     `json:"stepSeconds"`
	Metric      string    `json:"metric,omitempty"`
	// LastEvaluated is the end of the flag's latest window with exposures in the environment,
	// in or out of the range; nil when it was never evaluated. BuildSeries leaves it to the
	// caller, who reads it from the store.
	LastEvaluated *time.Time      `json:"lastEvaluated,omitempty"`
	Variants      []VariantSeries `json:"variants"`
}

// VariantSeries is one variant's points and its total over the whole range.
type VariantSeries struct {
	Variant string  `json:"variant"`
	Points  []Point `json:"points"`
	Total   Stats   `json:"total"`
}

// Point is the telemetry of the windows starting in [Time, Time+step).
type Point struct {
	Time time.Time `json:"time"`
	Stats
}

// Stats is the merged telemetry of one variant over some windows.
type Stats struct {
	Evaluations int64 `json:"evaluations"`
	// Units estimates the distinct units exposed (HyperLogLog; within about 2 %).
	Units    int64 `json:"units"`
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	// ErrorRate is Errors / Requests; absent without requests.
	ErrorRate *float64 `json:"errorRate,omitempty"`
	// LatencyMs are request duration quantiles (within 1 %); absent without durations.
	LatencyMs *Quantiles `json:"latencyMs,omitempty"`
	// Metric is the tracked metric's, when the series has one.
	Metric *MetricStats `json:"metric,omitempty"`
}

// Quantiles of a distribution.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// MetricStats summarises a tracked metric's observations.
type MetricStats struct {
	Count int64   `json:"count"`
	Sum   float64 `json:"sum"`
	// Mean is Sum / Count; absent without observations.
	Mean *float64 `json:"mean,omitempty"`
	// Units estimates the distinct units that reported the metric.
	Units int64 `json:"units"`
}

// BuildSeries merges one flag's aggregates in one environment into q's series. Aggregates of
// other metrics, or whose window starts outside [q.From, q.To), are left out.
func BuildSeries(aggs []domain.TelemetryAggregate, q SeriesQuery) (Series, error) {
	if err := q.Validate(); err != nil {
		return Series{}, err
	}
	n := int(points(q.From, q.To, q.Step))
	byVariant := map[string]*variantAcc{}
	variant := func(name string) *variantAcc {
		v := byVariant[name]
		if v == nil {
			v = &variantAcc{points: make([]acc, n)}
			byVariant[name] = v
		}
		return v
	}
	for _, name := range q.Variants {
		variant(name)
	}
	for _, d := range aggs {
		if d.Window.Before(q.From) || !d.Window.Before(q.To) || !q.reports(d.Metric) {
			continue
		}
		a, err := stats.FromDomain(d)
		if err != nil {
			return Series{}, unreadable(d, err)
		}
		v := variant(d.Variant)
		i := int(d.Window.Sub(q.From) / q.Step)
		if err := v.points[i].add(d.Metric, a); err != nil {
			return Series{}, unreadable(d, err)
		}
		if err := v.total.add(d.Metric, a); err != nil {
			return Series{}, unreadable(d, err)
		}
	}

	s := Series{From: q.From, To: q.To, StepSeconds: int64(q.Step / time.Second), Metric: q.Metric, Variants: []VariantSeries{}}
	for _, name := range variantOrder(q.Variants, byVariant) {
		v := byVariant[name]
		vs := VariantSeries{Variant: name, Points: make([]Point, n), Total: v.total.stats(q.Metric != "")}
		for i := range v.points {
			vs.Points[i] = Point{Time: q.From.Add(time.Duration(i) * q.Step), Stats: v.points[i].stats(q.Metric != "")}
		}
		s.Variants = append(s.Variants, vs)
	}
	return s, nil
}

// reports says whether the series has room for a metric's aggregates.
func (q SeriesQuery) reports(metric string) bool {
	return metric == "" || metric == telemetry.RequestMetric || (q.Metric != "" && metric == q.Metric)
}

// variantOrder lists the declared variants, then the others found in the data, by name.
func variantOrder[V any](declared []string, found map[string]V) []string {
	out := slices.Clone(declared)
	var extra []string
	for name := range found {
		if !slices.Contains(declared, name) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	return append(out, extra...)
}

// unreadable says which stored aggregate could not be read.
func unreadable(d domain.TelemetryAggregate, err error) error {
	return domain.Errorf(domain.CodeInternal, "telemetry of flag %s variant %s metric %q window %s: %v",
		d.Flag, d.Variant, d.Metric, d.Window.Format(time.RFC3339), err)
}

type variantAcc struct {
	points []acc
	total  acc
}

// acc accumulates a variant's exposures, requests and tracked metric.
type acc struct {
	exposures, requests, metric stats.Aggregate
}

func (a *acc) add(metric string, o stats.Aggregate) error {
	switch metric {
	case "":
		return a.exposures.Merge(o)
	case telemetry.RequestMetric:
		return a.requests.Merge(o)
	}
	return a.metric.Merge(o)
}

func (a *acc) stats(withMetric bool) Stats {
	s := Stats{
		Evaluations: a.exposures.Evaluations, Units: a.exposures.UnitCount(),
		Requests: a.requests.Count, Errors: a.requests.Errors,
	}
	if s.Requests > 0 {
		s.ErrorRate = ratio(float64(s.Errors), float64(s.Requests))
	}
	if p50, ok := a.requests.Quantile(0.5); ok {
		p95, _ := a.requests.Quantile(0.95)
		p99, _ := a.requests.Quantile(0.99)
		s.LatencyMs = &Quantiles{P50: p50, P95: p95, P99: p99}
	}
	if withMetric {
		m := &MetricStats{Count: a.metric.Count, Sum: a.metric.Sum, Units: a.metric.UnitCount()}
		if m.Count > 0 {
			m.Mean = ratio(m.Sum, float64(m.Count))
		}
		s.Metric = m
	}
	return s
}

func ratio(a, b float64) *float64 {
	r := a / b
	return &r
}

// FlagEvaluated is when a flag was last evaluated in an environment.
type FlagEvaluated struct {
	Flag string `json:"flag"`
	// LastEvaluated is the end of the latest window with exposures; absent when never.
	LastEvaluated *time.Time `json:"lastEvaluated,omitempty"`
	// Unknown marks a flag SDKs evaluated that the project does not have (deleted, or never
	// created): code still asks for it.
	Unknown bool `json:"unknown,omitempty"`
}

// Evaluated lists every flag of a project with when it was last evaluated (last, from the
// store), never-evaluated ones included, and the evaluated flags the project does not have;
// ordered by flag key.
func Evaluated(flags []string, last map[string]time.Time) []FlagEvaluated {
	out := make([]FlagEvaluated, 0, len(flags))
	known := make(map[string]bool, len(flags))
	for _, f := range flags {
		known[f] = true
		e := FlagEvaluated{Flag: f}
		if t, ok := last[f]; ok {
			e.LastEvaluated = &t
		}
		out = append(out, e)
	}
	for f, t := range last {
		if !known[f] {
			out = append(out, FlagEvaluated{Flag: f, LastEvaluated: &t, Unknown: true})
		}
	}
	slices.SortFunc(out, func(a, b FlagEvaluated) int { return cmp.Compare(a.Flag, b.Flag) })
	return out
}
