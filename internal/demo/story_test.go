package demo

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/rollout"
)

// waitUntil returns once the check holds, with the check's own error, or, past its limit,
// with an error naming what the story waited for; an interrupted story gets the interruption.
func TestWaitUntil(t *testing.T) {
	calls := 0
	err := waitUntil(context.Background(), time.Second, "the third call", func(context.Context) (bool, error) {
		calls++
		return calls == 3, nil
	})
	if err != nil || calls != 3 {
		t.Errorf("done at the third call: %v after %d calls", err, calls)
	}

	broken := errors.New("server gone")
	if err := waitUntil(context.Background(), time.Second, "x", func(context.Context) (bool, error) { return false, broken }); !errors.Is(err, broken) {
		t.Errorf("a failing check: %v", err)
	}

	never := func(context.Context) (bool, error) { return false, nil }
	if err := waitUntil(context.Background(), 300*time.Millisecond, "errors rising for staff", never); err == nil ||
		err.Error() != "waited 300ms for errors rising for staff" {
		t.Errorf("past the limit: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := waitUntil(ctx, time.Minute, "x", never); !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted: %v", err)
	}
}

func TestWords(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{count(0), "0"},
		{count(999), "999"},
		{count(28411), "28,411"},
		{count(-1234567), "-1,234,567"},
		{percent(0.0123), "1.2 %"},
		{signed(-0.214), "-21 %"},
		{explain("advance:step_cap"), "no harm shown by the end of the step"},
		{explain("critical:error_rate"), "proven harm to the error rate"},
		{explain("warning:latency_tail"), "a hint of harm to the latency tail holds the step"},
		{explain("escalated:warning:latency"), "a lasting warning: a person must decide"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	ev := rollout.Evidence{Metric: rollout.ErrorRate, TreatmentN: 73, ControlN: 1387, TreatmentValue: 0.151, ControlValue: 0.013,
		Estimate: 10.61, Lower: 4.484, Upper: 23.583, LogECritical: math.Log(627)}
	want := "error rate   15.1 % of 73 requests with it, 1.3 % of 1,387 without: +1061 % (95 % CI +448 % to +2358 %), e-value of harm 627"
	if got := describe(ev); got != want {
		t.Errorf("describe:\n got %q\nwant %q", got, want)
	}
}
