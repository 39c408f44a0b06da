package eval

import (
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
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

// TestStringClausesAgreeWithStringComparison checks the case-sensitive string operators,
// which compare words (operands of up to 16 bytes) or strings (longer ones), against the
// strings package, negated and not, at the lengths where the method changes.
func TestStringClausesAgreeWithStringComparison(t *testing.T) {
	strs := wordTestStrings()
	ops := []struct {
		op   snapshot.Operator
		want func(s, operand string) bool
	}{
		{snapshot.OpEq, func(s, operand string) bool { return s == operand }},
		{snapshot.OpStartsWith, strings.HasPrefix},
		{snapshot.OpEndsWith, strings.HasSuffix},
	}
	for _, o := range ops {
		for _, operand := range strs {
			for _, negate := range []bool{false, true} {
				c := compileClause(&snapshot.Clause{Attribute: "a", Op: o.op, Values: []any{operand}, Negate: negate}, nil)
				if c.plain != (len(operand) <= maxPatternLen) {
					t.Fatalf("%s %q: plain = %v", o.op, operand, c.plain)
				}
				for _, s := range strs {
					ctx := MustContext("u", map[string]any{"a": s})
					if got, want := c.matches(&ctx), o.want(s, operand) != negate; got != want {
						t.Errorf("%q %s %q (negate %v): matches = %v, want %v", s, o.op, operand, negate, got, want)
					}
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
