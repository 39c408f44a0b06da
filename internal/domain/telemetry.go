package domain

import (
	"context"
	"fmt"
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
	// Revision counts the writes of the stored aggregate (0: not stored). SaveTelemetry writes
	// an aggregate only over the revision it was read at, so that writers sharing a database
	// (replicas) never overwrite each other's merges.
	Revision int64 `json:"-"`
}

// BatchID identifies an accepted telemetry batch, for deduplication: the instance's sequence
// number within the environment it reported for, so that no environment's SDKs can shadow
// another's batches.
type BatchID struct {
	Project, Environment string
	Instance             string
	// Seq is at most math.MaxInt64, which both databases store.
	Seq uint64
	// Received is when it was accepted; ids are kept for the deduplication horizon only.
	Received time.Time
}

// TelemetryFilter selects aggregates of one environment whose window starts in [From, To); a
// zero From or To leaves that side open.
type TelemetryFilter struct {
	Project     string
	Environment string
	// Flags keeps only these flags; empty means every flag.
	Flags []string
	// Metrics keeps only these metrics ("" for exposures); empty means every metric.
	Metrics  []string
	From, To time.Time
}

// TelemetryConflict is the error of SaveTelemetry when another writer got there first. Nothing
// was saved.
type TelemetryConflict struct {
	// Duplicates are the batch ids that were recorded already.
	Duplicates []BatchID
	// Stale is set when an aggregate was written since it was read: its Revision is not the
	// stored one.
	Stale bool
}

func (e *TelemetryConflict) Error() string {
	if len(e.Duplicates) > 0 {
		return fmt.Sprintf("telemetry: %d batch(es) were recorded already", len(e.Duplicates))
	}
	return "telemetry: an aggregate was written since it was read"
}

// TelemetryStore keeps telemetry aggregates, apart from the flag state.
type TelemetryStore interface {
	// SaveTelemetry writes aggregates (of distinct keys, with whole-second resolutions) and
	// records the accepted batch ids, in one transaction. Each aggregate replaces the stored
	// one of its key at its Revision, and is stored with Revision+1. When a batch id is recorded
	// already, or a stored aggregate is not at the revision given, nothing is saved and the
	// error is a *TelemetryConflict.
	SaveTelemetry(ctx context.Context, aggs []TelemetryAggregate, batches []BatchID) error
	// ListTelemetry returns the aggregates the filter selects, ordered by window, flag,
	// variant, version and metric.
	ListTelemetry(ctx context.Context, f TelemetryFilter) ([]TelemetryAggregate, error)
	// LastEvaluated returns, per flag, the end of the latest window with exposures
	// (evaluations > 0) in env.
	LastEvaluated(ctx context.Context, project, env string) (map[string]time.Time, error)
	// EvaluationCounts returns, for each of flags (every flag when empty) with exposures in
	// env in windows starting in [bounds[0], bounds[n]), its evaluations of the windows
	// starting in each [bounds[i], bounds[i+1]), summed over variants and versions: a list of
	// n counts. Bounds are increasing; the sums are the store's, so that a list of flags costs
	// one small answer whatever the number of windows.
	EvaluationCounts(ctx context.Context, project, env string, flags []string, bounds []time.Time) (map[string][]int64, error)
	// CompactTelemetry replaces the aggregates of windows that start before before and are
	// shorter than to with their merges into windows of length to (merge adds srcs into dst),
	// deletes aggregates of windows that start before dropBefore (and last-evaluated times at
	// or before it), and forgets batch ids received before forgetBefore.
	CompactTelemetry(ctx context.Context, before time.Time, to time.Duration, dropBefore, forgetBefore time.Time,
		merge func(dst *TelemetryAggregate, srcs ...TelemetryAggregate) error) error
}

// WindowStart returns the start of the window of the given length that holds t. Windows are
// aligned on the Unix epoch, so a length that divides an hour gives windows that tile hours.
func WindowStart(t time.Time, length time.Duration) time.Time {
	us, w := t.UnixMicro(), length.Microseconds()
	start := us - us%w
	if us%w < 0 {
		start -= w
	}
	return time.UnixMicro(start).UTC()
}
