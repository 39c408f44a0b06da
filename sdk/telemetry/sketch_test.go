package telemetry_test

import (
	"errors"
	"math"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

func TestSketchRoundTrip(t *testing.T) {
	s := telemetry.NewSketch()
	for i := 1; i <= 1000; i++ {
		if err := s.Add(float64(i) / 10); err != nil {
			t.Fatal(err)
		}
	}
	back, err := telemetry.DecodeSketch(telemetry.EncodeSketch(s))
	if err != nil {
		t.Fatal(err)
	}
	if back.GetCount() != 1000 {
		t.Fatalf("count %v after the round trip", back.GetCount())
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
		want, _ := s.GetValueAtQuantile(q)
		if got, _ := back.GetValueAtQuantile(q); got != want {
			t.Errorf("q%v: %v after the round trip, %v before", q, got, want)
		}
	}
	if err := telemetry.NewSketch().MergeWith(back); err != nil {
		t.Errorf("a decoded sketch does not merge with a new one: %v", err)
	}
}

// AddWithLog fills the same bins as Add, over the whole range of durations and beyond, bin
// boundaries included.
func TestAddWithLog(t *testing.T) {
	want, got := telemetry.NewSketch(), telemetry.NewSketch()
	values := []float64{0, -3, 1e-300}
	for v := 1e-9; v < 1e12; v *= 1.0007 {
		values = append(values, v, math.Nextafter(v, 0), math.Nextafter(v, math.Inf(1)))
	}
	for i := -1500; i < 1500; i++ {
		b := want.LowerBound(i) // a bin boundary, and its neighbours
		values = append(values, b, math.Nextafter(b, 0), math.Nextafter(b, math.Inf(1)))
	}
	for _, v := range values {
		want.Add(v)
		telemetry.AddWithLog(got, v, math.Log(v))
	}
	bins := map[int]float64{}
	want.GetPositiveValueStore().ForEach(func(i int, n float64) bool { bins[i] = n; return false })
	mismatches := 0
	got.GetPositiveValueStore().ForEach(func(i int, n float64) bool {
		if bins[i] != n {
			mismatches++
		}
		delete(bins, i)
		return false
	})
	if mismatches > 0 || len(bins) > 0 || got.GetCount() != want.GetCount() || got.GetZeroCount() != want.GetZeroCount() {
		t.Fatalf("%d bins differ, %d missing; counts %v and %v, zero counts %v and %v",
			mismatches, len(bins), got.GetCount(), want.GetCount(), got.GetZeroCount(), want.GetZeroCount())
	}
}

func TestDecodeSketchRefusesForeignMappings(t *testing.T) {
	foreign, err := ddsketch.LogCollapsingLowestDenseDDSketch(0.02, 2048)
	if err != nil {
		t.Fatal(err)
	}
	foreign.Add(42)
	if _, err := telemetry.DecodeSketch(telemetry.EncodeSketch(foreign)); !errors.Is(err, telemetry.ErrForeignMapping) {
		t.Fatalf("a sketch with 2 %% accuracy: error %v, want ErrForeignMapping", err)
	}
	if _, err := telemetry.DecodeSketch([]byte{0xff, 0x01, 0x02}); err == nil || errors.Is(err, telemetry.ErrForeignMapping) {
		t.Fatalf("garbage: error %v, want a decoding error", err)
	}
}
