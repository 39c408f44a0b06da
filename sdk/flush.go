package sdk

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mathrand "math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Telemetry reporting (server mode): the client cuts its telemetry into windows of
// Options.TelemetryInterval aligned to multiples of the interval in wall-clock time, so that
// every instance's windows line up with each other and with the server's aggregate windows,
// and POSTs each window to /sdk/v1/telemetry as a telemetry.Batch (gzip-compressed; several
// batches when the window has more rows than one may carry). A batch the server could not
// take (unreachable, 5xx, 429) is kept and sent again, unchanged, with the next window; the
// intake deduplicates by (Instance, Seq). A batch the server refuses (another 4xx: invalid, or
// too late for its window) is dropped. Loss is never silent: Dropped in a later batch counts
// what could not be recorded or sent.

const (
	defaultTelemetryInterval = 10 * time.Second
	// maxPendingWindows bounds the windows whose batches are kept while the server is away: a
	// minute of the default windows, past which the intake refuses them as late anyway.
	// Beyond it the oldest window's batches are dropped.
	maxPendingWindows = 6
	// maxBatchBytes is roughly the most JSON one batch holds before compression, well within
	// the intake's body limit (4 MiB by default).
	maxBatchBytes = 1 << 20
	// maxSendTimeout bounds sending the pending batches; it is at most half the interval, so
	// that a slow server never delays the next window's boundary.
	maxSendTimeout = 10 * time.Second
	// closeFlushTimeout bounds the final flush in Close.
	closeFlushTimeout = 3 * time.Second
)

// reporter cuts windows and sends batches. Its goroutine is the only caller of cut and send
// while the client runs; Close calls them once more after that goroutine has ended.
type reporter struct {
	c        *Client
	url      string
	interval time.Duration
	timeout  time.Duration
	now      func() time.Time

	mu         sync.Mutex
	batcher    batcher
	windows    uint64         // windows reported so far
	pending    []pendingBatch // oldest first
	unreported int64          // dropped observations and rows no batch has carried yet
}

// batcher ends an instance's telemetry windows and numbers their batches. It reads no clock
// and does no I/O: the reporter and a Recorder share it.
type batcher struct {
	c        *Client
	instance string
	sdk      string
	start    time.Time // of the current window
	seq      uint64
}

type pendingBatch struct {
	window        uint64 // which of the reported windows
	seq           uint64
	body          []byte // gzip-compressed JSON
	rows, dropped int64
}

// startTelemetry prepares the outcome aggregation and starts the reporter; c.remote is set.
func (c *Client) startTelemetry() {
	o := &c.opts
	if o.TelemetryInterval == 0 {
		o.TelemetryInterval = defaultTelemetryInterval
	}
	now := o.now
	if now == nil {
		now = time.Now
	}
	maxCells := o.maxCells
	if maxCells == 0 {
		maxCells = defaultMaxCells
	}
	u := *c.remote.base
	u.Path += "/sdk/v1/telemetry"
	r := &reporter{c: c, url: u.String(), interval: o.TelemetryInterval,
		timeout: min(maxSendTimeout, o.TelemetryInterval/2), now: now}
	r.batcher = c.recordTelemetry(rand.Text(), now().Truncate(r.interval), maxCells)
	c.reporter = r
	c.done.Add(1)
	go r.run(c.remote.ctx)
}

// validInterval reports whether a telemetry interval lines SDK windows up with the server's:
// whole seconds that divide a minute.
func validInterval(d time.Duration) bool {
	return d >= time.Second && d%time.Second == 0 && time.Minute%d == 0
}

// sdkVersion is the SDK module's version as the application was built with it.
func sdkVersion() string {
	const path = "github.com/flagpilot/flagpilot/sdk"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
			if m.Path != path {
				continue
			}
			if m.Replace != nil {
				m = m.Replace
			}
			if m.Version != "" && m.Version != "(devel)" {
				return m.Version
			}
		}
	}
	return "devel"
}

// run reports each window when it ends, after a random delay of up to a tenth of the interval
// so that instances do not all send in the same instant.
func (r *reporter) run(ctx context.Context) {
	defer r.c.done.Done()
	var end time.Time
	for {
		next := r.now().Truncate(r.interval).Add(r.interval)
		if !next.After(end) { // the wall clock went back
			next = end.Add(r.interval)
		}
		end = next
		if !r.sleep(end.Sub(r.now())) {
			return
		}
		r.cut(end)
		if !r.sleep(mathrand.N(r.interval/10) + 1) {
			return
		}
		sendCtx, cancel := context.WithTimeout(ctx, r.timeout)
		r.send(sendCtx)
		cancel()
	}
}

// sleep waits d; it returns false when the client is closed first.
func (r *reporter) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.c.stop:
		return false
	case <-t.C:
		return true
	}
}

// final reports the last, partial window when the client closes.
func (r *reporter) final() {
	ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
	defer cancel()
	r.cut(r.now())
	r.send(ctx)
}

// recordTelemetry turns on the aggregation of exposures and outcomes, and returns the batcher
// of the instance's windows from start.
func (c *Client) recordTelemetry(instance string, start time.Time, maxCells int) batcher {
	c.ledger.keepWindows()
	c.outcomes = newOutcomes(maxCells)
	return batcher{c: c, instance: instance, sdk: "go/" + sdkVersion(), start: start}
}

