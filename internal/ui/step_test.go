package ui

import (
	"testing"
	"time"
)

func TestStepForFollowsTheRangeAndTheWindow(t *testing.T) {
	for _, tc := range []struct {
		span, window, want time.Duration
	}{
		{15 * time.Minute, time.Second, 10 * time.Second},
		{time.Hour, time.Second, 30 * time.Second},
		{6 * time.Hour, time.Second, 5 * time.Minute},
		{24 * time.Hour, time.Second, 15 * time.Minute},
		{7 * 24 * time.Hour, time.Second, 2 * time.Hour},
		{15 * time.Minute, 10 * time.Second, 10 * time.Second},
		// Never finer than the window, and a whole number of windows.
		{15 * time.Minute, time.Minute, time.Minute},
		{15 * time.Minute, 7 * time.Second, 14 * time.Second},
		{7 * 24 * time.Hour, 7 * time.Second, 84 * time.Minute},
	} {
		got := stepFor(tc.span, tc.window, maxChartPoints)
		if got != tc.want || got%tc.window != 0 || tc.span/got > maxChartPoints {
			t.Errorf("step over %s with %s windows: %s, want %s", tc.span, tc.window, got, tc.want)
		}
	}
}

// Every range the analytics page offers gets 60 to 120 points with one- and ten-second windows.
func TestEveryRangeHasSixtyToAHundredAndTwentyPoints(t *testing.T) {
	for _, window := range []time.Duration{time.Second, 10 * time.Second} {
		for _, r := range analyticsRanges {
			if n := r.Span / stepFor(r.Span, window, maxChartPoints); n < 60 || n > 120 {
				t.Errorf("%s with %s windows: %d points", r.Name, window, n)
			}
		}
	}
}
