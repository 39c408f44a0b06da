package eval_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

type bucketVector struct {
	Salt   string `json:"salt"`
	Value  string `json:"value"`
	Bucket uint32 `json:"bucket"`
}

func loadVectors(t *testing.T) []bucketVector {
	t.Helper()
	data, err := os.ReadFile("testdata/bucketing_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var vs []bucketVector
	if err := dec.Decode(&vs); err != nil {
		t.Fatalf("testdata/bucketing_vectors.json: %v", err)
	}
	return vs
}

// TestBucketVectors pins the bucketing formula: the vectors were computed by an independent
// implementation of the formula documented in bucket.go, and every SDK must reproduce them.
func TestBucketVectors(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) < 40 {
		t.Errorf("only %d vectors, want at least 40", len(vs))
	}
	var empty, multiByte, long, slashSalt bool
	for _, v := range vs {
		if got := eval.Bucket(v.Salt, v.Value); got != v.Bucket {
			t.Errorf("Bucket(%q, %q) = %d, want %d", v.Salt, v.Value, got, v.Bucket)
		}
		if v.Bucket >= 100000 {
			t.Errorf("vector bucket %d out of range", v.Bucket)
		}
		empty = empty || v.Value == ""
		multiByte = multiByte || utf8.RuneCountInString(v.Value) < len(v.Value)
		long = long || len(v.Value) >= 1000
		slashSalt = slashSalt || strings.Contains(v.Salt, "/")
	}
	if !empty || !multiByte || !long || !slashSalt {
		t.Errorf("vectors lack a case: empty value %v, multi-byte value %v, long value %v, salt with '/' %v",
			empty, multiByte, long, slashSalt)
	}
}

// TestBucketVectorsThroughEvaluate checks that a rollout evaluates with the pinned buckets: each
// vector's salt and value, as a rollout salt and a targeting key, land in the variant whose
// range holds the vector's bucket.
func TestBucketVectorsThroughEvaluate(t *testing.T) {
	checked := 0
	for i, v := range loadVectors(t) {
		if v.Value == "" || v.Salt == "" {
			continue // an empty unit cannot be bucketed; an empty salt means the flag key
		}
		f := boolFlag("f")
		// "on" takes exactly [0, bucket+1): the unit is the last one in it.
		pct := float64(v.Bucket+1) / 1000
		f.Default = snapshot.Serve{Rollout: &snapshot.Rollout{Salt: v.Salt,
			Weights: snapshot.Weights{{Variant: "on", Percent: pct}, {Variant: "off", Percent: 100 - pct}}}}
		edge := boolFlag("edge")
		pct = float64(v.Bucket) / 1000 // "on" takes [0, bucket): the unit is just outside it
		edge.Default = snapshot.Serve{Rollout: &snapshot.Rollout{Salt: v.Salt,
			Weights: snapshot.Weights{{Variant: "on", Percent: pct}, {Variant: "off", Percent: 100 - pct}}}}
		s := &snapshot.Snapshot{Flags: []snapshot.Flag{f, edge}}
		if err := s.Validate(); err != nil {
			// 100 - pct may not have three decimals exactly in floating point; skip such vectors.
			t.Logf("vector %d: %v", i, err)
			continue
		}
		cs := mustCompile(t, s)
		ctx := mustContext(t, v.Value, nil)
		if got := cs.Evaluate("f", ctx); got.Variant != "on" {
			t.Errorf("vector %d (bucket %d): [0, %d) serves %q, want on", i, v.Bucket, v.Bucket+1, got.Variant)
		}
		if got := cs.Evaluate("edge", ctx); got.Variant != "off" {
			t.Errorf("vector %d (bucket %d): [0, %d) serves %q, want off", i, v.Bucket, v.Bucket, got.Variant)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("only %d vectors evaluated", checked)
	}
}

func chiSquare(observed []int, expected float64) float64 {
	var x2 float64
	for _, o := range observed {
		d := float64(o) - expected
		x2 += d * d / expected
	}
	return x2
}

const units = 100_000

func userKey(i int) string { return fmt.Sprintf("user-%d", i) }

// TestBucketUniform: 100,000 keys fall into 100 equal bucket ranges evenly. The chi-square
// statistic, with 99 degrees of freedom, must stay below 148.2 (p = 0.001).
func TestBucketUniform(t *testing.T) {
	for _, salt := range []string{"new-checkout", "pricing/v2", "x"} {
		bins := make([]int, 100)
		low := make([]int, 100) // the low digits too, in case the ranges hide a pattern
		for i := range units {
			b := eval.Bucket(salt, userKey(i))
			if b >= 100000 {
				t.Fatalf("bucket %d out of range", b)
			}
			bins[b/1000]++
			low[b%100]++
		}
		const critical = 148.23 // chi-square, df = 99, p = 0.001
		if x2 := chiSquare(bins, units/100); x2 > critical {
			t.Errorf("salt %q: chi-square of the 100 bucket ranges = %.1f > %.1f", salt, x2, critical)
		} else {
			t.Logf("salt %q: chi-square of the 100 bucket ranges = %.1f", salt, x2)
		}
		if x2 := chiSquare(low, units/100); x2 > critical {
			t.Errorf("salt %q: chi-square of bucket mod 100 = %.1f > %.1f", salt, x2, critical)
		}
	}
}

// TestBucketSaltIndependence: the buckets of the same keys under two salts are independent, so
// two experiments do not assign the same users together. Chi-square test of independence on the
// 10×10 contingency table of bucket ranges: df = 81, critical value 126.08 at p = 0.001.
func TestBucketSaltIndependence(t *testing.T) {
	pairs := [][2]string{{"new-checkout", "pricing-page"}, {"exp-1", "exp-2"}, {"a", "a/"}}
	for _, p := range pairs {
		var table [10][10]float64
		var rows, cols [10]float64
		for i := range units {
			key := userKey(i)
			r, c := eval.Bucket(p[0], key)/10000, eval.Bucket(p[1], key)/10000
			table[r][c]++
			rows[r]++
			cols[c]++
		}
		var x2 float64
		for r := range 10 {
			for c := range 10 {
				e := rows[r] * cols[c] / units
				d := table[r][c] - e
				x2 += d * d / e
			}
		}
		const critical = 126.08
		if x2 > critical {
			t.Errorf("salts %q and %q: chi-square of independence = %.1f > %.1f", p[0], p[1], x2, critical)
		} else {
			t.Logf("salts %q and %q: chi-square of independence = %.1f", p[0], p[1], x2)
		}
		// A gross check that the salts are not simply correlated: the share of units in the
		// first 10 % under both salts is near 1 %.
		if both := table[0][0] / units; math.Abs(both-0.01) > 0.002 {
			t.Errorf("salts %q and %q: %.4f of units are in the first range under both", p[0], p[1], both)
		}
	}
}

// TestStickyRamp ramps a rollout through 1, 5, 20, 50 and 100 % "on": every unit that had "on"
// keeps it at each larger weight, and the share of "on" is near the weight.
func TestStickyRamp(t *testing.T) {
	keys := make([]eval.Context, units)
	for i := range keys {
		keys[i] = eval.MustContext(userKey(i), nil)
	}
	var prev []bool
	prevW := 0.0
	for _, w := range []float64{1, 5, 20, 50, 100} {
		f := boolFlag("ramp")
		f.Default = rollout("on", w, "off", 100-w)
		cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{f}})
		on := make([]bool, units)
		count := 0
		for i := range keys {
			r := cs.Evaluate("ramp", &keys[i])
			if r.Reason != eval.ReasonSplit || r.ErrorCode != "" {
				t.Fatalf("w=%v: %+v", w, r)
			}
			on[i] = r.Variant == "on"
			if on[i] {
				count++
			}
			if prev != nil && prev[i] && !on[i] {
				t.Fatalf("%s had on at %v %% and lost it at %v %%", userKey(i), prevW, w)
			}
		}
		share := float64(count) / units
		p := w / 100
		tol := 5*math.Sqrt(p*(1-p)/units) + 1e-9 // five standard deviations
		if math.Abs(share-p) > tol {
			t.Errorf("w=%v %%: share of on = %.4f, want %.4f ± %.4f", w, share, p, tol)
		} else {
			t.Logf("w=%v %%: share of on = %.4f", w, share)
		}
		prev, prevW = on, w
	}
}

