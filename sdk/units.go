package sdk

import (
	"sync/atomic"

	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Distinct units are counted exactly up to exactUnits per aggregate and window, and past that
// in a HyperLogLog (about 1.6 % standard error). Either way the window's units travel as an
// HLL too, which the server merges across instances and windows; the exact count is what the
// SDK reports as Units while it has one.
const exactUnits = 256

// unitSlots is the size of the open-addressing table that holds the exact units: twice the
// cap, so probes stay short (4 KiB of key hashes).
const unitSlots = 2 * exactUnits

// unitKey maps a context's key hash to a table entry, never 0, which marks an empty slot.
// Units whose hashes differ in the lowest bit alone are counted as one: 1 chance in 2⁶³.
func unitKey(h uint64) uint64 { return h | 1 }

// unitSet counts the distinct units that one variant of one flag was served in a window. It is
// written on the evaluation path without a lock: slots are claimed by compare-and-swap, so a
// unit is counted once however many cores see it at the same time. Once exactUnits are held,
// units go to HLL registers, allocated at that moment; from then on they alone are updated.
type unitSet struct {
	hll   atomic.Pointer[atomicHLL] // nil while the count is exact
	n     atomic.Int32              // units held in slots
	slots [unitSlots]atomic.Uint64
}

// atomicHLL holds HLL registers, four to a word, raised by compare-and-swap.
type atomicHLL [telemetry.HLLRegisters / 4]atomic.Uint32

// add counts a unit. The evaluation path first checks inline, with a load or two, whether
// the unit is certainly counted already (exposureTable.add), and calls add for the rest.
func (s *unitSet) add(keyHash uint64) {
	h := unitKey(keyHash)
	if regs := s.hll.Load(); regs != nil {
		regs.add(h)
		return
	}
	i := h
	for range unitSlots {
		i &= unitSlots - 1
		v := s.slots[i].Load()
		if v == h {
			return
		}
		if v == 0 {
			if s.slots[i].CompareAndSwap(0, h) {
				if s.n.Add(1) <= exactUnits {
					return
				}
				break
			}
			if s.slots[i].Load() == h { // another core inserted this very unit
				return
			}
		}
		i++
	}
	// Full: the HLL counts from now on; the units held in slots join it when the set is read.
	s.hll.CompareAndSwap(nil, new(atomicHLL))
	s.hll.Load().add(h)
}

// add raises the register of h to its rank.
func (r *atomicHLL) add(h uint64) {
	idx, rank := telemetry.HLLRegister(h)
	w, shift := &r[idx/4], uint(idx%4)*8
	for {
		old := w.Load()
		if uint8(old>>shift) >= rank || w.CompareAndSwap(old, old&^(0xff<<shift)|uint32(rank)<<shift) {
			return
		}
	}
}

// addTo adds the set's units to u. The caller has unpublished the set; a core that loaded it
// just before may still add a unit, which is then missed: a window boundary is not a lock.
func (s *unitSet) addTo(u *units) {
	for i := range s.slots {
		if h := s.slots[i].Load(); h != 0 {
			u.add(h)
		}
	}
	regs := s.hll.Load()
	if regs == nil {
		return
	}
	hll := u.toHLL()
	for i := range regs {
		w := regs[i].Load()
		for j := range 4 {
			if r := uint8(w >> (8 * j)); r != 0 {
				hll.SetMax(4*i+j, r)
			}
		}
	}
}

// units counts distinct units exactly up to exactUnits, then in an HLL. It is not safe for
// concurrent use; outcome cells keep one under their shard's lock.
type units struct {
	set []uint64 // open addressing, 0 = empty; nil once hll counts
	n   int
	hll *telemetry.HLL
}

func (u *units) add(keyHash uint64) {
	h := unitKey(keyHash)
	if u.hll != nil {
		u.hll.Add(h)
		return
	}
	if u.n > 0 {
		mask := uint64(len(u.set) - 1)
		for i := h & mask; u.set[i] != 0; i = (i + 1) & mask {
			if u.set[i] == h {
				return
			}
		}
	}
	switch {
	case u.n == exactUnits:
		u.toHLL().Add(h)
		return
	case 2*(u.n+1) > len(u.set): // keep the table at most half full
		u.grow()
	}
	u.insert(h)
}

// insert adds a unit known to be absent to a table with room.
func (u *units) insert(h uint64) {
	mask := uint64(len(u.set) - 1)
	i := h & mask
	for u.set[i] != 0 {
		i = (i + 1) & mask
	}
	u.set[i] = h
	u.n++
}

// grow doubles the table, from 16 slots up to unitSlots.
func (u *units) grow() {
	old := u.set
	u.set, u.n = make([]uint64, max(16, 2*len(old))), 0
	for _, h := range old {
		if h != 0 {
			u.insert(h)
		}
	}
}

// toHLL moves the exact units into an HLL, which counts from then on, and returns it.
func (u *units) toHLL() *telemetry.HLL {
	if u.hll == nil {
		u.hll = new(telemetry.HLL)
		for _, h := range u.set {
			if h != 0 {
				u.hll.Add(h)
			}
		}
		u.set, u.n = nil, 0
	}
	return u.hll
}

// merge adds o's units.
func (u *units) merge(o *units) {
	if o.hll != nil {
		u.toHLL().Merge(o.hll)
		return
	}
	for _, h := range o.set {
		if h != 0 {
			u.add(h)
		}
	}
}

// count returns the number of distinct units, exact while it is at most exactUnits.
func (u *units) count() int64 {
	if u.hll != nil {
		return u.hll.Estimate()
	}
	return int64(u.n)
}

// sketch returns the units as an encoded HLL, nil when there are none.
func (u *units) sketch() []byte {
	if u.hll == nil && u.n == 0 {
		return nil
	}
	h := u.hll
	if h == nil {
		h = new(telemetry.HLL)
		for _, k := range u.set {
			if k != 0 {
				h.Add(k)
			}
		}
	}
	b, _ := h.MarshalBinary() // never fails
	return b
}
