package sdk

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Recorder is a client that serves the configurations its caller installs and records
// telemetry as a server-mode client does (exposures, request outcomes and tracked metrics,
// pre-aggregated per window), but reads no clock and sends nothing: the caller ends each
// window with Cut and delivers its batches. It serves programs that keep time and carry
// batches themselves, such as a simulator running many SDK instances on a virtual clock.
// Evaluating and recording are safe for concurrent use, as on any client; Cut is for one
// goroutine at a time. Close the recorder when done.
type Recorder struct {
	*Client
	batcher batcher
}

// NewRecorder returns a recorder that reports as instance, serving s, whose first window
// starts at start.
func NewRecorder(instance string, s *snapshot.Snapshot, start time.Time) (*Recorder, error) {
	if instance == "" {
		return nil, errors.New("sdk: NewRecorder: the instance name is required")
	}
	c := &Client{log: slog.New(slog.DiscardHandler), stop: make(chan struct{}), ready: make(chan struct{})}
	r := &Recorder{Client: c, batcher: c.recordTelemetry(instance, start, defaultMaxCells)}
	if err := r.Install(s); err != nil {
		return nil, err
	}
	c.markReady()
	c.startListeners()
	return r, nil
}

// Install compiles s and serves it from now on, as a client does with a snapshot the server
// sends; telemetry recorded from then on carries its flags' versions.
func (r *Recorder) Install(s *snapshot.Snapshot) error {
	snap, err := eval.Compile(s)
	if err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	r.install(s, snap)
	return nil
}

// Cut ends the current window at end and returns its batches, numbered after the previous
// ones; none when the window recorded nothing.
func (r *Recorder) Cut(end time.Time) []telemetry.Batch {
	return r.batcher.cut(end, 0)
}
