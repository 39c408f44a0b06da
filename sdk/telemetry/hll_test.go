package telemetry_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// mix is SplitMix64's finaliser: distinct inputs give the well-mixed hashes an HLL needs.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func hllOf(from, to uint64) *telemetry.HLL {
	h := new(telemetry.HLL)
	for i := from; i < to; i++ {
		h.Add(mix(i))
	}
	return h
}

func within(t *testing.T, what string, got int64, want float64, rel float64) {
	t.Helper()
	if math.Abs(float64(got)-want) > rel*want {
		t.Errorf("%s: estimate %d, want %.0f within %.0f %%", what, got, want, 100*rel)
	}
}

func TestHLLEstimate(t *testing.T) {
	if got := new(telemetry.HLL).Estimate(); got != 0 {
		t.Fatalf("empty HLL estimates %d", got)
	}
	for _, n := range []uint64{100, 10_000, 1_000_000} {
		h := hllOf(0, n)
		within(t, "distinct keys", h.Estimate(), float64(n), 0.03)
		for i := range n / 10 { // seeing units again changes nothing
			h.Add(mix(i))
		}
		within(t, "keys seen twice", h.Estimate(), float64(n), 0.03)
	}
}

// Around 2.5 × 2^p units, where the classic estimator switches from linear counting to the
// raw estimate, the estimate stays unbiased: over 20 sets, the mean error is below 1 %.
func TestHLLEstimateHasNoBiasAtTheSwitch(t *testing.T) {
	for _, n := range []uint64{8_000, 10_000, 10_500, 11_000, 12_000, 15_000} {
		var sum float64
		const sets = 20
		for s := range uint64(sets) {
			h := hllOf(s<<40, s<<40+n)
			sum += float64(h.Estimate())/float64(n) - 1
		}
		if mean := sum / sets; math.Abs(mean) > 0.01 {
			t.Errorf("%d units: mean relative error %+.2f %%", n, 100*mean)
		}
	}
}

func TestHLLMerge(t *testing.T) {
	a, b := hllOf(0, 60_000), hllOf(40_000, 100_000)
	a.Merge(b)
	within(t, "union of overlapping sets", a.Estimate(), 100_000, 0.03)
	within(t, "merged-in set unchanged", b.Estimate(), 60_000, 0.03)
}

func TestHLLRegister(t *testing.T) {
	h := new(telemetry.HLL)
	for i := range uint64(1000) {
		idx, rank := telemetry.HLLRegister(mix(i))
		if idx < 0 || idx >= telemetry.HLLRegisters || rank < 1 {
			t.Fatalf("hash %d: register %d rank %d", i, idx, rank)
		}
		h.SetMax(idx, rank)
	}
	within(t, "registers set one by one", h.Estimate(), 1000, 0.03)
}

func TestHLLMarshalRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      uint64
		format byte
	}{{"empty", 0, 1}, {"sparse", 100, 1}, {"dense", 1_000_000, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			h := hllOf(0, tc.n)
			data, err := h.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if data[0] != tc.format {
				t.Fatalf("format byte %d, want %d", data[0], tc.format)
			}
			var back telemetry.HLL
			if err := back.UnmarshalBinary(data); err != nil {
				t.Fatal(err)
			}
			again, _ := back.MarshalBinary()
			if !bytes.Equal(again, data) || back.Estimate() != h.Estimate() {
				t.Fatalf("round trip changed the registers: estimate %d, want %d", back.Estimate(), h.Estimate())
			}
		})
	}
}

func TestHLLUnmarshalRejectsGarbage(t *testing.T) {
	dense := make([]byte, 1+telemetry.HLLRegisters)
	dense[0] = 2
	tooHigh := bytes.Clone(dense)
	tooHigh[7] = 54
	for name, data := range map[string][]byte{
		"empty":             nil,
		"unknown format":    {3, 0, 0, 1},
		"sparse torn pair":  {1, 0, 0},
		"sparse index":      {1, 0x00, 0x10, 1}, // register 4096
		"sparse zero rank":  {1, 5, 0, 0},
		"sparse rank":       {1, 5, 0, 54},
		"dense short":       dense[:100],
		"dense long":        append(bytes.Clone(dense), 0),
		"dense rank":        tooHigh,
		"JSON, not an HLL":  []byte(`{"units":3}`),
		"format byte alone": {2},
	} {
		h := hllOf(0, 10)
		before := h.Estimate()
		if err := h.UnmarshalBinary(data); !errors.Is(err, telemetry.ErrInvalidHLL) {
			t.Errorf("%s: error %v, want ErrInvalidHLL", name, err)
		}
		if h.Estimate() != before {
			t.Errorf("%s: a refused encoding changed the HLL", name)
		}
	}
}
