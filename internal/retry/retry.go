// Package retry keeps a connection to something that may go away (an upstream stream, a
// database listener) by reconnecting with capped exponential backoff and jitter.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Forever calls connect until ctx ends. After each failure it waits between half and all of a
// delay that doubles from minWait up to maxWait, jittered so that many clients that lost the
// same server do not return at once; an attempt that got connected before failing starts the
// doubling over. lost, when set, is told of each failure and the wait before the next attempt.
func Forever(ctx context.Context, minWait, maxWait time.Duration,
	connect func(context.Context) (connected bool, err error), lost func(err error, wait time.Duration)) {
	var delay time.Duration
	for {
		connected, err := connect(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			delay = 0
		}
		delay = min(max(2*delay, minWait), maxWait)
		wait := delay/2 + rand.N(delay/2+1)
		if lost != nil {
			lost(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}
