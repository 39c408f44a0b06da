// Package ingest is the telemetry intake. SDKs send pre-aggregated batches (telemetry.Batch) to
// POST /sdk/v1/telemetry, and OTLP trace exports are turned into batches; both reach Accept,
// which validates a batch, drops one it accepted before, and queues its rows. One writer
// merges every queued batch into the aggregates of its window, kept in memory while the window
// is open, and persists them together with the batch ids in one transaction (group commit);
// only then are the batches acknowledged, so an acknowledged batch survives a crash and is
// never counted twice.
//
// What is accepted:
//   - A batch goes to the aggregate window (Options.Window, aligned on the Unix epoch) that holds
//     its Start, per (flag, variant, flag version, metric). Rows with version 0 get the flag's
//     current configuration version in the environment.
//   - The window stays open until Options.AllowedLateness after its end; a batch for a closed
//     window is refused as late, so a window the autopilot reads after that is complete (the
//     watermark is window end + allowed lateness).
//   - Problems of the batch as a whole (instance, seq, times, too many rows) refuse it with
//     CodeInvalid naming the field. A row with a problem of its own (its names, numbers,
//     sketches) is left out and listed in Result.Rejected with its field; the batch's other rows
//     are merged, so one bad metric does not cost every flag its data.
//   - (Instance, Seq) identifies a batch within its environment. The id is recorded in the
//     transaction that merges the batch, so a batch accepted before (by this process, the one
//     before it, or another replica) is answered as a duplicate and merged once; recent ids
//     are also kept in memory, to answer most resends without a write. Seq 0 (OTLP) is never
//     deduplicated.
//   - When the queue holds Options.MaxQueuedRows rows, Accept refuses with CodeRateLimited
//     rather than buffer without bound.
package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/DataDog/sketches-go/ddsketch"
	enc "github.com/DataDog/sketches-go/ddsketch/encoding"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/snapshot"
	"github.com/flagpilot/flagpilot/internal/stats"
	wire "github.com/flagpilot/flagpilot/sdk/snapshot"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Defaults of Options.
const (
	// DefaultWindow is the autopilot's tick: the unit of evidence is one window.
	DefaultWindow = time.Minute
	// DefaultAllowedLateness is three SDK flush intervals (10 s): a batch flushed at the end of
	// a window may be retried twice before the window closes. DECISION.md asks for about two
	// flush intervals; the third absorbs a retry's backoff and moderate clock skew.
	DefaultAllowedLateness = 30 * time.Second
	// DefaultDownsampleAfter keeps two days at full resolution for rollouts and their analysis.
	DefaultDownsampleAfter = 48 * time.Hour
	DefaultRetention       = 30 * 24 * time.Hour
	// DefaultMaxQueuedRows bounds the rows waiting for the writer: at 5,000 batches of 50
	// rows a second, about 0.4 s of traffic.
	DefaultMaxQueuedRows = 100_000
	DefaultMaxBodyBytes  = 4 << 20
	// DefaultCompactEvery is how often the retention job runs.
	DefaultCompactEvery = 10 * time.Minute
)

// Limits of a batch.
const (
	MaxNameBytes     = 200 // flag, variant and metric names
	MaxInstanceBytes = 128 // instance and SDK names
	MaxBatchSpan     = time.Hour
	// MaxClockSkew is how far in the future a batch may end: further means a wrong clock.
	MaxClockSkew = time.Minute
	// DownsampleResolution is the length of the windows old windows are merged into.
	DownsampleResolution = time.Hour
)

// Options configures an Intake. Zero values select the defaults.
type Options struct {
	// Window is the length of aggregate windows: whole seconds that divide an hour.
	Window time.Duration
	// AllowedLateness is how long after its end a window still takes batches.
	AllowedLateness time.Duration
	// DownsampleAfter is the age after which windows are merged into hour windows.
	DownsampleAfter time.Duration
	// Retention is the age after which windows are deleted.
	Retention time.Duration
	// CompactEvery is how often Run downsamples, deletes and forgets old telemetry.
	CompactEvery time.Duration
	// MaxQueuedRows bounds the rows accepted but not yet written.
	MaxQueuedRows int
	// MaxBodyBytes bounds a request body of the native endpoint, compressed and not.
	MaxBodyBytes int64
	// Now is the clock (time.Now by default).
	Now func() time.Time
	// Logger receives write failures; it defaults to discarding.
	Logger *slog.Logger
	// ObserveRequest, when set, is told of every request to the native endpoint.
	ObserveRequest func(route, method string, status int, d time.Duration)
	// ObserveBatch, when set, is told the outcome of every batch given to Accept (accepted,
	// duplicate, invalid, late, throttled, failed) with its merged and rejected rows and the
	// events its SDK reported dropping.
	ObserveBatch func(outcome string, merged, rejected int, dropped int64)
}

