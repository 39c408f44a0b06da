package analytics

import (
	"context"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// The Read functions fetch what a report needs, from the telemetry store and the audit log,
// so that the API and the dashboard answer the same question with the same figures.

// AuditLog lists audit events, newest first, as the service does.
type AuditLog interface {
	ListAudit(ctx context.Context, f domain.AuditFilter) ([]domain.AuditEvent, error)
}

// ReadSeries builds flag's series in env over q (whose Variants it sets to the flag's), with
// when the flag was last evaluated there.
func ReadSeries(ctx context.Context, ts domain.TelemetryStore, flag domain.Flag, env string, q SeriesQuery) (Series, error) {
	if err := q.Validate(); err != nil {
		return Series{}, err
	}
	q.Variants = make([]string, 0, len(flag.Variants))
	for _, v := range flag.Variants {
		q.Variants = append(q.Variants, v.Name)
	}
	metrics := []string{"", telemetry.RequestMetric}
	if q.Metric != "" {
		metrics = append(metrics, q.Metric)
	}
	aggs, err := ts.ListTelemetry(ctx, domain.TelemetryFilter{Project: flag.Project, Environment: env,
		Flags: []string{flag.Key}, Metrics: metrics, From: q.From, To: q.To})
	if err != nil {
		return Series{}, err
	}
	series, err := BuildSeries(aggs, q)
	if err != nil {
		return Series{}, err
	}
	last, err := ts.LastEvaluated(ctx, flag.Project, env)
	if err != nil {
		return Series{}, err
	}
	if t, ok := last[flag.Key]; ok {
		series.LastEvaluated = &t
	}
	return series, nil
}

// ReadCorrelation ranks the flags of env by excess request errors over [from, to), beside the
// flag changes that reach env from ChangeLookback before from (see Correlate).
func ReadCorrelation(ctx context.Context, ts domain.TelemetryStore, audit AuditLog, project, env string, from, to time.Time) (Report, error) {
	if err := CheckRange(from, to); err != nil {
		return Report{}, err
	}
	aggs, err := ts.ListTelemetry(ctx, domain.TelemetryFilter{Project: project, Environment: env,
		Metrics: []string{telemetry.RequestMetric}, From: from, To: to})
	if err != nil {
		return Report{}, err
	}
	changes, err := FlagChanges(ctx, audit, project, env, from.Add(-ChangeLookback), to)
	if err != nil {
		return Report{}, err
	}
	return Correlate(aggs, changes, from, to), nil
}

// FlagChanges returns the audit events of a project's flags in [since, until) that reach env:
// its configuration changes and the definition changes, which have no environment.
func FlagChanges(ctx context.Context, audit AuditLog, project, env string, since, until time.Time) ([]domain.AuditEvent, error) {
	var out []domain.AuditEvent
	f := domain.AuditFilter{Project: project, ResourceType: "flag", Since: since, Until: until, Limit: domain.MaxPageLimit}
	for {
		events, err := audit.ListAudit(ctx, f)
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
