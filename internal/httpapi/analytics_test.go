package httpapi

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/analytics"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// saveTelemetry stores aggregates as the intake would.
func (e *testEnv) saveTelemetry(aggs ...domain.TelemetryAggregate) {
	e.t.Helper()
	if err := e.api.opts.Telemetry.SaveTelemetry(context.Background(), aggs, nil); err != nil {
		e.t.Fatal(err)
	}
}

// telemetryKey is the key of a shop flag's variant in the one-minute window starting minutes
// after base.
func telemetryKey(base time.Time, flag, env, variant string, version int64, metric string, minutes int) domain.TelemetryKey {
	return domain.TelemetryKey{Project: "shop", Environment: env, Flag: flag, Variant: variant, Version: version, Metric: metric,
		Window: base.Add(time.Duration(minutes) * time.Minute), Resolution: time.Minute}
}

// recentBase is a whole minute half an hour ago: windows after it are in the last hour.
func recentBase() time.Time { return time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute) }

func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

func near(got, want float64) bool {
	return math.Abs(got-want) <= telemetry.SketchRelativeAccuracy*want
}

func TestFlagMetrics(t *testing.T) {
	e := newTestEnv(t, Options{})
	base := recentBase()
	key := func(variant string, version int64, metric string, minutes int) domain.TelemetryKey {
		return telemetryKey(base, "new-checkout", "production", variant, version, metric, minutes)
	}
	const req = telemetry.RequestMetric
	revenue := testenv.Observations(key("on", 1, "revenue", 0), 0, 12.5)
	revenue.Units = testenv.Units(1)
	e.saveTelemetry(
		// on: two flag versions in the first five minutes.
		testenv.Exposures(key("on", 1, "", 0), 10, 1, 2, 3, 4, 5),
		testenv.Exposures(key("on", 2, "", 1), 5, 4, 5, 6),
		testenv.Observations(key("on", 1, req, 0), 1, 10, 20, 30),
		testenv.Observations(key("on", 2, req, 1), 0, 40),
		revenue,
		// off: in the next five minutes.
		testenv.Exposures(key("off", 1, "", 6), 3, 7, 8),
		testenv.Observations(key("off", 1, req, 6), 0, 5, 5),
		// Another environment's and another flag's.
		testenv.Exposures(telemetryKey(base, "new-checkout", "staging", "on", 1, "", 20), 100, 9),
		testenv.Exposures(telemetryKey(base, "other", "production", "on", 1, "", 20), 100, 9),
	)
	path := "/api/v1/projects/shop/flags/new-checkout/environments/production/metrics"

	var s analytics.Series
	e.ok(e.do("GET", path+query("from", base.Format(time.RFC3339), "to", base.Add(10*time.Minute).Format(time.RFC3339), "step", "5m", "metric", "revenue"), e.viewer, nil), 200, &s)
	if s.StepSeconds != 300 || !s.From.Equal(base) || len(s.Variants) != 2 || s.Variants[0].Variant != "on" || s.Variants[1].Variant != "off" ||
		len(s.Variants[0].Points) != 2 {
		t.Fatalf("series %+v", s)
	}
	if s.LastEvaluated == nil || !s.LastEvaluated.Equal(base.Add(7*time.Minute)) {
		t.Errorf("last evaluated %v, want the end of off's window, %s", s.LastEvaluated, base.Add(7*time.Minute))
	}
	on := s.Variants[0].Points[0]
	if on.Evaluations != 15 || on.Units != 6 || on.Requests != 4 || on.Errors != 1 || on.ErrorRate == nil || *on.ErrorRate != 0.25 {
		t.Errorf("on, first five minutes: %+v; want 15 evaluations by 6 units, 4 requests, 1 error", on.Stats)
	}
	// Of durations 10, 20, 30, 40 the sketch's median is 20 and its p95 and p99 30.
	if l := on.LatencyMs; l == nil || !near(l.P50, 20) || !near(l.P95, 30) || !near(l.P99, 30) {
		t.Errorf("on latency %+v", on.LatencyMs)
	}
	if m := on.Metric; m == nil || m.Count != 1 || m.Sum != 12.5 || m.Units != 1 {
		t.Errorf("on revenue %+v", on.Metric)
	}
	off := s.Variants[1]
	if p := off.Points[1]; p.Evaluations != 3 || p.Units != 2 || p.Requests != 2 || p.Errors != 0 || !near(p.LatencyMs.P99, 5) {
		t.Errorf("off, second five minutes: %+v", p.Stats)
	}
	if p := off.Points[0]; p.Evaluations != 0 || p.ErrorRate != nil || p.LatencyMs != nil {
		t.Errorf("off, first five minutes: %+v; want nothing", p.Stats)
	}
	if tot := s.Variants[0].Total; tot.Evaluations != 15 || tot.Units != 6 || tot.Requests != 4 {
		t.Errorf("on total %+v", tot)
	}

	// The defaults: the last hour by the minute, on whole minutes.
	s = analytics.Series{}
	e.ok(e.do("GET", path, e.viewer, nil), 200, &s)
	if n := len(s.Variants[0].Points); n != 60 || s.StepSeconds != 60 || s.From.Second() != 0 || s.Metric != "" || s.Variants[0].Total.Metric != nil {
		t.Errorf("default series: %d points of %d s from %s, metric %q", n, s.StepSeconds, s.From, s.Metric)
	}
	if tot := s.Variants[0].Total; tot.Evaluations != 15 || tot.Units != 6 || tot.Requests != 4 {
		t.Errorf("on total of the last hour %+v", tot)
	}
	// A relative range by the hour starts on a whole hour.
	s = analytics.Series{}
	e.ok(e.do("GET", path+query("from", "24h", "step", "1h"), e.viewer, nil), 200, &s)
	if n := len(s.Variants[0].Points); n != 24 || !s.From.Equal(s.From.Truncate(time.Hour)) {
		t.Errorf("last day by the hour: %d points from %s", n, s.From)
	}
	var evaluations int64
	for _, p := range s.Variants[0].Points {
		evaluations += p.Evaluations
	}
	if evaluations != 15 {
		t.Errorf("the points of the last day hold %d evaluations of on, want 15", evaluations)
	}
}