// TestThreeVariantShares: the observed shares of a 3-variant rollout are near its weights, and
// units keep their variant when the salt is unchanged.
func TestThreeVariantShares(t *testing.T) {
	f := snapshot.Flag{
		Key: "layout", Type: snapshot.TypeString,
		Variants: snapshot.Variants{{Name: "a", Value: "A"}, {Name: "b", Value: "B"}, {Name: "c", Value: "C"}},
		Config: snapshot.Config{Enabled: true, Default: snapshot.Serve{Rollout: &snapshot.Rollout{
			Weights: snapshot.Weights{{Variant: "a", Percent: 20}, {Variant: "b", Percent: 33.333}, {Variant: "c", Percent: 46.667}},
		}}},
	}
	cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{f}})
	counts := map[string]int{}
	for i := range units {
		ctx := eval.MustContext(userKey(i), nil)
		r := cs.Evaluate("layout", &ctx)
		if r.Reason != eval.ReasonSplit {
			t.Fatalf("%+v", r)
		}
		counts[r.Variant]++
	}
	want := map[string]float64{"a": 0.2, "b": 0.33333, "c": 0.46667}
	var observed []int
	for _, v := range []string{"a", "b", "c"} {
		p := want[v]
		share := float64(counts[v]) / units
		tol := 5 * math.Sqrt(p*(1-p)/units)
		if math.Abs(share-p) > tol {
			t.Errorf("variant %s: share %.4f, want %.4f ± %.4f", v, share, p, tol)
		}
		observed = append(observed, counts[v])
	}
	// Goodness of fit, df = 2, critical value 13.82 at p = 0.001.
	var x2 float64
	for i, v := range []string{"a", "b", "c"} {
		e := want[v] * units
		d := float64(observed[i]) - e
		x2 += d * d / e
	}
	if x2 > 13.82 {
		t.Errorf("chi-square of the 3-variant shares = %.1f > 13.82 (counts %v)", x2, counts)
	}
}
