package sdk

import "time"

// WithBackoff shortens the reconnection delays for tests.
func WithBackoff(o Options, base, max time.Duration) Options {
	o.backoffBase, o.backoffMax = base, max
	return o
}

// Backoff exposes the reconnection delay for tests.
var Backoff = backoff
