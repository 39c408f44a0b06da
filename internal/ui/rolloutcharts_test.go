package ui

import (
	"testing"
	"time"
)

func TestSeriesStepFollowsTheSpanInWholeWindows(t *testing.T) {
	for _, tc := range []struct {
		span, window, want time.Duration
	}{
		{0, time.Second, time.Second},                           // a rollout just started
		{90 * time.Second, time.Second, time.Second},            // 90 points
		{121 * time.Second, time.Second, 2 * time.Second},       // 61 points
		{20 * time.Minute, time.Second, 10 * time.Second},       // 120 points
		{20 * time.Minute, time.Minute, time.Minute},            // never finer than a window: 20 points
		{3 * time.Hour, time.Minute, 2 * time.Minute},           // 90 points
		{30 * 24 * time.Hour, time.Minute, 6 * time.Hour},       // 120 points
		{time.Minute, 1500 * time.Millisecond, 2 * time.Second}, // whole seconds
	} {
		step := seriesStep(tc.span, tc.window)
		if step != tc.want {
			t.Errorf("step over %s with %s windows: %s, want %s", tc.span, tc.window, step, tc.want)
		}
		if points := (tc.span + step - 1) / step; points > chartPoints {
			t.Errorf("step over %s: %d points, more than %d", tc.span, points, chartPoints)
		}
	}
}
