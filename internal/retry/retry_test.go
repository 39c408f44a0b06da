package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestForeverBacksOffAndResetsAfterAConnection(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outcomes := []bool{false, false, false, true, false} // connected or not, per attempt
	var waits []time.Duration
	attempt := 0
	Forever(ctx, 10*time.Millisecond, 30*time.Millisecond,
		func(context.Context) (bool, error) {
			connected := outcomes[attempt]
			attempt++
			if attempt == len(outcomes) {
				cancel()
			}
			return connected, errors.New("gone")
		},
		func(err error, wait time.Duration) { waits = append(waits, wait) })

	if attempt != len(outcomes) {
		t.Fatalf("%d attempts, want %d", attempt, len(outcomes))
	}
	// Delays 10, 20, 30 (capped) ms, then 10 again after the connected attempt; each wait is
	// between half and all of its delay.
	want := []time.Duration{10, 20, 30, 10}
	if len(waits) != len(want) {
		t.Fatalf("waits %v", waits)
	}
	for i, w := range waits {
		d := want[i] * time.Millisecond
		if w < d/2 || w > d {
			t.Errorf("wait %d = %v, want between %v and %v", i, w, d/2, d)
		}
	}
}

func TestForeverReturnsWhenTheContextEndsDuringAWait(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	Forever(ctx, time.Hour, time.Hour, func(context.Context) (bool, error) { return false, errors.New("down") }, nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Forever waited %v after its context ended", d)
	}
}
