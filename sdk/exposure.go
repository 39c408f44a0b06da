package sdk

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// exposureTable counts evaluations and distinct units per flag and variant for one compiled
// snapshot. Counting is on the evaluation hot path, so it takes no lock and allocates nothing
// in the steady state: cells are atomics, split into shards that goroutines pick by their
// stack (see shard) so that each core writes cache lines of its own, and each variant's units
// of the current window are a lock-free unitSet, allocated at its first unit.
type exposureTable struct {
	snap   *eval.Snapshot
	offset []int // first cell of each flag within a shard
	stride int   // cells per shard, padded to whole cache lines
	shift  uint8 // 64 - log2(shards): a hash's top bits pick the shard
	cells  []atomic.Int64
	units  []atomic.Pointer[unitSet] // at offset[flag]+variant; taken by each drain for the window
}

// cacheLineCells is the number of int64 cells in 128 bytes: two cache lines, because adjacent
// lines are prefetched together on common x86 parts.
const cacheLineCells = 16

func newExposureTable(snap *eval.Snapshot) *exposureTable {
	flags := snap.Flags()
	t := &exposureTable{snap: snap, offset: make([]int, len(flags))}
	n := 0
	for i, f := range flags {
		t.offset[i] = n
		n += f.VariantCount()
	}
	t.stride = (n/cacheLineCells + 1) * cacheLineCells
	shards := shardCount(16) // goroutines pick shards at random: many, so that few share one
	t.shift = uint8(64 - bits.TrailingZeros(uint(shards)))
	t.cells = make([]atomic.Int64, shards*t.stride)
	t.units = make([]atomic.Pointer[unitSet], n)
	return t
}

// shardCount is a power of two of about perCore shards per usable core, at most 256.
func shardCount(perCore int) int {
	want := perCore * runtime.GOMAXPROCS(0)
	n := 1
	for n < want && n < 256 {
		n <<= 1
	}
	return n
}

// shard picks the calling goroutine's shard by hashing the address of its stack. A goroutine
// runs on one core for long stretches, so the cells it counts in stay in that core's cache.
// (Sharding by the context's key sent about every other write to a line another core had just
// written, and two cores counted no faster than one.) The address is only hashed, never used
// as a pointer; it changes when the stack grows, which merely moves the goroutine to another
// shard.
func (t *exposureTable) shard() int {
	var onStack byte
	block := uint64(uintptr(unsafe.Pointer(&onStack)) >> 11) // 2 KiB, the smallest goroutine stack
	return int(block * 0x9e3779b97f4a7c15 >> t.shift)
}

func (t *exposureTable) add(f *eval.Flag, variant int, keyHash uint64) {
	i := t.offset[f.Index()] + variant
	t.cells[t.shard()*t.stride+i].Add(1)
	// Most evaluations are of a unit already counted, which a load or two confirms here: the
	// HLL register already holds the rank, or the unit sits in its home slot. (Written out
	// because the compiler would not inline it as a method.)
	u := t.units[i].Load()
	if u == nil {
		t.addUnit(i, keyHash)
		return
	}
	h := unitKey(keyHash)
	if regs := u.hll.Load(); regs != nil {
		idx, rank := telemetry.HLLRegister(h)
		if uint8(regs[idx>>2].Load()>>(idx&3*8)) >= rank {
			return
		}
	} else if u.slots[h&(unitSlots-1)].Load() == h {
		return
	}
	u.add(keyHash)
}

// addUnit counts a unit that may be new, publishing the variant's unit set at its first unit
// in a window.
func (t *exposureTable) addUnit(i int, keyHash uint64) {
	for {
		if u := t.units[i].Load(); u != nil {
			u.add(keyHash)
			return
		}
		t.units[i].CompareAndSwap(nil, new(unitSet))
	}
}

// exposureWindow is a window's exposures per flag, variant and flag version (metric ""):
// evaluations and distinct units.
type exposureWindow map[rowKey]*exposureAgg

type exposureAgg struct {
	evaluations int64
	units       units
}

// drainInto moves the counts into sum, resetting them; counts added meanwhile are kept for the
// next drain, never lost. With a window it also moves the counts and the unit sets there.
func (t *exposureTable) drainInto(sum map[string]map[string]int64, window exposureWindow) {
	shards := len(t.cells) / t.stride
	for i, f := range t.snap.Flags() {
		for v := 0; v < f.VariantCount(); v++ {
			var n int64
			for s := 0; s < shards; s++ {
				n += t.cells[s*t.stride+t.offset[i]+v].Swap(0)
			}
			var us *unitSet
			if window != nil {
				us = t.units[t.offset[i]+v].Swap(nil)
			}
			if n != 0 {
				byVariant := sum[f.Key()]
				if byVariant == nil {
					byVariant = map[string]int64{}
					sum[f.Key()] = byVariant
				}
				byVariant[f.VariantName(v)] += n
			}
			if n == 0 && us == nil || window == nil {
				continue
			}
			k := rowKey{flag: f.Key(), variant: f.VariantName(v), version: f.Version()}
			agg := window[k]
			if agg == nil {
				agg = &exposureAgg{}
				window[k] = agg
			}
			agg.evaluations += n
			if us != nil {
				us.addTo(&agg.units)
			}
		}
	}
}

// exposureLedger keeps the tables of the current and recently replaced snapshots and the
// totals drained from them (Exposures). When telemetry is sent it also gathers the current
// window's exposures, whoever drains the tables, until the flush takes them.
type exposureLedger struct {
	mu sync.Mutex
	// retired tables may still receive a few increments from evaluations that loaded the old
	// snapshot just before it was replaced; each is drained twice before it is dropped.
	retired []retiredTable
	totals  map[string]map[string]int64
	window  exposureWindow // nil when telemetry is not sent
}

type retiredTable struct {
	table  *exposureTable
	drains int
}

func (l *exposureLedger) retire(t *exposureTable) {
	l.mu.Lock()
	l.retired = append(l.retired, retiredTable{table: t})
	l.mu.Unlock()
}

// keepWindows makes the ledger gather windows for cutWindow.
func (l *exposureLedger) keepWindows() {
	l.mu.Lock()
	l.window = exposureWindow{}
	l.mu.Unlock()
}

// drain moves the counts of every table into the totals (and the window); the caller holds mu.
func (l *exposureLedger) drain(current *exposureTable) {
	if l.totals == nil {
		l.totals = map[string]map[string]int64{}
	}
	if current != nil {
		current.drainInto(l.totals, l.window)
	}
	kept := l.retired[:0]
	for _, r := range l.retired {
		r.table.drainInto(l.totals, l.window)
		if r.drains++; r.drains < 2 {
			kept = append(kept, r)
		}
	}
	clear(l.retired[len(kept):]) // let dropped tables be collected
	l.retired = kept
}

// cutWindow ends the current window and returns its exposures.
func (l *exposureLedger) cutWindow(current *exposureTable) exposureWindow {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drain(current)
	w := l.window
	l.window = exposureWindow{}
	return w
}

// snapshot drains every table into the running totals and returns a copy of them.
func (l *exposureLedger) snapshot(current *exposureTable) map[string]map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drain(current)
	out := make(map[string]map[string]int64, len(l.totals))
	for k, byVariant := range l.totals {
		c := make(map[string]int64, len(byVariant))
		for v, n := range byVariant {
			c[v] = n
		}
		out[k] = c
	}
	return out
}
