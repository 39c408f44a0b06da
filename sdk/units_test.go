package sdk

import (
	"math"
	"sync"
	"testing"

	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// mix is SplitMix64's finaliser: the well-mixed hashes that contexts' key hashes are.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func unitsOf(from, to uint64) *units {
	u := &units{}
	for i := from; i < to; i++ {
		u.add(mix(i))
		u.add(mix(i)) // seen twice, counted once
	}
	return u
}

func near(got int64, want float64) bool { return math.Abs(float64(got)-want) <= 0.03*want }

// Units are counted exactly up to the cap, then estimated; either way the sketch holds them.
func TestUnitsExactThenEstimated(t *testing.T) {
	u := unitsOf(0, exactUnits)
	if u.hll != nil || u.count() != exactUnits {
		t.Fatalf("%d units counted as %d (estimated: %v)", exactUnits, u.count(), u.hll != nil)
	}
	var h telemetry.HLL
	if err := h.UnmarshalBinary(u.sketch()); err != nil || !near(h.Estimate(), exactUnits) {
		t.Fatalf("the sketch of %d units estimates %d (%v)", exactUnits, h.Estimate(), err)
	}
	u.add(mix(exactUnits))
	if u.hll == nil || !near(u.count(), exactUnits+1) {
		t.Fatalf("past the cap: %d", u.count())
	}
	if (&units{}).sketch() != nil || (&units{}).count() != 0 {
		t.Fatal("no units, yet a sketch or a count")
	}
}

func TestUnitsMerge(t *testing.T) {
	a := unitsOf(0, 100)
	a.merge(unitsOf(50, 150))
	if a.hll != nil || a.count() != 150 {
		t.Fatalf("exact union: %d", a.count())
	}
	a.merge(unitsOf(100, 400)) // past the cap
	if a.hll == nil || !near(a.count(), 400) {
		t.Fatalf("union past the cap: %d", a.count())
	}
	b := unitsOf(0, 10)
	b.merge(unitsOf(300, 1000))
	if !near(b.count(), 710) {
		t.Fatalf("an estimated set merged into an exact one: %d", b.count())
	}
}

// Cores adding the same units at once count each once; past the cap the HLL takes over, and
// the units held exactly join it when the set is read.
func TestUnitSetConcurrent(t *testing.T) {
	for _, n := range []uint64{200, 5000} {
		s := new(unitSet)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for i := range n {
					s.add(mix(i))
				}
			})
		}
		wg.Wait()
		var u units
		s.addTo(&u)
		if n <= exactUnits && (u.hll != nil || u.count() != int64(n)) || !near(u.count(), float64(n)) {
			t.Fatalf("%d units counted as %d", n, u.count())
		}
	}
}
