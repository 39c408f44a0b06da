package sdk

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/flagpilot/flagpilot/sdk/eval"
)

// exposureTable counts evaluations per flag and variant for one compiled snapshot. Counting is
// on the evaluation hot path, so it takes no lock and allocates nothing: cells are atomics,
// split into shards chosen by the context's key hash so that cores evaluating different users
// rarely write the same cache line.
type exposureTable struct {
	snap   *eval.Snapshot
	offset []int // first cell of each flag within a shard
	stride int   // cells per shard, padded to whole cache lines
	mask   uint64
	cells  []atomic.Int64
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
	shards := shardCount()
	t.mask = uint64(shards - 1)
	t.cells = make([]atomic.Int64, shards*t.stride)
	return t
}

// shardCount is a power of two of about four shards per usable core, so that two cores rarely
// pick the same shard.
func shardCount() int {
	want := 4 * runtime.GOMAXPROCS(0)
	n := 1
	for n < want && n < 256 {
		n <<= 1
	}
	return n
}

func (t *exposureTable) add(f *eval.Flag, variant int, keyHash uint64) {
	shard := int(keyHash & t.mask)
	t.cells[shard*t.stride+t.offset[f.Index()]+variant].Add(1)
}

// drainInto moves the counts into sum, resetting them; counts added meanwhile are kept for the
// next drain, never lost.
func (t *exposureTable) drainInto(sum map[string]map[string]int64) {
	shards := len(t.cells) / t.stride
	for i, f := range t.snap.Flags() {
		for v := 0; v < f.VariantCount(); v++ {
			var n int64
			for s := 0; s < shards; s++ {
				n += t.cells[s*t.stride+t.offset[i]+v].Swap(0)
			}
			if n == 0 {
				continue
			}
			byVariant := sum[f.Key()]
			if byVariant == nil {
				byVariant = map[string]int64{}
				sum[f.Key()] = byVariant
			}
			byVariant[f.VariantName(v)] += n
		}
	}
}

// exposureLedger keeps the tables of the current and recently replaced snapshots and the
// totals drained from them.
type exposureLedger struct {
	mu sync.Mutex
	// retired tables may still receive a few increments from evaluations that loaded the old
	// snapshot just before it was replaced; each is drained twice before it is dropped.
	retired []retiredTable
	totals  map[string]map[string]int64
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

// snapshot drains every table into the running totals and returns a copy of them.
func (l *exposureLedger) snapshot(current *exposureTable) map[string]map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.totals == nil {
		l.totals = map[string]map[string]int64{}
	}
	if current != nil {
		current.drainInto(l.totals)
	}
	kept := l.retired[:0]
	for _, r := range l.retired {
		r.table.drainInto(l.totals)
		if r.drains++; r.drains < 2 {
			kept = append(kept, r)
		}
	}
	l.retired = kept
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
