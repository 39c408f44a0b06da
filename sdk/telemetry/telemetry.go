// Package telemetry is the contract between SDKs and the server's intake: the batch an SDK
// instance sends every flush interval, the one latency-sketch mapping used platform-wide (so
// that sketches from any instance merge exactly), and the HyperLogLog that counts distinct
// units across instances and windows.
package telemetry

import "time"

// RequestMetric is the metric name of request outcomes (duration and error), recorded by the
// SDK's request-outcome call and middleware and derived from OpenTelemetry spans. Names that
// start with "$" are reserved for such built-in metrics; tracked business metrics may not use
// them.
const RequestMetric = "$request"

// MaxBatchRows is the most rows the intake takes in one batch; an SDK reports a window with
// more rows in several batches.
const MaxBatchRows = 1000

// Batch is what one SDK instance reports for one flush window [Start, End).
type Batch struct {
	// Instance identifies the reporting SDK instance (random, fixed for its lifetime).
	Instance string `json:"instance"`
	// Seq numbers the instance's batches from 1; the intake ignores a (Instance, Seq) it has
	// already accepted, so a batch resent after a lost response is counted once.
	Seq uint64 `json:"seq"`
	// SDK names the SDK and its version, e.g. "go/0.5.0".
	SDK   string    `json:"sdk,omitempty"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Dropped counts the events and rows the instance could not record or send since its
	// previous accepted batch (buffers full, batches rejected), so that loss is never silent.
	Dropped int64 `json:"dropped,omitempty"`
	Rows    []Row `json:"rows"`
}

// Row is the pre-aggregate of one (flag, variant, flag version, metric) within a batch.
//
// Metric "" is the exposure row: Evaluations and Units. Any other metric carries observations:
// Count of them, Errors among them, the sums of their values, of the squares, of the natural
// logs and of the squared logs (values ≤ 0 are left out of the log sums), and Sketch, the
// encoded DDSketch of the values. Request outcomes (RequestMetric) are durations in
// milliseconds. Units, when set, counts the distinct units behind the row.
type Row struct {
	Flag    string `json:"flag"`
	Variant string `json:"variant"`
	// Version is the flag's configuration version that served the variant: the allocation (and
	// so the rollout step) the observations belong to.
	Version int64  `json:"version,omitempty"`
	Metric  string `json:"metric,omitempty"`

	Evaluations int64 `json:"evaluations,omitempty"`
	// Units counts distinct units; UnitSketch is their HyperLogLog (MarshalBinary form), which
	// the server merges across instances and windows.
	Units      int64  `json:"units,omitempty"`
	UnitSketch []byte `json:"unitSketch,omitempty"`

	Count    int64   `json:"count,omitempty"`
	Errors   int64   `json:"errors,omitempty"`
	Sum      float64 `json:"sum,omitempty"`
	SumSq    float64 `json:"sumSq,omitempty"`
	SumLog   float64 `json:"sumLog,omitempty"`
	SumLogSq float64 `json:"sumLogSq,omitempty"`
	// Sketch is the DDSketch of the values in the platform mapping (NewSketch), encoded with
	// its mapping by (*ddsketch.DDSketch).Encode.
	Sketch []byte `json:"sketch,omitempty"`
}
