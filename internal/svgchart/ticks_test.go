package svgchart

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestValueAxis(t *testing.T) {
	tests := []struct {
		name             string
		lo, hi           float64
		fixedLo, fixedHi *float64
		maxTicks         int
		want             []float64
		wantLo, wantHi   float64
	}{
		{name: "unit range", lo: 0, hi: 1, maxTicks: 5, want: []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, wantLo: 0, wantHi: 1},
		{name: "rounded up to the next tick", lo: 0, hi: 97, maxTicks: 5, want: []float64{0, 20, 40, 60, 80, 100}, wantLo: 0, wantHi: 100},
		{name: "across zero", lo: -3.2, hi: 7.9, maxTicks: 5, want: []float64{-5, 0, 5, 10}, wantLo: -5, wantHi: 10},
		{name: "large values", lo: 1e6, hi: 1.38e6, maxTicks: 4, want: []float64{1e6, 1.1e6, 1.2e6, 1.3e6, 1.4e6}, wantLo: 1e6, wantHi: 1.4e6},
		{name: "small values", lo: 0.0012, hi: 0.0042, maxTicks: 4, want: []float64{0.001, 0.002, 0.003, 0.004, 0.005}, wantLo: 0.001, wantHi: 0.005},
		{name: "percentages", lo: 0, hi: 0.034, maxTicks: 5, want: []float64{0, 0.01, 0.02, 0.03, 0.04}, wantLo: 0, wantHi: 0.04},
		{name: "negative only", lo: -40, hi: -12, maxTicks: 3, want: []float64{-40, -30, -20, -10}, wantLo: -40, wantHi: -10},
		{name: "one value", lo: 5, hi: 5, maxTicks: 5, want: []float64{4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6}, wantLo: 4.4, wantHi: 5.6},
		{name: "all zero", lo: 0, hi: 0, maxTicks: 4, want: []float64{0, 0.5, 1, 1.5, 2}, wantLo: 0, wantHi: 2},
		{name: "fixed bounds kept, ticks inside", lo: 0, hi: 3, fixedLo: ptr(0.05), fixedHi: ptr(0.95), maxTicks: 5,
			want: []float64{0.2, 0.4, 0.6, 0.8}, wantLo: 0.05, wantHi: 0.95},
		{name: "fixed minimum above the data", lo: 0, hi: 5, fixedLo: ptr(10), maxTicks: 5,
			want: []float64{10, 10.5, 11, 11.5}, wantLo: 10, wantHi: 11.5},
		{name: "fixed maximum only", lo: 2, hi: 9, fixedHi: ptr(5), maxTicks: 5, want: []float64{2, 3, 4, 5}, wantLo: 2, wantHi: 5},
		{name: "contradictory fixed bounds ignored", lo: 0, hi: 1, fixedLo: ptr(5), fixedHi: ptr(1), maxTicks: 5,
			want: []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, wantLo: 0, wantHi: 1},
		{name: "non-finite fixed bound ignored", lo: 0, hi: 1, fixedHi: ptr(math.Inf(1)), maxTicks: 5,
			want: []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, wantLo: 0, wantHi: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ax := valueAxis(tc.lo, tc.hi, tc.fixedLo, tc.fixedHi, tc.maxTicks)
			if !approxEqual(ax.ticks, tc.want) {
				t.Errorf("ticks %v, want %v", ax.ticks, tc.want)
			}
			if !approxEqual([]float64{ax.lo, ax.hi}, []float64{tc.wantLo, tc.wantHi}) {
				t.Errorf("axis %v..%v, want %v..%v", ax.lo, ax.hi, tc.wantLo, tc.wantHi)
			}
		})
	}
}

func TestValueAxisExtremes(t *testing.T) {
	for _, r := range [][2]float64{
		{-math.MaxFloat64, math.MaxFloat64},
		{1e-300, 2e-300},
		{1, 1 + 1e-15},
		{-1e200, 1e-200},
		{math.MaxFloat64, math.MaxFloat64},
	} {
		ax := valueAxis(r[0], r[1], nil, nil, 5)
		if !finite(ax.lo) || !finite(ax.hi) || !finite(ax.step) || !(ax.lo < ax.hi) || len(ax.ticks) < 2 {
			t.Errorf("valueAxis(%g, %g) = %+v, want a finite range with ticks", r[0], r[1], ax)
		}
		for _, v := range ax.ticks {
			if !finite(v) {
				t.Errorf("valueAxis(%g, %g): tick %v", r[0], r[1], v)
			}
		}
	}
}

