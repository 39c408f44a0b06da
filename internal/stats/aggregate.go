// Package stats holds telemetry aggregates in memory: counts and sums that add, latency
// sketches and unit HyperLogLogs that merge exactly, whatever instance or window they came
// from. The intake merges batches into them; analytics, correlation and the autopilot read
// them back from the store.
package stats

import (
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Aggregate is the merged telemetry of one key, with its sketches decoded.
type Aggregate struct {
	Evaluations, Count, Errors   int64
	Sum, SumSq, SumLog, SumLogSq float64
	Units                        *telemetry.HLL     // nil until a unit is seen
	Sketch                       *ddsketch.DDSketch // nil until a value is seen
}

// FromRow decodes a telemetry row, refusing sketches it cannot merge.
func FromRow(r telemetry.Row) (Aggregate, error) {
	return decode(Aggregate{
		Evaluations: r.Evaluations, Count: r.Count, Errors: r.Errors,
		Sum: r.Sum, SumSq: r.SumSq, SumLog: r.SumLog, SumLogSq: r.SumLogSq,
	}, r.UnitSketch, r.Sketch)
}

// FromDomain decodes a stored aggregate.
func FromDomain(d domain.TelemetryAggregate) (Aggregate, error) {
	return decode(Aggregate{
		Evaluations: d.Evaluations, Count: d.Count, Errors: d.Errors,
		Sum: d.Sum, SumSq: d.SumSq, SumLog: d.SumLog, SumLogSq: d.SumLogSq,
	}, d.Units, d.Sketch)
}

func decode(a Aggregate, units, sketch []byte) (Aggregate, error) {
	if len(units) > 0 {
		a.Units = new(telemetry.HLL)
		if err := a.Units.UnmarshalBinary(units); err != nil {
			return Aggregate{}, err
		}
	}
	if len(sketch) > 0 {
		s, err := telemetry.DecodeSketch(sketch)
		if err != nil {
			return Aggregate{}, err
		}
		a.Sketch = s
	}
	return a, nil
}

// Merge adds o into a. o's sketches are merged, not shared, so o stays usable.
func (a *Aggregate) Merge(o Aggregate) error {
	a.Evaluations += o.Evaluations
	a.Count += o.Count
	a.Errors += o.Errors
	a.Sum += o.Sum
	a.SumSq += o.SumSq
	a.SumLog += o.SumLog
	a.SumLogSq += o.SumLogSq
	if o.Units != nil {
		if a.Units == nil {
			a.Units = new(telemetry.HLL)
		}
		a.Units.Merge(o.Units)
	}
	if o.Sketch != nil {
		if a.Sketch == nil {
			a.Sketch = telemetry.NewSketch()
		}
		if err := a.Sketch.MergeWith(o.Sketch); err != nil {
			return fmt.Errorf("merging sketches: %w", err)
		}
	}
	return nil
}

// UnitCount estimates the distinct units behind a.
func (a *Aggregate) UnitCount() int64 {
	if a.Units == nil {
		return 0
	}
	return a.Units.Estimate()
}

// Quantile returns the q-quantile of the sketched values (within the platform's relative
// accuracy), and false when there are none.
func (a *Aggregate) Quantile(q float64) (float64, bool) {
	if a.Sketch == nil || a.Sketch.IsEmpty() {
		return 0, false
	}
	v, err := a.Sketch.GetValueAtQuantile(q)
	return v, err == nil
}

// CountAbove counts the sketched values above x (each bin counted by its representative value,
// so within the sketch's relative accuracy of x).
func (a *Aggregate) CountAbove(x float64) int64 {
	if a.Sketch == nil {
		return 0
	}
	var n float64
	a.Sketch.ForEach(func(value, count float64) bool {
		if value > x {
			n += count
		}
		return false
	})
	return int64(math.Round(n))
}

// ToDomain writes a's numbers and encoded sketches into d, keeping d's key.
func (a *Aggregate) ToDomain(d *domain.TelemetryAggregate) {
	d.Evaluations, d.Count, d.Errors = a.Evaluations, a.Count, a.Errors
	d.Sum, d.SumSq, d.SumLog, d.SumLogSq = a.Sum, a.SumSq, a.SumLog, a.SumLogSq
	d.Units, d.Sketch = nil, nil
	if a.Units != nil {
		d.Units, _ = a.Units.MarshalBinary() // never fails
	}
	if a.Sketch != nil {
		d.Sketch = telemetry.EncodeSketch(a.Sketch)
	}
}

// MergeDomain merges srcs into dst, stored aggregates; dst keeps its key and takes the latest
// LastSeen.
func MergeDomain(dst *domain.TelemetryAggregate, srcs ...domain.TelemetryAggregate) error {
	a, err := FromDomain(*dst)
	if err != nil {
		return err
	}
	for _, src := range srcs {
		b, err := FromDomain(src)
		if err != nil {
			return err
		}
		if err := a.Merge(b); err != nil {
			return err
		}
		if src.LastSeen.After(dst.LastSeen) {
			dst.LastSeen = src.LastSeen
		}
	}
	a.ToDomain(dst)
	return nil
}
