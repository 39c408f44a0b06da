package ui

import (
	"cmp"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/analytics"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/svgchart"
)

// The analytics page shows one flag's telemetry in an environment over a recent range, per
// variant, and below it the environment's error correlation over the same range: which flag's
// variant carries excess errors, beside the flag changes of that time.

// analyticsRanges are the ranges the page offers; defaultRange is shown unless another is
// asked for.
var analyticsRanges = []struct {
	Name string
	Span time.Duration
}{{"15m", 15 * time.Minute}, {"1h", time.Hour}, {"6h", 6 * time.Hour}, {"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}}

const defaultRange = "1h"

// maxChartPoints bounds the points of a chart; steps are chosen to give between about half
// that and that many.
const maxChartPoints = 120

// niceSteps are the steps a chart may have, shortest first: each divides the next few, so
// points start on round times.
var niceSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// stepFor returns the step of a chart over span: the shortest nice step that gives at most
// maxPoints points and is a whole number of telemetry windows (a shorter one would show
// windows as gaps, an uneven one would give points unequal numbers of windows).
func stepFor(span, window time.Duration, maxPoints int) time.Duration {
	window = max(window, analytics.MinStep)
	n := time.Duration(maxPoints)
	for _, s := range niceSteps {
		if s >= window && s%window == 0 && span/s <= n {
			return s
		}
	}
	return window * ((span + window*n - 1) / (window * n))
}

type analyticsPage struct {
	Since  string
	Ranges []string
	Flags  []domain.Flag
	// Flag is the flag shown; zero when the project has none.
	Flag domain.Flag
	// NoTelemetry is set when the server keeps no telemetry.
	NoTelemetry   bool
	From, To      time.Time
	Step          time.Duration
	LastEvaluated time.Time
	Charts        []chart
	Totals        []variantTotal
	Report        analytics.Report
	// RatioChart shows the ranked flags' rate ratios with their intervals.
	RatioChart template.HTML
}

// variantTotal is a variant's totals over the range, with the colour of its charts' lines.
type variantTotal struct {
	analytics.VariantSeries
	Class string
}

// seriesClass is the colour class of the i-th variant on every chart of the page.
func seriesClass(i int) string { return "s" + strconv.Itoa(i%6) }

// Refresh is how often, in seconds, the page's figures are fetched again: about a point.
func (p analyticsPage) Refresh() int {
	return int(min(max(p.Step, 10*time.Second), 5*time.Minute) / time.Second)
}

func (u *UI) analytics(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	pd, err := u.projectPage(r, "analytics", "Analytics")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	body := analyticsPage{Since: cmp.Or(q.Get("since"), defaultRange)}
	var span time.Duration
	for _, rg := range analyticsRanges {
		body.Ranges = append(body.Ranges, rg.Name)
		if rg.Name == body.Since {
			span = rg.Span
		}
	}
	if span == 0 {
		return domain.FieldErrorf("since", "expected one of 15m, 1h, 6h, 24h or 7d, got %q", body.Since)
	}
	if body.Flags, err = u.svc.AllFlags(ctx, pd.Project); err != nil {
		return err
	}
	if u.telemetry == nil || pd.Env == "" || len(body.Flags) == 0 {
		body.NoTelemetry = u.telemetry == nil
		u.render(w, r, http.StatusOK, "analytics", pd, body)
		return nil
	}
	last, err := u.telemetry.LastEvaluated(ctx, pd.Project, pd.Env)
	if err != nil {
		return err
	}
	if body.Flag, err = chosenFlag(body.Flags, q.Get("flag"), last); err != nil {
		return err
	}
	pd.Title = "Analytics of " + body.Flag.Key

	body.Step = stepFor(span, u.window, maxChartPoints)
	body.To = u.now().UTC().Truncate(body.Step).Add(body.Step) // the current point included
	body.From = body.To.Add(-span)
	series, err := analytics.ReadSeries(ctx, u.telemetry, body.Flag, pd.Env, analytics.SeriesQuery{From: body.From, To: body.To, Step: body.Step})
	if err != nil {
		return err
	}
	if series.LastEvaluated != nil {
		body.LastEvaluated = *series.LastEvaluated
	}
	body.Report, err = analytics.ReadCorrelation(ctx, u.telemetry, u.svc, pd.Project, pd.Env, body.From, body.To)
	if err != nil {
		return err
	}
	for i, v := range series.Variants {
		body.Totals = append(body.Totals, variantTotal{VariantSeries: v, Class: seriesClass(i)})
	}
	body.Charts = seriesCharts(series, changeMarkers(body.Report.Changes, body.Flag.Key, body.From, body.To, body.Step))
	body.RatioChart = ratioChart(body.Report)
	u.render(w, r, http.StatusOK, "analytics", pd, body)
	return nil
}

// chosenFlag is the flag asked for, or by default the one evaluated last (the first when none
// was).
func chosenFlag(flags []domain.Flag, key string, last map[string]time.Time) (domain.Flag, error) {
	if key != "" {
		i := slices.IndexFunc(flags, func(f domain.Flag) bool { return f.Key == key })
		if i < 0 {
			return domain.Flag{}, domain.NotFound("flag", key)
		}
		return flags[i], nil
	}
	best := flags[0]
	for _, f := range flags {
		if last[f.Key].After(last[best.Key]) {
			best = f
		}
	}
	return best, nil
}

// changeMarkers marks the changes of one flag within [from, to) on its charts, one marker a
// chart point: changes a step apart would draw their labels over each other.
func changeMarkers(changes []analytics.Change, flag string, from, to time.Time, step time.Duration) []svgchart.Marker {
	var out []svgchart.Marker
	count := 0
	for _, c := range changes {
		if c.Flag != flag || c.Time.Before(from) || !c.Time.Before(to) {
			continue
		}
		t := c.Time.Truncate(step)
		if n := len(out); n > 0 && out[n-1].T.Equal(t) {
			count++
			out[n-1].Label = strconv.Itoa(count) + " changes"
		} else {
			count = 1
			out = append(out, svgchart.Marker{T: t, Label: strings.TrimPrefix(c.Action, "flag.") + " · " + cmp.Or(c.Actor.Name, c.Actor.Kind)})
		}
		if c.Actor.Kind == domain.ActorAutopilot {
			out[len(out)-1].Class = "rollback"
		}
	}
	return out
}

// seriesCharts draws a flag's series: one line per variant on each chart.
func seriesCharts(s analytics.Series, markers []svgchart.Marker) []chart {
	ms := func(v float64) string { return svgchart.Compact(v) + " ms" }
	specs := []struct {
		title, unit string
		format      func(float64) string
		value       func(analytics.Stats) float64
	}{
		{"Evaluations", "evaluations", nil, func(st analytics.Stats) float64 { return float64(st.Evaluations) }},
		{"Unique users", "users", nil, func(st analytics.Stats) float64 { return float64(st.Units) }},
		{"Error rate", "errors / requests", svgchart.Percent, func(st analytics.Stats) float64 { return orNaN(st.ErrorRate) }},
		{"Latency p50", "ms", ms, latency(func(q analytics.Quantiles) float64 { return q.P50 })},
		{"Latency p95", "ms", ms, latency(func(q analytics.Quantiles) float64 { return q.P95 })},
		{"Latency p99", "ms", ms, latency(func(q analytics.Quantiles) float64 { return q.P99 })},
	}
	var out []chart
	for _, spec := range specs {
		// Sized for two charts side by side, so that their text stays legible when scaled.
		c := svgchart.TimeChart{Title: spec.title + " per variant", YLabel: spec.unit, Format: spec.format, Markers: markers, Width: 480, Height: 240}
		for i, v := range s.Variants {
			line := svgchart.Series{Name: v.Variant, Class: seriesClass(i), Points: make([]svgchart.Point, len(v.Points))}
			for i, p := range v.Points {
				line.Points[i] = svgchart.Point{T: p.Time, Y: spec.value(p.Stats)}
			}
			c.Series = append(c.Series, line)
		}
		out = append(out, chart{Title: spec.title, SVG: c.SVG()})
	}
	return out
}

// latency reads one quantile of a point's latency; NaN, a gap, without requests.
func latency(pick func(analytics.Quantiles) float64) func(analytics.Stats) float64 {
	return func(st analytics.Stats) float64 {
		if st.LatencyMs == nil {
			return math.NaN()
		}
		return pick(*st.LatencyMs)
	}
}

// maxRatioBars bounds the flags the rate-ratio chart shows: the strongest evidence first.
const maxRatioBars = 10

// ratioChart draws the lead variant's error-rate ratio of each ranked flag, with its interval.
func ratioChart(rep analytics.Report) template.HTML {
	if len(rep.Flags) == 0 {
		return ""
	}
	c := svgchart.BarChart{Title: "Error-rate ratio of each flag's lead variant against the rest of its traffic, with 95 % intervals",
		YLabel: "rate ratio", Width: 720, Height: 220}
	for _, f := range rep.Flags[:min(len(rep.Flags), maxRatioBars)] {
		lead := f.Variants[0]
		bar := svgchart.Bar{Label: "no clear excess", Value: lead.RateRatio, Lo: lead.RateRatioLow, Hi: lead.RateRatioHigh, Class: "s0"}
		if f.Suspect {
			bar.Label, bar.Class = "excess errors (interval above 1)", "s3"
		}
		c.Groups = append(c.Groups, svgchart.BarGroup{Label: f.Flag + " · " + f.Variant, Bars: []svgchart.Bar{bar}})
	}
	return c.SVG()
}
