package ui

import (
	"context"
	"html/template"
	"math"
	"strconv"

	"github.com/flagpilot/flagpilot/internal/analytics"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/svgchart"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// chart is a rendered SVG chart with its heading.
type chart struct {
	Title string
	SVG   template.HTML
}

// rolloutCharts draws each guardrail's telemetry over the rollout, from its start to now (or
// its end), treatment against control, with its decisions as markers and, for a guardrail
// with a tolerance, the value the treatment may reach: the control's over the rollout, worsened
// by the tolerance.
func (u *UI) rolloutCharts(ctx context.Context, ro domain.Rollout, plan rollout.Plan, decisions []decisionView) ([]chart, error) {
	if u.telemetry == nil {
		return nil, nil
	}
	end := u.now()
	if !ro.Live() {
		end = ro.UpdatedAt
	}
	step := stepFor(end.Sub(ro.StartedAt), u.window, maxChartPoints)
	from := domain.WindowStart(ro.StartedAt, step)
	to := end
	if to.Before(from.Add(step)) {
		to = from.Add(step)
	}
	metrics := []string{"", telemetry.RequestMetric}
	for _, g := range plan.Guardrails {
		if g.Metric == rollout.Conversion {
			metrics = append(metrics, g.Event)
		}
	}
	aggs, err := u.telemetry.ListTelemetry(ctx, domain.TelemetryFilter{Project: ro.Project, Environment: ro.Environment,
		Flags: []string{ro.Flag}, Metrics: metrics, From: from, To: to})
	if err != nil {
		return nil, err
	}
	markers := decisionMarkers(decisions)
	arms := "treatment (" + ro.Treatment + ") against control (" + ro.Control + ")"
	var charts []chart
	for _, g := range plan.Guardrails {
		q := analytics.SeriesQuery{From: from, To: to, Step: step, Variants: []string{ro.Treatment, ro.Control}}
		c := svgchart.TimeChart{Markers: markers}
		var value func(analytics.Stats) float64
		worse := 1 + g.Tolerance
		switch g.Metric {
		case rollout.ErrorRate:
			c.Title, c.YLabel, c.Format = "Error rate, "+arms, "error rate", svgchart.Percent
			value = func(s analytics.Stats) float64 { return orNaN(s.ErrorRate) }
		case rollout.Latency:
			c.Title, c.YLabel, c.Format = "p95 latency, "+arms, "p95 latency (ms)", func(v float64) string { return svgchart.Compact(v) + " ms" }
			value = func(s analytics.Stats) float64 {
				if s.LatencyMs == nil {
					return math.NaN()
				}
				return s.LatencyMs.P95
			}
		case rollout.Conversion:
			q.Metric = g.Event
			c.Title, c.YLabel, c.Format = "Conversion to "+g.Event+", "+arms, "units that tracked "+g.Event, svgchart.Percent
			value = func(s analytics.Stats) float64 {
				if s.Units == 0 || s.Metric == nil {
					return math.NaN()
				}
				return float64(s.Metric.Units) / float64(s.Units)
			}
			worse = 1 - g.Tolerance
		default:
			continue
		}
		s, err := analytics.BuildSeries(aggs, q)
		if err != nil {
			return nil, err
		}
		for i, class := range []string{"treatment", "control"} {
			v := s.Variants[i]
			line := svgchart.Series{Name: class + " (" + v.Variant + ")", Class: class}
			for _, p := range v.Points {
				line.Points = append(line.Points, svgchart.Point{T: p.Time, Y: value(p.Stats)})
			}
			c.Series = append(c.Series, line)
		}
		if control := value(s.Variants[1].Total); g.Tolerance > 0 && control > 0 && !math.IsNaN(control) {
			c.Thresholds = []svgchart.Threshold{{Y: control * worse, Label: "tolerance: control " + signedPercent(worse-1)}}
		}
		charts = append(charts, chart{Title: c.Title, SVG: c.SVG()})
	}
	return charts, nil
}

// decisionMarkers marks every decision that changed the rollout, but its start (the charts'
// left edge); rollbacks get the rollback class.
func decisionMarkers(decisions []decisionView) []svgchart.Marker {
	var out []svgchart.Marker
	for _, d := range decisions {
		if d.Action == "started" {
			continue
		}
		m := svgchart.Marker{T: d.Time, Label: d.Action}
		switch d.Action {
		case string(rollout.Rollback), "rolled_back", "aborted":
			m.Class = "rollback"
		case string(rollout.Advance), "advanced", "completed":
			m.Label += " → " + strconv.FormatFloat(d.Share, 'f', -1, 64) + " %"
		}
		out = append(out, m)
	}
	return out
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// signedPercent writes a relative change with a sign and the decimals its size deserves:
// +0.25 %, -12.5 %, +5 %, +1300 %.
func signedPercent(f float64) string {
	p := 100 * f
	decimals := 0
	switch a := math.Abs(p); {
	case math.IsNaN(p) || math.IsInf(p, 0):
		return "–"
	case a < 1:
		decimals = 2
	case a < 100:
		decimals = 1
	}
	scale := math.Pow10(decimals)
	s := strconv.FormatFloat(math.Round(p*scale)/scale, 'f', -1, 64)
	if p > 0 {
		s = "+" + s
	}
	return s + " %"
}
