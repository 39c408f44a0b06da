package eval

import (
	"strings"
	"testing"
)

// wordTestStrings are strings around the lengths where comparisons by words change method
// (8 and 16 bytes), sharing prefixes and suffixes so that near misses are exercised.
func wordTestStrings() []string {
	base := "abcdefghijklmnopqrstuv"
	var out []string
	for n := 0; n <= len(base); n++ {
		out = append(out, base[:n], base[len(base)-n:])
		if n > 0 {
			out = append(out, base[:n-1]+"X", "X"+base[len(base)-n+1:], base[:n/2]+"\x00"+base[n/2+1:n])
		}
	}
	return append(out, "\x00", "\x00\x00", "a\x00", "\xff\xff\xff\xff\xff\xff\xff\xff\xff", "user-1@mycompany.com", "@mycompany.com")
}

func TestPatternsAgreeWithStringComparison(t *testing.T) {
	strs := wordTestStrings()
	ops := []struct {
		op   opcode
		want func(s, operand string) bool
	}{
		{opEq, func(s, operand string) bool { return s == operand }},
		{opStartsWith, strings.HasPrefix},
		{opEndsWith, strings.HasSuffix},
	}
	for _, o := range ops {
		for _, operand := range strs {
			p := newPattern(o.op, operand)
			for _, s := range strs {
				if got, want := p.matches(s, wordsOf(s)), o.want(s, operand); got != want {
					t.Errorf("op %d, operand %q, string %q: matches = %v, want %v", o.op, operand, s, got, want)
				}
			}
		}
	}
}

func TestSameStringAndAttributeLookup(t *testing.T) {
	strs := wordTestStrings()
	for _, a := range strs {
		ctx := MustContext("u", map[string]any{a: "x"})
		for _, b := range strs {
			if got := sameString(a, wordsOf(a), b, wordsOf(b)); got != (a == b) {
				t.Errorf("sameString(%q, %q) = %v", a, b, got)
			}
			if found := ctx.lookup(nameOf(b)) != nil; found != (a == b) {
				t.Errorf("context with attribute %q: lookup(%q) found = %v", a, b, found)
			}
		}
	}
}