func (o *Options) defaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Window, DefaultWindow)
	def(&o.AllowedLateness, DefaultAllowedLateness)
	def(&o.DownsampleAfter, DefaultDownsampleAfter)
	def(&o.Retention, DefaultRetention)
	def(&o.CompactEvery, DefaultCompactEvery)
	if o.MaxQueuedRows == 0 {
		o.MaxQueuedRows = DefaultMaxQueuedRows
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o.Validate()
}

// Validate checks the durations and bounds, naming the option at fault.
func (o Options) Validate() error {
	switch {
	case o.Window < time.Second || o.Window%time.Second != 0 || DownsampleResolution%o.Window != 0:
		return fmt.Errorf("window: %s is not whole seconds that divide an hour", o.Window)
	case o.AllowedLateness < 0:
		return fmt.Errorf("allowed lateness: %s is negative", o.AllowedLateness)
	case o.DownsampleAfter < o.Window+o.AllowedLateness+DownsampleResolution:
		return fmt.Errorf("downsample after: %s must exceed the window, the allowed lateness and an hour (%s)",
			o.DownsampleAfter, o.Window+o.AllowedLateness+DownsampleResolution)
	case o.Retention < o.DownsampleAfter:
		return fmt.Errorf("retention: %s is shorter than downsample after (%s)", o.Retention, o.DownsampleAfter)
	case o.CompactEvery <= 0:
		return fmt.Errorf("compact every: %s is not positive", o.CompactEvery)
	case o.MaxQueuedRows < telemetry.MaxBatchRows:
		return fmt.Errorf("max queued rows: %d is less than one full batch (%d)", o.MaxQueuedRows, telemetry.MaxBatchRows)
	case o.MaxBodyBytes < 1024:
		return fmt.Errorf("max body bytes: %d is below the minimum of 1024", o.MaxBodyBytes)
	}
	return nil
}

// Source gives an environment's current snapshot, for the flags' configuration versions;
// snapshot.Source is one.
type Source interface {
	Get(ctx context.Context, project, env string) (*snapshot.Entry, error)
}

// Intake validates, deduplicates and merges telemetry batches. Run must be running for Accept
// to return.
type Intake struct {
	store  domain.TelemetryStore
	source Source
	opts   Options
	log    *slog.Logger

	queue    queue
	seen     seenIDs
	mapping  mapping.IndexMapping // the platform's, of every sketch
	checkers sync.Pool            // of *sketchChecker
	// windows are the aggregates of open windows; only the writer goroutine uses them.
	windows map[windowKey]*openWindow
}

// New returns an intake writing to store. Options are checked with Validate.
func New(store domain.TelemetryStore, source Source, opts Options) (*Intake, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	platform := telemetry.NewSketch().IndexMapping
	return &Intake{
		store: store, source: source, opts: opts, log: opts.Logger,
		mapping:  platform,
		checkers: sync.Pool{New: func() any { return newSketchChecker(platform) }},
		queue:    queue{wake: make(chan struct{}, 1)},
		seen:     seenIDs{by: map[reporter]map[uint64]int64{}},
		windows:  map[windowKey]*openWindow{},
	}, nil
}

// Window is the length of the aggregate windows, defaults applied.
func (in *Intake) Window() time.Duration { return in.opts.Window }

// AllowedLateness is how long after its window ends a batch is still merged.
func (in *Intake) AllowedLateness() time.Duration { return in.opts.AllowedLateness }

// Result is what became of an accepted batch.
type Result struct {
	// Merged counts the rows merged into aggregates.
	Merged int `json:"merged"`
	// Duplicate is set when the batch was accepted before: nothing was merged again.
	Duplicate bool `json:"duplicate,omitempty"`
	// Rejected lists the rows left out, in order.
	Rejected []RowError `json:"rejected,omitempty"`
}

