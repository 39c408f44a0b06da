package testenv

import (
	"math"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Units returns the encoded HyperLogLog of the numbered units, as SDKs send it. Small counts
// estimate exactly (linear counting), so tests can assert them.
func Units(units ...int) []byte {
	var h telemetry.HLL
	for _, u := range units {
		h.Add(mix(uint64(u)))
	}
	b, _ := h.MarshalBinary() // never fails
	return b
}

// mix is SplitMix64's finaliser: the well-mixed hash an HLL needs.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Exposures returns the stored exposure aggregate of key (whose Metric is ignored):
// evaluations by the numbered units.
func Exposures(key domain.TelemetryKey, evaluations int64, units ...int) domain.TelemetryAggregate {
	key.Metric = ""
	return domain.TelemetryAggregate{TelemetryKey: key, Evaluations: evaluations, Units: Units(units...)}
}

// Observations returns the stored aggregate of key's metric with one observation per value
// (durations in ms for telemetry.RequestMetric), errors of them failed: counts, sums and the
// sketch, as the intake stores them.
func Observations(key domain.TelemetryKey, errors int64, values ...float64) domain.TelemetryAggregate {
	a := domain.TelemetryAggregate{TelemetryKey: key, Count: int64(len(values)), Errors: errors}
	s := telemetry.NewSketch()
	for _, v := range values {
		a.Sum += v
		a.SumSq += v * v
		if v > 0 {
			a.SumLog += math.Log(v)
			a.SumLogSq += math.Log(v) * math.Log(v)
		}
		if err := s.Add(v); err != nil {
			panic(err) // tests pass values a sketch accepts
		}
	}
	if len(values) > 0 {
		a.Sketch = telemetry.EncodeSketch(s)
	}
	return a
}
