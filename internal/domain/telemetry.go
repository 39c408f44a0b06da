package domain

import (
	"context"
	"time"
)

// TelemetryKey identifies one stored aggregate: the observations of one metric for one variant
// of a flag, served by one version of the flag's configuration, within one window.
type TelemetryKey struct {
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Flag        string `json:"flag"`
	Variant     string `json:"variant"`
	// Version is the flag configuration version (the allocation, hence the rollout step).
	Version int64 `json:"version"`
	// Metric is "" for exposures, telemetry.RequestMetric for request outcomes, or a tracked
	// metric's name.
	Metric string `json:"metric"`
	// Window is the window's start; Resolution its length (the autopilot's tick for recent
	// windows, longer once old windows are downsampled).
	Window     time.Time     `json:"window"`
	Resolution time.Duration `json:"resolution"`
}

// TelemetryAggregate is the merged telemetry of one key; the fields mean what telemetry.Row's
// do, summed over every batch and instance.
type TelemetryAggregate struct {
	TelemetryKey
	Evaluations int64   `json:"evaluations"`
	Count       int64   `json:"count"`
	Errors      int64   `json:"errors"`
	Sum         float64 `json:"sum"`
	SumSq       float64 `json:"sumSq"`
	SumLog      float64 `json:"sumLog"`
	SumLogSq    float64 `json:"sumLogSq"`
	// Units is the encoded HyperLogLog of distinct units (telemetry.HLL), nil when none.
	Units []byte `json:"units,omitempty"`
	// Sketch is the encoded DDSketch of the values (telemetry.EncodeSketch), nil when none.
	Sketch []byte `json:"sketch,omitempty"`
	// LastSeen is when the latest batch that contributed arrived.
	LastSeen time.Time `json:"lastSeen"`
}

// BatchID identifies an accepted telemetry batch, for deduplication.
type BatchID struct {
	Instance string
	Seq      uint64
	// Received is when it was accepted; ids are kept for the deduplication horizon only.
	Received time.Time
}

// TelemetryFilter selects aggregates of one environment whose window starts in [From, To).
type TelemetryFilter struct {
	Project     string
	Environment string
	// Flags keeps only these flags; empty means every flag.
	Flags []string
	// Metrics keeps only these metrics ("" for exposures); empty means every metric.
	Metrics  []string
	From, To time.Time
}

// TelemetryStore keeps telemetry aggregates, apart from the flag state.
type TelemetryStore interface {
	// SaveTelemetry writes aggregates, replacing those with equal keys, and records the accepted
	// batch ids, in one transaction.
	SaveTelemetry(ctx context.Context, aggs []TelemetryAggregate, batches []BatchID) error
	// ListTelemetry returns the aggregates the filter selects, ordered by window, flag,
	// variant, version and metric.
	ListTelemetry(ctx context.Context, f TelemetryFilter) ([]TelemetryAggregate, error)
	// BatchSeen reports whether a batch id was recorded.
	BatchSeen(ctx context.Context, instance string, seq uint64) (bool, error)
	// LastEvaluated returns, per flag, the end of the latest window with exposures in env.
	LastEvaluated(ctx context.Context, project, env string) (map[string]time.Time, error)
	// CompactTelemetry replaces the aggregates of windows older than before and of a
	// resolution shorter than to with their merges into windows of length to (merge
	// combines two aggregates of one key), deletes aggregates older than dropBefore, and forgets
	// batch ids received before forgetBefore.
	CompactTelemetry(ctx context.Context, before time.Time, to time.Duration, dropBefore, forgetBefore time.Time,
		merge func(dst *TelemetryAggregate, src TelemetryAggregate) error) error
}
