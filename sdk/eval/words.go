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

// pattern is a string operand of a plain clause (eq or in, starts_with, ends_with; case
// sensitive), compiled so that a context string matches when its length fits and its words,
// under the pattern's masks, equal the operand's: all of them for eq, the first or last bytes
// for a prefix or a suffix. Operands longer than the words cover (16 bytes for eq, 8 for a
// prefix or suffix) compare their remaining bytes too.
type pattern struct {
	n          int   // the operand's length
	anyLonger  bool  // a longer string may match (starts_with, ends_with)
	suffix     bool  // ends_with: rest is compared just before the last eight bytes
	mask, want words // want is the operand's words under mask
	rest       string
}

func newPattern(op opcode, operand string) pattern {
	p := pattern{n: len(operand)}
	bytes := uint(min(len(operand), 8)) * 8 // bits of a word that a prefix or suffix covers
	switch op {
	case opStartsWith:
		p.anyLonger = true
		p.mask.head = 1<<bytes - 1 // the low bytes; all 64 bits when bytes is 64
		p.rest = operand[bytes/8:]
	case opEndsWith:
		p.anyLonger, p.suffix = true, true
		p.mask.tail = ^(^uint64(0) >> bytes) // the high bytes
		p.rest = operand[:len(operand)-int(bytes/8)]
	default: // eq
		p.mask = words{^uint64(0), ^uint64(0)}
		if len(operand) > 16 {
			p.rest = operand[8 : len(operand)-8]
		}
	}
	w := wordsOf(operand)
	p.want = words{w.head & p.mask.head, w.tail & p.mask.tail}
	return p
}

// matches reports whether s, with words w, matches the pattern.
func (p *pattern) matches(s string, w words) bool {
	if len(s) < p.n || len(s) != p.n && !p.anyLonger || w.head&p.mask.head != p.want.head || w.tail&p.mask.tail != p.want.tail {
		return false
	}
	if p.rest == "" {
		return true
	}
	at := 8 // the rest follows the first eight bytes, or precedes the last eight
	if p.suffix {
		at = len(s) - p.n
	}
	return s[at:at+len(p.rest)] == p.rest
}
