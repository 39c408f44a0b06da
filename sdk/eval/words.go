package eval

// words holds a string's first and last eight bytes as little-endian integers. Strings fixed
// in advance (flag keys, clause operands, context values; attribute names keep the first word
// only) carry theirs, so that comparing two of them, or testing a prefix or suffix, is mostly a
// matter of comparing integers, with no call and no loop; strings longer than 16 bytes are
// compared the ordinary way.
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

// pattern is a string operand of a plain clause (eq or in, starts_with, ends_with; case
// sensitive) of at most 16 bytes, compiled so that a context string matches when its length
// fits and its words, under the pattern's masks, equal the operand's: all of them for eq, the
// first or last bytes for a prefix or a suffix. A prefix or suffix longer than eight bytes also
// compares the string's eight bytes at the operand's other end. clause.matches applies it.
type pattern struct {
	n          int   // the operand's length
	anyLonger  bool  // a longer string may match (starts_with, ends_with)
	suffix     bool  // ends_with
	mask, want words // want is the operand's words under mask
	long       bool  // a prefix or suffix of 9 to 16 bytes: other is compared too
	other      uint64
}

// maxPatternLen is the length of the longest operand a pattern decides; clauses with longer
// ones compare strings.
const maxPatternLen = 16

func newPattern(op opcode, operand string) pattern {
	p := pattern{n: len(operand), long: len(operand) > 8 && op != opEq}
	bits := uint(min(len(operand), 8)) * 8 // of a word, that a prefix or suffix covers
	w := wordsOf(operand)
	switch op {
	case opStartsWith:
		p.anyLonger = true
		p.mask.head = 1<<bits - 1 // the low bytes; all 64 bits when bits is 64
		p.other = w.tail
	case opEndsWith:
		p.anyLonger, p.suffix = true, true
		p.mask.tail = ^(^uint64(0) >> bits) // the high bytes
		p.other = w.head
	default: // eq
		p.mask = words{^uint64(0), ^uint64(0)}
	}
	p.want = words{w.head & p.mask.head, w.tail & p.mask.tail}
	return p
}