// cut ends the current window at end and queues its batches, unless it has nothing to say.
func (r *reporter) cut(end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	batches := r.batcher.cut(end, r.unreported)
	r.unreported = 0
	if len(batches) == 0 {
		return
	}
	// Pending batches are always those of the latest windows: sending goes oldest first.
	if len(r.pending) > 0 && r.windows-r.pending[0].window+1 >= maxPendingWindows {
		oldest := r.pending[0].window
		for len(r.pending) > 0 && r.pending[0].window == oldest {
			b := r.pending[0]
			r.pending = slices.Delete(r.pending, 0, 1)
			batches[0].Dropped += b.rows + b.dropped
			r.c.log.Warn("telemetry is piling up while the server is away; dropping the oldest batch", "seq", b.seq, "rows", b.rows)
		}
	}
	r.windows++
	for i := range batches {
		b := &batches[i]
		body, err := encodeBatch(b)
		if err != nil { // only strings and finite numbers: cannot happen
			r.c.log.Error("encoding a telemetry batch failed; dropping it", "error", err)
			r.unreported += b.Dropped + int64(len(b.Rows))
		} else {
			r.pending = append(r.pending, pendingBatch{window: r.windows, seq: b.Seq, body: body, rows: int64(len(b.Rows)), dropped: b.Dropped})
		}
	}
}

// cut ends the current window at end and returns its batches, the first of which reports
// dropped besides what the client could not record; none when the window has nothing to say.
func (b *batcher) cut(end time.Time, dropped int64) []telemetry.Batch {
	var table *exposureTable
	if st := b.c.current.Load(); st != nil {
		table = st.exposures
	}
	rows := exposureRows(b.c.ledger.cutWindow(table))
	outcomeRows, unrecorded := b.c.outcomes.cut()
	rows = append(rows, outcomeRows...)
	slices.SortFunc(rows, func(a, b telemetry.Row) int {
		return compareRowKeys(rowKey{a.Flag, a.Variant, a.Version, a.Metric}, rowKey{b.Flag, b.Variant, b.Version, b.Metric})
	})
	rows, unfit := finiteRows(rows)
	dropped += unrecorded + unfit
	start := b.start
	if !end.After(start) { // the intake takes no empty window; only a Close at the boundary cuts one
		end = start.Add(time.Nanosecond)
	}
	b.start = end
	if len(rows) == 0 && dropped == 0 {
		return nil
	}
	chunks := splitRows(rows)
	batches := make([]telemetry.Batch, len(chunks))
	for i, chunk := range chunks {
		b.seq++
		batches[i] = telemetry.Batch{Instance: b.instance, Seq: b.seq, SDK: b.sdk, Start: start, End: end, Rows: chunk}
	}
	batches[0].Dropped = dropped // the window's first batch reports it
	return batches
}

// splitRows cuts a window's rows into batches of at most telemetry.MaxBatchRows rows and
// about maxBatchBytes of JSON; a window with no rows still makes one batch, to report drops.
func splitRows(rows []telemetry.Row) [][]telemetry.Row {
	if len(rows) == 0 {
		return [][]telemetry.Row{{}}
	}
	var out [][]telemetry.Row
	var size, from int
	for i := range rows {
		r := &rows[i]
		// Base64 sketches, names, and numbers at their longest.
		n := 4*(len(r.UnitSketch)+len(r.Sketch))/3 + len(r.Flag) + len(r.Variant) + len(r.Metric) + 400
		if i > from && (i-from == telemetry.MaxBatchRows || size+n > maxBatchBytes) {
			out = append(out, rows[from:i])
			from, size = i, 0
		}
		size += n
	}
	return append(out, rows[from:])
}

func encodeBatch(b *telemetry.Batch) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// finiteRows leaves out the rows whose sums overflowed, which JSON cannot carry, and returns
// how many observations they held.
func finiteRows(rows []telemetry.Row) ([]telemetry.Row, int64) {
	var dropped int64
	kept := rows[:0]
	for _, r := range rows {
		if finite(r.Sum) && finite(r.SumSq) && finite(r.SumLog) && finite(r.SumLogSq) {
			kept = append(kept, r)
		} else {
			dropped += r.Count
		}
	}
	return kept, dropped
}

func finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

func exposureRows(w exposureWindow) []telemetry.Row {
	rows := make([]telemetry.Row, 0, len(w))
	for k, agg := range w {
		rows = append(rows, telemetry.Row{Flag: k.flag, Variant: k.variant, Version: k.version,
			Evaluations: agg.evaluations, Units: agg.units.count(), UnitSketch: agg.units.sketch()})
	}
	return rows
}

// errRetry marks a send the server could not take now (unreachable, 5xx, 429).
var errRetry = errors.New("retry later")

// send posts the pending batches, oldest first, until one must wait for the next window.
func (r *reporter) send(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.pending) > 0 {
		b := r.pending[0]
		err := r.post(ctx, b.body)
		switch {
		case errors.Is(err, errRetry):
			r.c.log.Warn("sending telemetry failed; keeping the batch for the next window", "seq", b.seq, "pending", len(r.pending), "error", err)
			return
		case err != nil:
			r.c.log.Error("the server refused a telemetry batch; dropping it", "seq", b.seq, "rows", b.rows, "error", err)
			r.unreported += b.rows + b.dropped
		}
		r.pending = slices.Delete(r.pending, 0, 1)
	}
}

func (r *reporter) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.c.remote.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := r.c.remote.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", errRetry, redactURLError(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // lets the connection be reused
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("%w: %w", errRetry, statusError("sending telemetry", resp))
	default:
		return statusError("sending telemetry", resp)
	}
}
