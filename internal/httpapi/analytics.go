package httpapi

import (
	"net/http"
	"slices"
	"time"

	"github.com/flagpilot/flagpilot/internal/analytics"
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
	series, err := analytics.ReadSeries(ctx, a.opts.Telemetry, flag, env, q)
	if err != nil {
		return err
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
	report, err := analytics.ReadCorrelation(ctx, a.opts.Telemetry, a.svc, project, env, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, report)
	return nil
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