func approxEqual(got, want []float64) bool {
	return slices.EqualFunc(got, want, func(a, b float64) bool {
		return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
	})
}

func TestTickLabels(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi float64
		max    int
		format func(float64) string
		want   []string
	}{
		{name: "decimals from the step", lo: 0, hi: 1, max: 5, want: []string{"0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{name: "integers", lo: 0, hi: 97, max: 5, want: []string{"0", "20", "40", "60", "80", "100"}},
		{name: "one suffix for the axis", lo: 0, hi: 1400, max: 3, want: []string{"0", "0.5k", "1.0k", "1.5k"}},
		{name: "millions", lo: 1e6, hi: 1.2e6, max: 2, want: []string{"1.0M", "1.1M", "1.2M"}},
		{name: "negative", lo: -10, hi: 10, max: 4, want: []string{"-10", "-5", "0", "5", "10"}},
		{name: "huge values in exponent notation", lo: 0, hi: 3e16, max: 3, want: []string{"0", "1e+16", "2e+16", "3e+16"}},
		{name: "caller's format", lo: 0, hi: 0.02, max: 2, format: Percent, want: []string{"0 %", "1 %", "2 %"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tickLabels(valueAxis(tc.lo, tc.hi, nil, nil, tc.max), tc.format)
			if !slices.Equal(got, tc.want) {
				t.Errorf("labels %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompactAndPercent(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 1: "1", -1: "-1", 0.5: "0.5", 999: "999", 1000: "1k", 1234: "1.23k", 999999: "1M",
		-25500: "-25.5k", 3.2e9: "3.2G", 4e12: "4T", 2e15: "2e+15", 0.00002: "2e-05", 0.00123: "0.00123",
		math.NaN(): "n/a", math.Inf(1): "∞", math.Inf(-1): "-∞",
	} {
		if got := Compact(v); got != want {
			t.Errorf("Compact(%v) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0 %", 0.005: "0.5 %", 0.12345: "12.3 %", 1: "100 %", -0.02: "-2 %"} {
		if got := Percent(v); got != want {
			t.Errorf("Percent(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name   string
		t0, t1 string
		want   []string
	}{
		{name: "seconds", t0: "2025-03-04T12:00:07Z", t1: "2025-03-04T12:00:52Z",
			want: []string{"12:00:10", "12:00:20", "12:00:30", "12:00:40", "12:00:50"}},
		{name: "minutes", t0: "2025-03-04T12:02:00Z", t1: "2025-03-04T12:31:00Z",
			want: []string{"12:05", "12:10", "12:15", "12:20", "12:25", "12:30"}},
		{name: "hours across midnight show the date", t0: "2025-03-04T17:30:00Z", t1: "2025-03-05T05:00:00Z",
			want: []string{"18:00", "20:00", "22:00", "Mar 5", "02:00", "04:00"}},
		{name: "days", t0: "2025-03-04T09:00:00Z", t1: "2025-03-13T09:00:00Z",
			want: []string{"Mar 5", "Mar 7", "Mar 9", "Mar 11", "Mar 13"}},
		{name: "weeks start on Monday", t0: "2025-03-01T00:00:00Z", t1: "2025-04-20T00:00:00Z",
			want: []string{"Mar 3", "Mar 10", "Mar 17", "Mar 24", "Mar 31", "Apr 7", "Apr 14"}},
		{name: "months", t0: "2024-11-15T00:00:00Z", t1: "2025-10-01T00:00:00Z",
			want: []string{"Jan 2025", "Mar 2025", "May 2025", "Jul 2025", "Sep 2025"}},
		{name: "years", t0: "1999-06-01T00:00:00Z", t1: "2031-01-01T00:00:00Z",
			want: []string{"2000", "2005", "2010", "2015", "2020", "2025", "2030"}},
		{name: "in UTC whatever the input zone", t0: "2025-03-04T14:00:00+02:00", t1: "2025-03-04T20:00:00+02:00",
			want: []string{"12:00", "13:00", "14:00", "15:00", "16:00", "17:00", "18:00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ticks := timeTicks(at(tc.t0), at(tc.t1), 600)
			var got []string
			for _, tk := range ticks {
				got = append(got, tk.label)
				if tk.t.Before(at(tc.t0)) || tk.t.After(at(tc.t1)) {
					t.Errorf("tick %v outside %s..%s", tk.t, tc.t0, tc.t1)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("labels %q, want %q", got, tc.want)
			}
		})
	}
}
