package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// instanceRow is the row an SDK instance would send for values and units.
func instanceRow(t *testing.T, values []float64, units []int) telemetry.Row {
	t.Helper()
	r := telemetry.Row{Flag: "f", Variant: "on", Metric: telemetry.RequestMetric, Count: int64(len(values))}
	s := telemetry.NewSketch()
	for _, v := range values {
		r.Sum += v
		r.SumSq += v * v
		r.SumLog += math.Log(v)
		r.SumLogSq += math.Log(v) * math.Log(v)
		if err := s.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	r.Sketch = telemetry.EncodeSketch(s)
	r.UnitSketch = testenv.Units(units...)
	return r
}

// TestMergeAcrossInstances merges the rows of three instances: counts and sums are exact,
// quantiles are those of one sketch of every value (so within 1 % of the true ones), and units
// seen by several instances count once.
func TestMergeAcrossInstances(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var all [3][]float64
	var every []float64
	var errorsTotal int64
	for i := range 30000 {
		// Latencies in eighths of a millisecond, log-normal around 50 ms: exact in float64, so
		// that sums added in any grouping are equal.
		v := math.Max(1, math.Round(8*math.Exp(math.Log(50)+0.8*rng.NormFloat64()))) / 8
		all[i%3] = append(all[i%3], v)
		every = append(every, v)
	}
	unitRanges := [3][2]int{{0, 5000}, {3000, 8000}, {6000, 11000}}
	var merged Aggregate
	for i, values := range all {
		var units []int
		for u := unitRanges[i][0]; u < unitRanges[i][1]; u++ {
			units = append(units, u)
		}
		row := instanceRow(t, values, units)
		row.Errors = int64(i + 1)
		errorsTotal += row.Errors
		a, err := FromRow(row)
		if err != nil {
			t.Fatal(err)
		}
		if err := merged.Merge(a); err != nil {
			t.Fatal(err)
		}
	}

	want := instanceRow(t, every, nil)
	if merged.Count != int64(len(every)) || merged.Errors != errorsTotal {
		t.Errorf("count %d, errors %d; want %d, %d", merged.Count, merged.Errors, len(every), errorsTotal)
	}
	if merged.Sum != want.Sum || merged.SumSq != want.SumSq {
		t.Errorf("sums %v, %v; want exactly %v, %v", merged.Sum, merged.SumSq, want.Sum, want.SumSq)
	}
	if math.Abs(merged.SumLog-want.SumLog) > 1e-9*want.SumLog || math.Abs(merged.SumLogSq-want.SumLogSq) > 1e-9*want.SumLogSq {
		t.Errorf("log sums %v, %v; want %v, %v", merged.SumLog, merged.SumLogSq, want.SumLog, want.SumLogSq)
	}

	one, err := FromRow(want)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(every)
	for _, q := range []float64{0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999} {
		got, ok := merged.Quantile(q)
		single, _ := one.Quantile(q)
		exact := every[int(q*float64(len(every)-1))]
		if !ok || got != single {
			t.Errorf("p%v of the merge = %v, %v; one sketch of every value gives %v", 100*q, got, ok, single)
		}
		if rel := math.Abs(got-exact) / exact; rel > telemetry.SketchRelativeAccuracy {
			t.Errorf("p%v = %v, the true value is %v: %.2f%% off, more than 1%%", 100*q, got, exact, 100*rel)
		}
	}

	var union telemetry.HLL
	var units []int
	for u := range 11000 {
		units = append(units, u)
	}
	if err := union.UnmarshalBinary(testenv.Units(units...)); err != nil {
		t.Fatal(err)
	}
	if got, want := merged.UnitCount(), union.Estimate(); got != want {
		t.Errorf("merged units %d, the HyperLogLog of every unit estimates %d", got, want)
	}
	if got := merged.UnitCount(); math.Abs(float64(got)-11000)/11000 > 0.05 {
		t.Errorf("merged units %d, want 11000 within 5%% (1.6%% standard error)", got)
	}
}

func TestFromRowRefusesForeignSketches(t *testing.T) {
	m, err := mapping.NewLogarithmicMapping(0.02)
	if err != nil {
		t.Fatal(err)
	}
	foreign := ddsketch.NewDDSketch(m, store.NewDenseStore(), store.NewDenseStore())
	if err := foreign.Add(10); err != nil {
		t.Fatal(err)
	}
	if _, err := FromRow(telemetry.Row{Count: 1, Sketch: telemetry.EncodeSketch(foreign)}); !errors.Is(err, telemetry.ErrForeignMapping) {
		t.Errorf("FromRow of a 2 %% sketch = %v, want %v", err, telemetry.ErrForeignMapping)
	}
	if _, err := FromRow(telemetry.Row{UnitSketch: []byte{9, 9}}); !errors.Is(err, telemetry.ErrInvalidHLL) {
		t.Errorf("FromRow of a broken unit sketch = %v, want %v", err, telemetry.ErrInvalidHLL)
	}
}

func TestMergeDomain(t *testing.T) {
	key := domain.TelemetryKey{Project: "p", Environment: "e", Flag: "f", Variant: "on", Metric: telemetry.RequestMetric,
		Window: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Resolution: time.Hour}
	at := func(m int) time.Time { return key.Window.Add(time.Duration(m) * time.Minute) }
	a := testenv.Observations(key, 1, 10, 20)
	a.LastSeen = at(5)
	b := testenv.Observations(key, 0, 30)
	b.Window, b.LastSeen = at(1), at(9)
	c := testenv.Exposures(key, 7, 1, 2)
	c.LastSeen = at(2)
	dst := domain.TelemetryAggregate{TelemetryKey: key}
	if err := MergeDomain(&dst, a, b, c); err != nil {
		t.Fatal(err)
	}
	want := testenv.Observations(key, 1, 10, 20, 30)
	want.Evaluations, want.Units, want.LastSeen = 7, testenv.Units(1, 2), at(9)
	d, err := FromDomain(dst)
	if err != nil {
		t.Fatal(err)
	}
	w, err := FromDomain(want)
	if err != nil {
		t.Fatal(err)
	}
	if dst.TelemetryKey != key || dst.Evaluations != 7 || dst.Count != 3 || dst.Errors != 1 || dst.Sum != 60 ||
		dst.SumSq != 1400 || !slices.Equal(dst.Units, want.Units) || !dst.LastSeen.Equal(want.LastSeen) {
		t.Errorf("MergeDomain:\n got %+v\nwant %+v", dst, want)
	}
	for _, q := range []float64{0, 0.5, 1} {
		got, _ := d.Quantile(q)
		exp, _ := w.Quantile(q)
		if got != exp {
			t.Errorf("p%v = %v, want %v", 100*q, got, exp)
		}
	}
}