// RowError says why a row was left out.
type RowError struct {
	Index int `json:"index"`
	// Field is the offending field's path, e.g. rows[3].metric.
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ErrClosed is returned by Accept once Run has ended.
var ErrClosed = errors.New("the telemetry intake is shut down")

// Accept validates b, reported for project's environment env, and merges its valid rows once
// they are durable. Errors: CodeInvalid for a batch refused as a whole (the field is named;
// late batches say "late: …"), CodeNotFound for an unknown environment, CodeRateLimited when
// the queue is full, ErrClosed after shutdown, others when the write failed (retry later).
func (in *Intake) Accept(ctx context.Context, project, env string, b telemetry.Batch) (res Result, err error) {
	defer func() {
		if in.opts.ObserveBatch == nil {
			return
		}
		outcome := "accepted"
		var dropped int64 // reported by accepted batches only, so that a resend counts once
		switch {
		case err == nil && res.Duplicate:
			outcome = "duplicate"
		case err != nil:
			outcome = errorOutcome(err)
		default:
			dropped = b.Dropped
		}
		in.opts.ObserveBatch(outcome, res.Merged, len(res.Rejected), dropped)
	}()
	p, res, err := in.admit(ctx, project, env, b, in.opts.Now())
	if err != nil || res.Duplicate {
		return res, err
	}
	if err := in.queue.push(p, in.opts.MaxQueuedRows); err != nil {
		return Result{}, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		// The batch may still be written; a resend is then recognised as a duplicate.
		return Result{}, ctx.Err()
	}
	if p.err != nil {
		return Result{}, p.err
	}
	if p.duplicate {
		return Result{Duplicate: true}, nil
	}
	res.Merged = len(p.rows)
	return res, nil
}

// admit is Accept up to the writer: it checks b, received at now, answers a batch accepted
// before as a duplicate (with no pending batch), refuses one whose window has closed, and
// decodes the rows, listing in the result those it leaves out.
func (in *Intake) admit(ctx context.Context, project, env string, b telemetry.Batch, now time.Time) (*pending, Result, error) {
	var res Result
	if err := checkBatch(b, now); err != nil {
		return nil, res, err
	}
	if b.Seq > 0 && in.seen.has(project, env, b.Instance, b.Seq) {
		return nil, Result{Duplicate: true}, nil
	}
	window := domain.WindowStart(b.Start, in.opts.Window)
	if closes := window.Add(in.opts.Window + in.opts.AllowedLateness); now.After(closes) {
		return nil, res, lateError{domain.FieldErrorf("start", "late: window %s–%s closed at %s (allowed lateness %s); it is %s",
			window.Format(time.RFC3339), window.Add(in.opts.Window).Format(time.RFC3339), closes.Format(time.RFC3339),
			in.opts.AllowedLateness, now.UTC().Format(time.RFC3339))}
	}
	entry, err := in.source.Get(ctx, project, env)
	if err != nil {
		return nil, res, err
	}
	p := &pending{project: project, env: env, window: window, received: now, done: make(chan struct{})}
	if b.Seq > 0 {
		p.id = domain.BatchID{Project: project, Environment: env, Instance: b.Instance, Seq: b.Seq, Received: now}
	}
	p.rows = make([]row, 0, len(b.Rows))
	sketches := in.checkers.Get().(*sketchChecker)
	defer in.checkers.Put(sketches)
	for i, r := range b.Rows {
		decoded, field, reason := in.decodeRow(r, sketches)
		if reason != "" {
			res.Rejected = append(res.Rejected, RowError{Index: i, Field: fmt.Sprintf("rows[%d].%s", i, field), Reason: reason})
			continue
		}
		if decoded.key.version == 0 {
			decoded.key.version = flagVersion(entry, r.Flag)
		}
		p.rows = append(p.rows, decoded)
	}
	return p, res, nil
}

// lateError refuses a batch whose window has closed.
type lateError struct{ error }

func (e lateError) Unwrap() error { return e.error }

// IsLate reports whether err refused a batch because its window had closed.
func IsLate(err error) bool { return errors.As(err, new(lateError)) }

func errorOutcome(err error) string {
	if IsLate(err) {
		return "late"
	}
	switch domain.ErrorCode(err) {
	case domain.CodeInvalid:
		return "invalid"
	case domain.CodeRateLimited:
		return "throttled"
	}
	return "failed"
}

// flagVersion returns the flag's configuration version in the snapshot (whose flags are
// sorted by key), or 0 for a flag the environment does not have.
func flagVersion(e *snapshot.Entry, flag string) int64 {
	flags := e.Wire.Flags
	if i, ok := slices.BinarySearchFunc(flags, flag, func(f wire.Flag, key string) int { return strings.Compare(f.Key, key) }); ok {
		return flags[i].Version
	}
	return 0
}

// checkBatch checks the batch as a whole.
func checkBatch(b telemetry.Batch, now time.Time) error {
	if err := checkName("instance", b.Instance, MaxInstanceBytes, true); err != nil {
		return err
	}
	if err := checkName("sdk", b.SDK, MaxInstanceBytes, false); err != nil {
		return err
	}
	switch {
	case b.Seq > math.MaxInt64:
		return domain.FieldErrorf("seq", "%d is above the largest sequence number, %d", b.Seq, int64(math.MaxInt64))
	case b.Start.IsZero():
		return domain.FieldErrorf("start", "required: the start of the batch's window")
	case b.End.IsZero():
		return domain.FieldErrorf("end", "required: the end of the batch's window")
	case !b.Start.Before(b.End):
		return domain.FieldErrorf("end", "%s is not after start (%s)", b.End.Format(time.RFC3339Nano), b.Start.Format(time.RFC3339Nano))
	case b.End.Sub(b.Start) > MaxBatchSpan:
		return domain.FieldErrorf("end", "the batch spans %s, more than %s", b.End.Sub(b.Start), MaxBatchSpan)
	case b.End.After(now.Add(MaxClockSkew)):
		return domain.FieldErrorf("end", "%s is more than %s ahead of the server's clock (%s); check the SDK host's clock",
			b.End.UTC().Format(time.RFC3339), MaxClockSkew, now.UTC().Format(time.RFC3339))
	case b.Dropped < 0:
		return domain.FieldErrorf("dropped", "%d is negative", b.Dropped)
	case len(b.Rows) > telemetry.MaxBatchRows:
		return domain.FieldErrorf("rows", "%d rows, more than %d per batch; send the rest in another batch", len(b.Rows), telemetry.MaxBatchRows)
	}
	return nil
}

// checkName checks a name: UTF-8 without NUL characters (which PostgreSQL text refuses), at
// most max bytes, and present when required.
func checkName(field, v string, max int, required bool) error {
	if reason := nameProblem(v, max, required); reason != "" {
		return domain.FieldErrorf(field, "%s", reason)
	}
	return nil
}

func nameProblem(v string, max int, required bool) string {
	switch {
	case v == "" && required:
		return "required"
	case len(v) > max:
		return fmt.Sprintf("%d bytes, more than %d", len(v), max)
	case !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0:
		return "expected UTF-8 text without NUL characters"
	}
	return ""
}

// aggKey identifies an aggregate within a window.
type aggKey struct {
	flag, variant string
	version       int64
	metric        string
}

// row is a validated row, ready to merge.
type row struct {
	key aggKey
	agg stats.Aggregate
	// units are the set registers of a unit HyperLogLog that came in the sparse encoding
	// (index<<8 | rank): merging them costs a few operations per unit, where merging a whole
	// HyperLogLog costs 4,096. A dense one is in agg.Units.
	units []uint32
	// sketch is the encoded value sketch, checked: the writer decodes it into the aggregate's.
	sketch []byte
}

// decodeRow validates r. A problem is returned as the field (relative to the row) and why.
func (in *Intake) decodeRow(r telemetry.Row, sketches *sketchChecker) (row, string, string) {
	for _, n := range []struct {
		field, v string
		required bool
	}{{"flag", r.Flag, true}, {"variant", r.Variant, true}, {"metric", r.Metric, false}} {
		if reason := nameProblem(n.v, MaxNameBytes, n.required); reason != "" {
			return row{}, n.field, reason
		}
	}
	if strings.HasPrefix(r.Metric, "$") && r.Metric != telemetry.RequestMetric {
		return row{}, "metric", fmt.Sprintf("%q: names starting with $ are reserved for built-in metrics (%s)", r.Metric, telemetry.RequestMetric)
	}
	for _, n := range []struct {
		field string
		v     int64
	}{{"version", r.Version}, {"evaluations", r.Evaluations}, {"units", r.Units}, {"count", r.Count}, {"errors", r.Errors}} {
		if n.v < 0 {
			return row{}, n.field, fmt.Sprintf("%d is negative", n.v)
		}
	}
	for _, n := range []struct {
		field    string
		v        float64
		positive bool
	}{{"sum", r.Sum, false}, {"sumSq", r.SumSq, true}, {"sumLog", r.SumLog, false}, {"sumLogSq", r.SumLogSq, true}} {
		switch {
		case math.IsNaN(n.v) || math.IsInf(n.v, 0):
			return row{}, n.field, "expected a finite number"
		case n.positive && n.v < 0:
			return row{}, n.field, fmt.Sprintf("%v is negative, which a sum of squares cannot be", n.v)
		}
	}
	switch {
	case r.Errors > r.Count:
		return row{}, "errors", fmt.Sprintf("%d is more than count (%d)", r.Errors, r.Count)
	case r.Metric == "" && (r.Count != 0 || r.Sum != 0 || r.SumSq != 0 || r.SumLog != 0 || r.SumLogSq != 0 || len(r.Sketch) > 0):
		return row{}, "metric", `"" is the exposure row, which carries evaluations and units only; name the metric of observations`
	case r.Metric != "" && r.Evaluations != 0:
		return row{}, "evaluations", `only the exposure row (metric "") carries evaluations`
	}
	out := row{
		key: aggKey{flag: r.Flag, variant: r.Variant, version: r.Version, metric: r.Metric},
		agg: stats.Aggregate{Evaluations: r.Evaluations, Count: r.Count, Errors: r.Errors,
			Sum: r.Sum, SumSq: r.SumSq, SumLog: r.SumLog, SumLogSq: r.SumLogSq},
	}
	if len(r.UnitSketch) > 0 {
		if r.UnitSketch[0] == hllSparse {
			regs, ok := sparseRegisters(r.UnitSketch[1:])
			if !ok {
				return row{}, "unitSketch", telemetry.ErrInvalidHLL.Error()
			}
			out.units = regs
		} else {
			out.agg.Units = new(telemetry.HLL)
			if err := out.agg.Units.UnmarshalBinary(r.UnitSketch); err != nil {
				return row{}, "unitSketch", err.Error()
			}
		}
	}
	if len(r.Sketch) > 0 {
		if reason := sketches.problem(r.Sketch, in.mapping); reason != "" {
			return row{}, "sketch", reason
		}
		out.sketch = r.Sketch
	}
	return out, "", ""
}

// hllSparse is the format byte of telemetry.HLL's sparse encoding, which is followed by
// (uint16 little-endian index, rank) triples; hllMaxRank is the largest rank of its
// registers (the 64 - 12 bits of a hash left after the 12 of the index, plus one), which
// FuzzUnitSketch checks against telemetry.HLL.
const (
	hllSparse  = 1
	hllMaxRank = 64 - 12 + 1
)

// sparseRegisters returns the registers of a sparse encoding as index<<8 | rank, and false
// when the encoding is one telemetry.HLL.UnmarshalBinary refuses. Reading the few triples
// costs less than unmarshalling 4,096 registers.
func sparseRegisters(triples []byte) ([]uint32, bool) {
	if len(triples)%3 != 0 {
		return nil, false
	}
	regs := make([]uint32, 0, len(triples)/3)
	for ; len(triples) > 0; triples = triples[3:] {
		i, rank := binary.LittleEndian.Uint16(triples), triples[2]
		if int(i) >= telemetry.HLLRegisters || rank == 0 || rank > hllMaxRank {
			return nil, false
		}
		regs = append(regs, uint32(i)<<8|uint32(rank))
	}
	return regs, true
}

// sketchChecker decodes encoded sketches into stores that only check the bins, to check a
// sketch without building it.
type sketchChecker struct {
	sketch   *ddsketch.DDSketch
	pos, neg checkStore
}

func newSketchChecker(m mapping.IndexMapping) *sketchChecker {
	c := &sketchChecker{
		pos: checkStore{min: m.Index(m.MinIndexableValue()), max: m.Index(m.MaxIndexableValue())},
	}
	c.neg = c.pos
	c.sketch = ddsketch.NewDDSketch(nil, &c.pos, &c.neg)
	return c
}

// problem decodes an encoded sketch and says what is wrong with it: it does not decode, has
// another mapping than platform (or none), bins the mapping cannot hold, or counts that are
// negative or not finite.
func (c *sketchChecker) problem(encoded []byte, platform mapping.IndexMapping) string {
	c.sketch.IndexMapping = nil // set by the encoded mapping
	c.sketch.Clear()
	if err := c.sketch.DecodeAndMergeWith(encoded); err != nil {
		return "invalid sketch: " + err.Error()
	}
	for _, p := range []string{c.pos.problem, c.neg.problem} {
		if p != "" {
			return "invalid sketch: " + p
		}
	}
	if !c.sketch.IndexMapping.Equals(platform) {
		return telemetry.ErrForeignMapping.Error()
	}
	if z := c.sketch.GetZeroCount(); !(z >= 0) || math.IsInf(z, 0) {
		return "invalid sketch: the count of zeros is not a finite, non-negative number"
	}
	return ""
}

// checkStore is a store.Store that checks the bins decoded into it and keeps none. It embeds
// the interface only to have its method set: decoding a sketch calls no other method than
// those defined here.
type checkStore struct {
	store.Store
	min, max int    // the indexes the mapping can hold
	problem  string // the first problem found
}

// DecodeAndMergeWith decodes bins into s and keeps the error, which DDSketch's decoding drops.
func (s *checkStore) DecodeAndMergeWith(b *[]byte, mode enc.SubFlag) error {
	if err := store.DecodeAndMergeWith(s, b, mode); err != nil && s.problem == "" {
		s.problem = err.Error()
	}
	return nil
}

func (s *checkStore) Add(index int) { s.AddWithCount(index, 1) }

func (s *checkStore) AddWithCount(index int, count float64) {
	switch {
	case s.problem != "":
	case index < s.min || index > s.max:
		s.problem = fmt.Sprintf("bin index %d is out of the mapping's range [%d, %d]", index, s.min, s.max)
	case !(count >= 0) || math.IsInf(count, 0):
		s.problem = fmt.Sprintf("bin count %v is not a finite, non-negative number", count)
	}
}

func (s *checkStore) Clear() { s.problem = "" }

// pending is a batch waiting for the writer.
type pending struct {
	project, env string
	window       time.Time
	id           domain.BatchID // Seq 0: not recorded
	rows         []row
	received     time.Time

	// Set by the writer before it closes done.
	duplicate bool
	err       error
	done      chan struct{}
}

// queue holds the batches accepted but not yet written, bounded by their rows.
type queue struct {
	mu     sync.Mutex
	items  []*pending
	rows   int
	closed bool
	wake   chan struct{} // receives when items were added
}

func (q *queue) push(p *pending, maxRows int) error {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return ErrClosed
	case q.rows > 0 && q.rows+len(p.rows) > maxRows:
		q.mu.Unlock()
		return domain.Errorf(domain.CodeRateLimited, "the telemetry intake is busy; retry in a second")
	}
	q.items = append(q.items, p)
	q.rows += len(p.rows)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
	return nil
}