func TestFlagMetricsRefusesBadQueries(t *testing.T) {
	e := newTestEnv(t, Options{})
	path := "/api/v1/projects/shop/flags/new-checkout/environments/production/metrics"
	for _, tc := range []struct {
		query, field, msg string
	}{
		{query("from", "yesterday"), "from", "RFC 3339"},
		{query("from", "-1h"), "from", "positive duration"},
		{query("to", "2026-13-01T00:00:00Z"), "to", "RFC 3339"},
		{query("from", "1h", "to", "2h"), "from", "must be before to"},
		{query("step", "often"), "step", "duration"},
		{query("step", "1500ms"), "step", "whole seconds"},
		{query("from", "48h", "step", "1m"), "step", "more than 2000"},
		{query("metric", "$request"), "metric", "built in"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			d := e.fails(e.do("GET", path+tc.query, e.viewer, nil), 400, "invalid")
			if d.Field != tc.field || !strings.Contains(d.Message, tc.msg) {
				t.Errorf("%s: %s, want field %s and a message containing %q", d.Field, d.Message, tc.field, tc.msg)
			}
		})
	}
	for _, p := range []string{
		"/api/v1/projects/nope/flags/new-checkout/environments/production/metrics",
		"/api/v1/projects/shop/flags/nope/environments/production/metrics",
		"/api/v1/projects/shop/flags/new-checkout/environments/nope/metrics",
		"/api/v1/projects/shop/environments/nope/correlation",
		"/api/v1/projects/nope/environments/production/correlation",
		"/api/v1/projects/shop/environments/nope/evaluated",
	} {
		e.fails(e.do("GET", p, e.viewer, nil), 404, "not_found")
	}
}

