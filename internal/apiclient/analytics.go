package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/flagpilot/flagpilot/internal/analytics"
)

// TimeRange selects the telemetry windows starting in [From, To). Zero fields take the
// server's defaults: To is now, From an hour before To.
type TimeRange struct {
	From, To time.Time
	// Since, when set instead of From, starts the range that long before the server's now.
	Since time.Duration
}

func (r TimeRange) values() url.Values {
	v := url.Values{}
	if r.Since > 0 {
		v.Set("from", r.Since.String())
	}
	for name, t := range map[string]time.Time{"from": r.From, "to": r.To} {
		if !t.IsZero() {
			v.Set(name, t.UTC().Format(time.RFC3339Nano))
		}
	}
	return v
}

// MetricsQuery selects a flag's telemetry series.
type MetricsQuery struct {
	TimeRange
	// Step is the length of a point: whole seconds, at least one, at most 2000 points; 0 takes the
	// server's default (a minute, or longer when the range needs it).
	Step time.Duration
	// Metric names a tracked metric to report besides exposures and requests.
	Metric string
}

// FlagMetrics returns a flag's telemetry in an environment: per variant, the points of q's
// range and the totals over it.
func (c *Client) FlagMetrics(ctx context.Context, project, flag, env string, q MetricsQuery) (analytics.Series, error) {
	v := q.values()
	if q.Step > 0 {
		v.Set("step", q.Step.String())
	}
	set(v, "metric", q.Metric)
	return call[analytics.Series](ctx, c, request{method: http.MethodGet,
		path: []string{"projects", project, "flags", flag, "environments", env, "metrics"}, query: v})
}

// Correlation ranks the flags of an environment by the evidence that one of their variants
// carries excess request errors over r, with the flag changes around it.
func (c *Client) Correlation(ctx context.Context, project, env string, r TimeRange) (analytics.Report, error) {
	return call[analytics.Report](ctx, c, request{method: http.MethodGet,
		path: []string{"projects", project, "environments", env, "correlation"}, query: r.values()})
}

// LastEvaluated returns when each flag of a project was last evaluated in an environment.
func (c *Client) LastEvaluated(ctx context.Context, project, env string) ([]analytics.FlagEvaluated, error) {
	return items[analytics.FlagEvaluated](ctx, c, request{method: http.MethodGet,
		path: []string{"projects", project, "environments", env, "evaluated"}})
}
