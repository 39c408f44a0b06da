package eval

// keyTable finds compiled flags by key. Evaluation looks a flag up by key on every call, and a
// general map spends most of its time hashing the whole key; flag keys are few and fixed when a
// snapshot is compiled, so an open-addressing table hashed on the key's length and its first and
// last eight bytes, confirmed by comparing those words, does the same in a fraction of the time.
type keyTable struct {
	slots []keySlot // power-of-two length, at most half full
	mask  uint64
	shift uint8 // 64 - log2(len(slots)): a hash's top bits pick the home slot
}

type keySlot struct {
	words words
	flag  *Flag
}

func newKeyTable(flags []*Flag) keyTable {
	n, shift := 8, uint8(61)
	for n < 2*len(flags) {
		n, shift = n<<1, shift-1
	}
	t := keyTable{slots: make([]keySlot, n), mask: uint64(n - 1), shift: shift}
	for _, f := range flags {
		w := wordsOf(f.key)
		i := t.home(w, len(f.key))
		for t.slots[i].flag != nil {
			i = (i + 1) & t.mask
		}
		t.slots[i] = keySlot{words: w, flag: f}
	}
	return t
}

// home mixes a key's length and words into its home slot.
func (t *keyTable) home(w words, n int) uint64 {
	return (w.head ^ w.tail*0x9e3779b97f4a7c15 ^ uint64(n)) * 0xff51afd7ed558ccd >> t.shift
}

func (t *keyTable) get(key string) *Flag {
	w := wordsOf(key)
	for i := t.home(w, len(key)); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.flag == nil || sameString(s.flag.key, s.words, key, w) {
			return s.flag
		}
	}
}
