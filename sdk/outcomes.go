package sdk

import (
	"cmp"
	"context"
	"maps"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Outcomes are what happened to units after they were served a variant: request durations and
// failures, and tracked business metrics. They are attributed to every flag the server marks
// monitored, by deciding each such flag again for the unit (evaluation is deterministic, so
// this is the variant the unit was served) without counting an exposure, and pre-aggregated
// per flag, variant, flag version and metric for the current window. Aggregates live in shards
// chosen by the unit's key hash, each behind its own mutex: a DDSketch is not safe for
// concurrent use, and an uncontended lock costs less than the log its Add computes anyway.

// defaultMaxCells bounds the aggregates of one window, each a few KiB (a unit set of at most
// 4 KiB, and for request durations a sketch of at most 16 KiB): beyond it observations that
// would need a new one are dropped, and counted as dropped. A (flag, variant, version, metric)
// takes one aggregate in each shard it is recorded in.
const defaultMaxCells = 10_000

// maxMetricName is the longest tracked metric name, in bytes; maxMetrics bounds the distinct
// names a client tracks (beyond it, observations of new names are dropped and counted).
const (
	maxMetricName = 100
	maxMetrics    = 1000
)

// Track records value for a business metric (a conversion, revenue, a page's load time…) of
// the unit ec, for every monitored flag. Name the metric freely, within 100 bytes of UTF-8 not
// starting with "$" (reserved for built-in metrics); an invalid name or a value that is NaN or
// infinite is dropped and reported as dropped. Each window reports, per variant, the count,
// the sum, sum of squares, sum of logs and of squared logs of the values (values ≤ 0 are left
// out of the log sums), and the distinct units that tracked the metric. A client tracks at most
// 1,000 distinct metric names. Track never blocks on I/O and does nothing when telemetry is not
// sent (offline mode, Options.DisableTelemetry).
func (c *Client) Track(_ context.Context, metric string, value float64, ec Context) {
	o := c.outcomes
	if o == nil {
		return
	}
	id, ok := o.metrics.id(metric)
	if !ok || math.IsNaN(value) || math.IsInf(value, 0) { // an invalid name or value, or one name too many
		o.dropped.Add(1)
		return
	}
	if st := c.current.Load(); st != nil && len(st.monitored) > 0 {
		o.record(st.monitored, &ec, id, metric, value, false)
	}
}

func validMetric(name string) bool {
	return name != "" && len(name) <= maxMetricName && name[0] != '$' && utf8.ValidString(name)
}

// RecordRequest records the outcome of a request served to the unit ec, for every monitored
// flag: its duration, and whether it failed (for an HTTP server: a 5xx status or a panic).
// Each window reports, per variant, the requests, the failures, the sums of the durations in
// milliseconds (as Track does) and their DDSketch, from which the server reads latency
// quantiles within 1 %. Middleware records every request of an http.Handler. A negative
// duration is dropped and reported as dropped; RecordRequest does nothing when telemetry is
// not sent.
func (c *Client) RecordRequest(_ context.Context, ec Context, d time.Duration, failed bool) {
	o := c.outcomes
	if o == nil {
		return
	}
	if d < 0 {
		o.dropped.Add(1)
		return
	}
	if st := c.current.Load(); st != nil && len(st.monitored) > 0 {
		o.record(st.monitored, &ec, requestMetricID, telemetry.RequestMetric, float64(d)/float64(time.Millisecond), failed)
	}
}

// outcomes is the client's outcome aggregation: the current window, replaced at each flush.
type outcomes struct {
	window   atomic.Pointer[outcomeWindow]
	metrics  metricIDs
	maxCells int64
	dropped  atomic.Int64 // observations dropped since the last flush
}

func newOutcomes(maxCells int) *outcomes {
	o := &outcomes{maxCells: int64(maxCells)}
	o.window.Store(newOutcomeWindow())
	o.metrics.ids.Store(&map[string]uint32{})
	return o
}

// requestMetricID is the id of telemetry.RequestMetric; tracked metrics are numbered from 1.
const requestMetricID = 0

// metricIDs numbers tracked metric names, so that finding an aggregate hashes no string. The
// table is copied on write: new names are rare, and readers take no lock.
type metricIDs struct {
	ids atomic.Pointer[map[string]uint32]
	mu  sync.Mutex
}

// id returns the number of a metric name; false when the name is invalid or the table full.
// Only valid names are numbered, so a known name needs no validation.
func (m *metricIDs) id(name string) (uint32, bool) {
	if id, ok := (*m.ids.Load())[name]; ok {
		return id, true
	}
	if !validMetric(name) {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.ids.Load()
	if id, ok := old[name]; ok {
		return id, true
	}
	if len(old) == maxMetrics {
		return 0, false
	}
	next := make(map[string]uint32, len(old)+1)
	maps.Copy(next, old)
	id := uint32(len(old) + 1)
	next[strings.Clone(name)] = id // not to keep a caller's larger buffer alive
	m.ids.Store(&next)
	return id, true
}

type outcomeWindow struct {
	shards []outcomeShard
	mask   uint64
	cells  atomic.Int64 // created in this window, against the cap
}

type outcomeShard struct {
	mu sync.Mutex
	// closed is set when the window ended: a writer that picked this window just before it
	// was replaced moves to the next one, so no observation is lost at the boundary.
	closed bool
	cells  cellTable
	_      [128]byte // keeps neighbouring shards' fields 128 bytes apart (see cacheLineCells)
}

// outcomeKey identifies a cell within a window. The flag is one of a compiled snapshot, so it
// fixes the flag's version too; cells of one flag version from several snapshots merge when
// the window is reported.
type outcomeKey struct {
	flag    *eval.Flag
	variant int32
	metric  uint32
}

type outcomeCell struct {
	metric                       string
	count, errors                int64
	sum, sumSq, sumLog, sumLogSq float64
	units                        units
	sketch                       *ddsketch.DDSketch // request durations only
}

// maxOutcomeShards bounds the shards of a window: a (flag, variant, metric) recorded for many
// units has a cell in every shard, so shards multiply memory, and outcomes (one or a few per
// request) contend far less than evaluations do.
const maxOutcomeShards = 16

func newOutcomeWindow() *outcomeWindow {
	n := min(shardCount(4), maxOutcomeShards)
	return &outcomeWindow{shards: make([]outcomeShard, n), mask: uint64(n - 1)}
}

// record adds one observation for every monitored flag that serves ec a variant. The flags
// are decided under the shard's lock: deciding them first, to hold it shorter, measured
// slower with one monitored flag and no better on two cores.
func (o *outcomes) record(monitored []*eval.Flag, ec *Context, metric uint32, name string, v float64, failed bool) {
	h := ec.KeyHash()
	for {
		w := o.window.Load()
		sh := &w.shards[(h>>32)&w.mask]
		sh.mu.Lock()
		if sh.closed {
			sh.mu.Unlock()
			continue
		}
		for _, f := range monitored {
			d := f.Decide(ec)
			if d.Variant < 0 {
				continue
			}
			c := sh.cells.get(outcomeKey{flag: f, variant: d.Variant, metric: metric})
			if c == nil {
				if c = o.newCell(w, sh, f, d.Variant, metric, name); c == nil {
					continue
				}
			}
			c.observe(h, v, failed)
		}
		sh.mu.Unlock()
		return
	}
}

// newCell adds a cell to a shard whose lock the caller holds, or returns nil when the window
// is full.
func (o *outcomes) newCell(w *outcomeWindow, sh *outcomeShard, f *eval.Flag, variant int32, metric uint32, name string) *outcomeCell {
	if w.cells.Add(1) > o.maxCells {
		o.dropped.Add(1)
		return nil
	}
	c := &outcomeCell{metric: strings.Clone(name)} // not to keep a caller's larger buffer alive
	if metric == requestMetricID {
		c.sketch = telemetry.NewSketch()
	}
	sh.cells.put(outcomeKey{flag: f, variant: variant, metric: metric}, c)
	return c
}

func (c *outcomeCell) observe(unit uint64, v float64, failed bool) {
	c.count++
	if failed {
		c.errors++
	}
	c.sum += v
	c.sumSq += v * v
	var l float64
	if v > 0 {
		l = math.Log(v)
		c.sumLog += l
		c.sumLogSq += l * l
	}
	if c.sketch != nil {
		telemetry.AddWithLog(c.sketch, v, l) // one logarithm for both
	}
	c.units.add(unit)
}

func (c *outcomeCell) merge(o *outcomeCell) {
	c.count += o.count
	c.errors += o.errors
	c.sum += o.sum
	c.sumSq += o.sumSq
	c.sumLog += o.sumLog
	c.sumLogSq += o.sumLogSq
	c.units.merge(&o.units)
	if o.sketch != nil {
		c.sketch.MergeWith(o.sketch) // same platform mapping: cannot fail
	}
}

// cellTable finds a shard's cells: an open-addressing table on integer keys, because a Go map
// spent a fifth of an outcome's time hashing its struct key.
type cellTable struct {
	slots []cellSlot // power-of-two length, at most half full; nil until the first cell
	n     int
}

type cellSlot struct {
	key  outcomeKey
	cell *outcomeCell // nil: an empty slot
}

func (k outcomeKey) hash() uint64 {
	// The flag's index and version stand for its pointer (whose bits only package unsafe
	// would show); equality then compares the pointer itself.
	x := uint64(k.flag.Index())<<32 ^ uint64(k.flag.Version()) ^ uint64(k.variant)<<48 ^ uint64(k.metric)<<16
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	return x ^ x>>33
}

func (t *cellTable) get(k outcomeKey) *outcomeCell {
	mask := uint64(len(t.slots) - 1)
	for i := k.hash() & mask; len(t.slots) > 0; i = (i + 1) & mask {
		e := &t.slots[i]
		if e.cell == nil || e.key == k {
			return e.cell
		}
	}
	return nil
}

func (t *cellTable) put(k outcomeKey, c *outcomeCell) {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.slots, t.n = make([]cellSlot, max(8, 2*len(old))), 0
		for _, e := range old {
			if e.cell != nil {
				t.put(e.key, e.cell)
			}
		}
	}
	mask := uint64(len(t.slots) - 1)
	i := k.hash() & mask
	for t.slots[i].cell != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = cellSlot{key: k, cell: c}
	t.n++
}

// rowKey identifies a reported row.
type rowKey struct {
	flag, variant string
	version       int64
	metric        string
}

func compareRowKeys(a, b rowKey) int {
	return cmp.Or(strings.Compare(a.flag, b.flag), strings.Compare(a.variant, b.variant),
		cmp.Compare(a.version, b.version), strings.Compare(a.metric, b.metric))
}

// cut ends the window and returns its rows (in no order), and the observations dropped since
// the last cut.
func (o *outcomes) cut() ([]telemetry.Row, int64) {
	old := o.window.Swap(newOutcomeWindow())
	merged := map[rowKey]*outcomeCell{}
	for i := range old.shards {
		sh := &old.shards[i]
		sh.mu.Lock()
		sh.closed = true
		cells := sh.cells.slots
		sh.mu.Unlock()
		for _, e := range cells {
			k, c := e.key, e.cell
			if c == nil {
				continue
			}
			rk := rowKey{flag: k.flag.Key(), variant: k.flag.VariantName(int(k.variant)), version: k.flag.Version(), metric: c.metric}
			if m := merged[rk]; m != nil {
				m.merge(c)
			} else {
				merged[rk] = c
			}
		}
	}
	rows := make([]telemetry.Row, 0, len(merged))
	for k, c := range merged {
		r := telemetry.Row{Flag: k.flag, Variant: k.variant, Version: k.version, Metric: k.metric,
			Count: c.count, Errors: c.errors, Sum: c.sum, SumSq: c.sumSq, SumLog: c.sumLog, SumLogSq: c.sumLogSq,
			Units: c.units.count(), UnitSketch: c.units.sketch()}
		if c.sketch != nil {
			r.Sketch = telemetry.EncodeSketch(c.sketch)
		}
		rows = append(rows, r)
	}
	return rows, o.dropped.Swap(0)
}
