package eval

// keyTable finds compiled flags by key. Evaluation looks a flag up by key on every call, and a
// general map spends most of its time hashing the whole key; flag keys are few and fixed when a
// snapshot is compiled, so an open-addressing table hashed on the key's length and its first and
// last eight bytes, confirmed by one comparison, does the same in a fraction of the time.
type keyTable struct {
	slots []*Flag // power-of-two length, at most half full
	mask  uint64
}

func newKeyTable(flags []*Flag) keyTable {
	n := 8
	for n < 2*len(flags) {
		n <<= 1
	}
	t := keyTable{slots: make([]*Flag, n), mask: uint64(n - 1)}
	for _, f := range flags {
		i := keyHash(f.key) & t.mask
		for t.slots[i] != nil {
			i = (i + 1) & t.mask
		}
		t.slots[i] = f
	}
	return t
}

func (t *keyTable) get(key string) *Flag {
	for i := keyHash(key) & t.mask; ; i = (i + 1) & t.mask {
		f := t.slots[i]
		if f == nil || f.key == key {
			return f
		}
	}
}

// keyHash mixes a key's length with its first and last eight bytes (fewer for short keys).
func keyHash(s string) uint64 {
	var head, tail uint64
	if len(s) >= 8 {
		head = load64(s)
		tail = load64(s[len(s)-8:])
	} else {
		for i := 0; i < len(s); i++ {
			head = head<<8 | uint64(s[i])
		}
	}
	return finalize(head ^ tail*0x9e3779b97f4a7c15 ^ uint64(len(s)))
}

// load64 reads eight bytes little-endian; the compiler turns it into one load.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
