package httpapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/flagpilot/flagpilot/internal/analytics"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// The analytics routes read stored telemetry through Options.Telemetry.

var (
	rangeQuery = []param{
		{"from", "string", "start: an RFC 3339 time, or a duration before now such as 24h (default: 1h before to)"},
		{"to", "string", "end, exclusive: an RFC 3339 time, or a duration before now (default: now)"},
	}
	metricsQuery = slices.Concat(rangeQuery, []param{
		{"step", "string", "the length of a point, such as 10s, 1m or 1h: whole seconds, at least 1s, at most 2000 points (default 1m, longer when the range needs it)"},
		{"metric", "string", "a tracked metric to report besides exposures and requests"},
	})
)

// defaultRange is how far back from and to reach when from is not given.
const defaultRange = time.Hour

// timeRange reads ?from= and ?to=, and says whether from was relative to now (a duration, or
// the default).
func timeRange(r *http.Request, now time.Time) (from, to time.Time, relative bool, err error) {
	q := r.URL.Query()
	to, _, err = timeParam(q.Get("to"), "to", now)
	if err != nil {
		return from, to, false, err
	}
	if q.Get("from") == "" {
		return to.Add(-defaultRange), to, true, nil
	}
	from, relative, err = timeParam(q.Get("from"), "from", now)
	return from, to, relative, err
}

// timeParam reads a time parameter: an RFC 3339 time, or a duration that long before now.
// Empty means now.
func timeParam(s, name string, now time.Time) (time.Time, bool, error) {
	if s == "" {
		return now, true, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, false, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), true, nil
	}
	return time.Time{}, false, invalidf(name, "expected an RFC 3339 time such as 2026-01-02T15:04:05Z or a positive duration before now such as 24h, got %q", s)
}

// seriesQuery reads the query of the metrics route. A relative start is rounded up to a
// multiple of the step, so points fall on whole minutes, hours, …
func seriesQuery(r *http.Request, now time.Time) (analytics.SeriesQuery, error) {
	from, to, relative, err := timeRange(r, now)
	if err != nil {
		return analytics.SeriesQuery{}, err
	}
	q := analytics.SeriesQuery{From: from, To: to, Step: analytics.DefaultStep(from, to), Metric: r.URL.Query().Get("metric")}
	if s := r.URL.Query().Get("step"); s != "" {
		if q.Step, err = time.ParseDuration(s); err != nil {
			return q, invalidf("step", "expected a duration such as 5m or 1h, got %q", s)
		}
	}
	if err := q.Validate(); err != nil {
		return q, err
	}
	if aligned := q.From.Truncate(q.Step); relative && !aligned.Equal(q.From) && aligned.Add(q.Step).Before(q.To) {
		q.From = aligned.Add(q.Step)
	}
	return q, nil
}

func (a *API) flagMetrics(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	project, flagKey, env := r.PathValue("project"), r.PathValue("flag"), r.PathValue("env")
	q, err := seriesQuery(r, time.Now())
	if err != nil {
		return err
	}
	flag, err := a.svc.GetFlag(ctx, project, flagKey)
	if err != nil {
		return err
	}
	if _, err := a.svc.GetEnvironment(ctx, project, env); err != nil {
		return err
	}
	for _, v := range flag.Variants {
		q.Variants = append(q.Variants, v.Name)
	}
	metrics := []string{"", telemetry.RequestMetric}
	if q.Metric != "" {
		metrics = append(metrics, q.Metric)
	}
	aggs, err := a.opts.Telemetry.ListTelemetry(ctx, domain.TelemetryFilter{Project: project, Environment: env,
		Flags: []string{flagKey}, Metrics: metrics, From: q.From, To: q.To})
	if err != nil {
		return err
	}
	series, err := analytics.BuildSeries(aggs, q)
	if err != nil {
		return err
	}
	last, err := a.opts.Telemetry.LastEvaluated(ctx, project, env)
	if err != nil {
		return err
	}
	if t, ok := last[flagKey]; ok {
		series.LastEvaluated = &t
	}
	writeJSON(w, http.StatusOK, series)
	return nil
}

func (a *API) correlation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	project, env := r.PathValue("project"), r.PathValue("env")
	from, to, _, err := timeRange(r, time.Now())
	if err != nil {
		return err
	}
	if err := analytics.CheckRange(from, to); err != nil {
		return err
	}
	if _, err := a.svc.GetEnvironment(ctx, project, env); err != nil {
		return err
	}
	aggs, err := a.opts.Telemetry.ListTelemetry(ctx, domain.TelemetryFilter{Project: project, Environment: env,
		Metrics: []string{telemetry.RequestMetric}, From: from, To: to})
	if err != nil {
		return err
	}
	changes, err := a.flagChanges(ctx, project, env, from.Add(-analytics.ChangeLookback), to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, analytics.Correlate(aggs, changes, from, to))
	return nil
}

// flagChanges returns the audit events of a project's flags in [since, until) that reach env:
// its configuration changes and the definition changes, which have no environment.
func (a *API) flagChanges(ctx context.Context, project, env string, since, until time.Time) ([]domain.AuditEvent, error) {
	var out []domain.AuditEvent
	f := domain.AuditFilter{Project: project, ResourceType: "flag", Since: since, Until: until, Limit: domain.MaxPageLimit}
	for {
		events, err := a.svc.ListAudit(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			if e.Environment == env || e.Environment == "" {
				out = append(out, e)
			}
		}
		if len(events) < f.Limit {
			return out, nil
		}
		f.BeforeID = events[len(events)-1].ID
	}
}

func (a *API) lastEvaluated(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	project, env := r.PathValue("project"), r.PathValue("env")
	if _, err := a.svc.GetEnvironment(ctx, project, env); err != nil {
		return err
	}
	flags, err := a.svc.AllFlags(ctx, project)
	if err != nil {
		return err
	}
	keys := make([]string, len(flags))
	for i, f := range flags {
		keys[i] = f.Key
	}
	last, err := a.opts.Telemetry.LastEvaluated(ctx, project, env)
	if err != nil {
		return err
	}
	writeList(w, analytics.Evaluated(keys, last), "")
	return nil
}
