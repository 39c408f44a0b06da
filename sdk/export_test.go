package sdk

import (
	"context"
	"time"
)

// WithBackoff shortens the reconnection delays for tests.
func WithBackoff(o Options, base, max time.Duration) Options {
	o.backoffBase, o.backoffMax = base, max
	return o
}

// Backoff exposes the reconnection delay for tests.
var Backoff = backoff

// WithClock sets the wall clock that places telemetry windows.
func WithClock(o Options, now func() time.Time) Options {
	o.now = now
	return o
}

// WithMaxCells bounds the outcome aggregates of a telemetry window.
func WithMaxCells(o Options, n int) Options {
	o.maxCells = n
	return o
}

// FlushTelemetry does what the reporter does at a window boundary: it ends the window at the
// clock's last multiple of the interval and sends the pending batches.
func FlushTelemetry(c *Client) {
	r := c.reporter
	r.cut(r.now().Truncate(r.interval))
	r.send(context.Background())
}
