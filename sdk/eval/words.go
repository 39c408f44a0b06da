package eval

// words holds a string's first and last eight bytes as little-endian integers. Strings fixed
// in advance (flag keys, attribute names, clause operands, context values) carry theirs, so
// that comparing two of them, or testing a prefix or suffix, is mostly a matter of comparing
// integers, with no call and no loop; only strings longer than 16 bytes (8 for a prefix or
// suffix test) compare their remaining bytes the ordinary way.
//
// A string shorter than eight bytes has its bytes at the low end of head, and at the high end
// of tail, so that tail's top byte is always the string's last byte; the rest is zero.
type words struct{ head, tail uint64 }

func wordsOf(s string) words {
	if len(s) >= 8 {
		return words{load64(s), load64(s[len(s)-8:])}
	}
	var w uint64
	for i := len(s) - 1; i >= 0; i-- {
		w = w<<8 | uint64(s[i])
	}
	return words{w, w << (64 - 8*len(s))}
}

// load64 reads eight bytes little-endian; the compiler turns it into one load.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// sameString reports whether a and b, with words aw and bw, are equal.
func sameString(a string, aw words, b string, bw words) bool {
	return len(a) == len(b) && aw == bw && (len(a) <= 16 || a[8:len(a)-8] == b[8:len(b)-8])
}