// size returns the rows queued.
func (q *queue) size() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.rows
}

// take removes every queued batch; close makes it the last take, refusing later pushes.
func (q *queue) take(close bool) []*pending {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items, q.rows = nil, 0
	q.closed = q.closed || close
	return items
}

// seenIDs are the batch ids this intake accepted within the deduplication horizon.
type seenIDs struct {
	mu sync.Mutex
	by map[reporter]map[uint64]int64 // seq → when accepted (Unix seconds)
}

// reporter is an SDK instance reporting for an environment.
type reporter struct{ project, env, instance string }

func (s *seenIDs) has(project, env, instance string, seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.by[reporter{project, env, instance}][seq]
	return ok
}

func (s *seenIDs) add(ids []domain.BatchID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		src := reporter{id.Project, id.Environment, id.Instance}
		seqs := s.by[src]
		if seqs == nil {
			seqs = map[uint64]int64{}
			s.by[src] = seqs
		}
		seqs[id.Seq] = id.Received.Unix()
	}
}

// forget drops the ids accepted before t.
func (s *seenIDs) forget(t time.Time) {
	before := t.Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	for src, seqs := range s.by {
		for seq, at := range seqs {
			if at < before {
				delete(seqs, seq)
			}
		}
		if len(seqs) == 0 {
			delete(s.by, src)
		}
	}
}