func TestCorrelation(t *testing.T) {
	e := newTestEnv(t, Options{})
	e.ok(e.do("POST", "/api/v1/projects/shop/flags", e.editor, `{"key":"theme","type":"string","variants":{"light":"#fff","dark":"#000"}}`), 201, nil)
	e.ok(e.do("PATCH", "/api/v1/projects/shop/flags/new-checkout/environments/production", e.editor, `{"enabled":true}`, CommentHeader, "ship it"), 200, nil)
	e.ok(e.do("PATCH", "/api/v1/projects/shop/flags/new-checkout/environments/staging", e.editor, `{"enabled":true}`), 200, nil)

	base := recentBase()
	requests := func(flag, env, variant string, minutes int, n, errors int64) domain.TelemetryAggregate {
		return domain.TelemetryAggregate{TelemetryKey: telemetryKey(base, flag, env, variant, 1, telemetry.RequestMetric, minutes), Count: n, Errors: errors}
	}
	e.saveTelemetry(
		requests("new-checkout", "production", "on", 0, 1000, 30), requests("new-checkout", "production", "on", 1, 1000, 30),
		requests("new-checkout", "production", "off", 0, 2000, 20),
		requests("theme", "production", "light", 0, 2000, 40), requests("theme", "production", "dark", 0, 2000, 41),
		// Staging's errors are another matter.
		requests("new-checkout", "staging", "off", 0, 1000, 500), requests("new-checkout", "staging", "on", 0, 1000, 0),
	)

	var rep analytics.Report
	e.ok(e.do("GET", "/api/v1/projects/shop/environments/production/correlation", e.viewer, nil), 200, &rep)
	if len(rep.Flags) != 2 || rep.Flags[0].Flag != "new-checkout" || rep.Flags[1].Flag != "theme" {
		t.Fatalf("ranking %+v", rep.Flags)
	}
	top := rep.Flags[0]
	lead := top.Variants[0]
	if top.Variant != "on" || !top.Suspect || top.Requests != 4000 || top.Errors != 80 ||
		lead.Variant != "on" || lead.Requests != 2000 || lead.Errors != 60 || math.Abs(lead.RateRatio-3) > 1e-9 || math.Abs(lead.ExcessErrors-40) > 1e-9 {
		t.Errorf("new-checkout evidence %+v", top)
	}
	if !rep.ChangesFrom.Equal(rep.From.Add(-analytics.ChangeLookback)) || rep.To.Sub(rep.From) != time.Hour {
		t.Errorf("range %s to %s, changes from %s", rep.From, rep.To, rep.ChangesFrom)
	}
	var timeline []string
	for _, c := range rep.Changes {
		timeline = append(timeline, fmt.Sprintf("%s %s %q rank %d suspect %v %q", c.Action, c.Flag, c.Environment, c.Rank, c.Suspect, c.Comment))
	}
	want := []string{
		`flag.created new-checkout "" rank 1 suspect true ""`,
		`flag.created theme "" rank 2 suspect false ""`,
		`flag.config.updated new-checkout "production" rank 1 suspect true "ship it"`,
	}
	if strings.Join(timeline, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(timeline, "\n"), strings.Join(want, "\n"))
	}

	// Long before: no telemetry, no changes.
	r := e.do("GET", "/api/v1/projects/shop/environments/production/correlation"+query("from", "72h", "to", "48h"), e.viewer, nil)
	e.ok(r, 200, &rep)
	if !strings.Contains(string(r.body), `"flags":[]`) || !strings.Contains(string(r.body), `"changes":[]`) {
		t.Errorf("report of two days ago: %s", r.body)
	}
	d := e.fails(e.do("GET", "/api/v1/projects/shop/environments/production/correlation"+query("from", "1h", "to", "2h"), e.viewer, nil), 400, "invalid")
	if d.Field != "from" {
		t.Errorf("a reversed range: %+v", d)
	}
}

func TestLastEvaluated(t *testing.T) {
	e := newTestEnv(t, Options{})
	e.ok(e.do("POST", "/api/v1/projects/shop/flags", e.editor, `{"key":"theme","type":"boolean"}`), 201, nil)
	base := recentBase()
	e.saveTelemetry(
		testenv.Exposures(telemetryKey(base, "new-checkout", "production", "on", 1, "", 0), 1, 1),
		testenv.Exposures(telemetryKey(base, "new-checkout", "production", "off", 1, "", 3), 1, 2),
		testenv.Exposures(telemetryKey(base, "ghost", "production", "on", 1, "", 1), 1, 3),
		testenv.Exposures(telemetryKey(base, "theme", "staging", "on", 1, "", 1), 1, 3),
	)
	var list page[analytics.FlagEvaluated]
	e.ok(e.do("GET", "/api/v1/projects/shop/environments/production/evaluated", e.viewer, nil), 200, &list)
	var got []string
	for _, f := range list.Items {
		s := f.Flag
		if f.LastEvaluated != nil {
			s += " " + f.LastEvaluated.Sub(base).String()
		}
		if f.Unknown {
			s += " unknown"
		}
		got = append(got, s)
	}
	if want := "ghost 2m0s unknown, new-checkout 4m0s, theme"; strings.Join(got, ", ") != want {
		t.Errorf("evaluated %s, want %s", strings.Join(got, ", "), want)
	}
}
