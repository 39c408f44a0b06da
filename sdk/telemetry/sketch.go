package telemetry

import (
	"errors"
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// SketchRelativeAccuracy is the platform-wide relative accuracy of latency quantiles: a
// reported quantile is within 1 % of the true value.
const SketchRelativeAccuracy = 0.01

// SketchMaxBins bounds a sketch's memory; when a sketch would need more bins, the lowest ones
// collapse, so the upper quantiles that guardrails watch keep their accuracy. With 1 %
// accuracy 2,048 bins span about 18 orders of magnitude.
const SketchMaxBins = 2048

var platformMapping = func() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(SketchRelativeAccuracy)
	if err != nil {
		panic(err) // the accuracy is a valid constant
	}
	return m
}()

func storeProvider() store.Store { return store.NewCollapsingLowestDenseStore(SketchMaxBins) }

// platformMultiplier is 1/ln γ with γ = (1+α)/(1−α): the platform mapping's index of a value
// v is ⌊ln v / ln γ⌋, as sketches-go's LogarithmicMapping computes it.
var platformMultiplier = 1 / math.Log((1+SketchRelativeAccuracy)/(1-SketchRelativeAccuracy))

// AddWithLog adds v to a sketch in the platform mapping given lnV, its natural logarithm,
// which a caller summing logs has computed already: the sketch is spared a second logarithm,
// the bulk of an Add. It adds exactly what s.Add(v) would.
func AddWithLog(s *ddsketch.DDSketch, v, lnV float64) {
	if v <= platformMapping.MinIndexableValue() || v > platformMapping.MaxIndexableValue() {
		s.Add(v) // zero, negative, or out of range: rare, and handled by the sketch
		return
	}
	// As LogarithmicMapping.Index, to the last rounding (int truncates toward zero).
	i := int(lnV * platformMultiplier)
	if lnV < 0 {
		i--
	}
	s.GetPositiveValueStore().Add(i)
}

// NewSketch returns an empty sketch in the platform mapping.
func NewSketch() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(platformMapping, storeProvider(), storeProvider())
}

// EncodeSketch encodes s with its mapping, so that the receiver can check the mapping.
func EncodeSketch(s *ddsketch.DDSketch) []byte {
	var b []byte
	s.Encode(&b, false)
	return b
}

// ErrForeignMapping is returned by DecodeSketch for a sketch whose index mapping is not the
// platform's: merging it would silently misplace its values.
var ErrForeignMapping = errors.New("sketch uses a different index mapping (expected logarithmic, relative accuracy 0.01)")

// DecodeSketch decodes an encoded sketch, refusing one without the platform mapping.
func DecodeSketch(b []byte) (*ddsketch.DDSketch, error) {
	s, err := ddsketch.DecodeDDSketch(b, storeProvider, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid sketch: %w", err)
	}
	if s.IndexMapping == nil || !s.IndexMapping.Equals(platformMapping) {
		return nil, ErrForeignMapping
	}
	return s, nil
}
