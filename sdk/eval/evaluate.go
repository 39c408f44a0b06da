package eval

import (
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Reason says why a value was served; the names are OpenFeature's, plus PREREQUISITE_FAILED.
type Reason string

const (
	ReasonDefault            Reason = "DEFAULT"
	ReasonTargetingMatch     Reason = "TARGETING_MATCH"
	ReasonSplit              Reason = "SPLIT"
	ReasonDisabled           Reason = "DISABLED"
	ReasonPrerequisiteFailed Reason = "PREREQUISITE_FAILED"
	ReasonError              Reason = "ERROR"
)

// ErrorCode is an OpenFeature error code; empty when the evaluation succeeded.
type ErrorCode string

const (
	ErrorFlagNotFound        ErrorCode = "FLAG_NOT_FOUND"
	ErrorTypeMismatch        ErrorCode = "TYPE_MISMATCH"
	ErrorTargetingKeyMissing ErrorCode = "TARGETING_KEY_MISSING"
	ErrorInvalidContext      ErrorCode = "INVALID_CONTEXT"
	ErrorParse               ErrorCode = "PARSE_ERROR"
	ErrorProviderNotReady    ErrorCode = "PROVIDER_NOT_READY"
	ErrorGeneral             ErrorCode = "GENERAL"
)

// Result is the outcome of one evaluation. On an error, Value is nil, VariantIndex is -1 and the
// caller serves its own default.
type Result struct {
	Value        any
	Variant      string
	VariantIndex int
	Reason       Reason
	ErrorCode    ErrorCode
	// RuleID is the matched rule's id (or name); RuleIndex its position, -1 when none matched.
	RuleID      string
	RuleIndex   int
	FlagVersion int64
}

// ErrorResult is the result of an evaluation that failed with code.
func ErrorResult(code ErrorCode) Result {
	return Result{VariantIndex: -1, RuleIndex: -1, Reason: ReasonError, ErrorCode: code}
}

// Decision is the compact outcome of Flag.Decide: small integers instead of names and values,
// so that it travels in registers on the hot path. Flag.Result expands it.
type Decision struct {
	Variant int32 // -1 on error
	Rule    int32 // -1 when no rule matched
	reason  reasonCode
	err     errorCode
}

type reasonCode uint8

const (
	reasonDefault reasonCode = iota
	reasonTargetingMatch
	reasonSplit
	reasonDisabled
	reasonPrerequisiteFailed
	reasonError
)

var reasons = [...]Reason{ReasonDefault, ReasonTargetingMatch, ReasonSplit, ReasonDisabled, ReasonPrerequisiteFailed, ReasonError}

type errorCode uint8

const (
	errNone errorCode = iota
	errFlagNotFound
	errTypeMismatch
	errTargetingKeyMissing
	errInvalidContext
	errParse
	errProviderNotReady
	errGeneral
)

var errorCodes = [...]ErrorCode{"", ErrorFlagNotFound, ErrorTypeMismatch, ErrorTargetingKeyMissing, ErrorInvalidContext, ErrorParse, ErrorProviderNotReady, ErrorGeneral}

// Reason returns why the decision was made.
func (d Decision) Reason() Reason { return reasons[d.reason] }

// Error returns the decision's error code, empty on success.
func (d Decision) Error() ErrorCode { return errorCodes[d.err] }

// Failed reports whether the decision is an error, so the caller serves its default.
func (d Decision) Failed() bool { return d.err != errNone }

// ErrorDecision is the decision of an evaluation that failed with code.
func ErrorDecision(code ErrorCode) Decision {
	d := Decision{Variant: -1, Rule: -1, reason: reasonError, err: errGeneral}
	for i, c := range errorCodes {
		if c == code && i > 0 {
			d.err = errorCode(i)
		}
	}
	return d
}

// Evaluate evaluates the flag with key for ctx; a missing flag gives FLAG_NOT_FOUND.
func (s *Snapshot) Evaluate(key string, ctx *Context) Result {
	f := s.flags.get(key)
	if f == nil {
		return ErrorResult(ErrorFlagNotFound)
	}
	return f.Evaluate(ctx)
}

// Evaluate decides the flag for ctx and returns the full result.
func (f *Flag) Evaluate(ctx *Context) Result { return f.Result(f.Decide(ctx)) }

// Result expands a decision of this flag.
func (f *Flag) Result(d Decision) Result {
	res := Result{VariantIndex: int(d.Variant), RuleIndex: int(d.Rule), Reason: d.Reason(), ErrorCode: d.Error(), FlagVersion: f.version}
	if d.Variant >= 0 {
		res.Value, res.Variant = f.variants[d.Variant].value, f.variants[d.Variant].name
	}
	if d.Rule >= 0 {
		res.RuleID = f.rules[d.Rule].id
	}
	return res
}

// Value returns the value of the variant at index i: a bool, string, float64 or JSON value.
func (f *Flag) Value(i int) any { return f.variants[i].value }

// RuleID returns the id (or name) of the rule at index i.
func (f *Flag) RuleID(i int) string { return f.rules[i].id }

// Decide decides the flag for ctx: disabled → off variant; a failed prerequisite → off
// variant; the first matching rule; else the default serve.
func (f *Flag) Decide(ctx *Context) Decision {
	if !f.enabled {
		return f.off(reasonDisabled)
	}
	for i := range f.prereqs {
		p := &f.prereqs[i]
		if d := p.flag.Decide(ctx); d.Failed() || d.Variant != p.variant {
			return f.off(reasonPrerequisiteFailed)
		}
	}
	clauses := f.clauses // a local slice: no reload and no bounds check per clause
	for i := 0; i < len(clauses); i++ {
		c := &clauses[i]
		if !c.matches(ctx) {
			i = int(c.end) // the rule fails: on to the next one
			continue
		}
		if int(c.end) == i { // the rule's last clause: the rule matches
			return f.rules[c.rule].serve.decide(ctx, c.rule, reasonTargetingMatch)
		}
	}
	return f.def.decide(ctx, -1, reasonDefault)
}

func (f *Flag) off(reason reasonCode) Decision {
	if f.offVariant < 0 {
		// Validation requires an off variant wherever one can be served; this guards the engine.
		return Decision{Variant: -1, Rule: -1, reason: reasonError, err: errGeneral}
	}
	return Decision{Variant: f.offVariant, Rule: -1, reason: reason}
}

func (s *serve) decide(ctx *Context, rule int32, reason reasonCode) Decision {
	ro := s.rollout
	if ro == nil {
		return Decision{Variant: s.variant, Rule: rule, reason: reason}
	}
	unit, ok := ctx.key, ctx.key != ""
	if ro.bucketBy.s != "" {
		v := ctx.lookup(ro.bucketBy)
		ok = v != nil && v.kind == kindString && v.s != ""
		if ok {
			unit = v.s
		}
	}
	if !ok {
		return Decision{Variant: -1, Rule: -1, reason: reasonError, err: errTargetingKeyMissing}
	}
	b := bucketFrom(ro.state, unit)
	variant := ro.variants[len(ro.variants)-1]
	for i, end := range ro.ends {
		if b < end {
			variant = ro.variants[i]
			break
		}
	}
	return Decision{Variant: variant, Rule: rule, reason: reasonSplit}
}

func allMatch(cs []clause, ctx *Context) bool {
	for i := range cs {
		if !cs[i].matches(ctx) {
			return false
		}
	}
	return true
}

func (s *segment) contains(ctx *Context) bool {
	if _, ok := s.exclude[ctx.key]; ok {
		return false
	}
	if _, ok := s.include[ctx.key]; ok {
		return true
	}
	for _, r := range s.rules {
		if allMatch(r, ctx) {
			return true
		}
	}
	return false
}

// matches applies the clause. A missing attribute, or one of a type the operator cannot
// compare, never matches, negated or not; only exists is true under negate for a missing one.
func (c *clause) matches(ctx *Context) bool {
	v := ctx.lookup(c.attribute) // nil for the targeting key, which is no attribute
	if !c.plain || v == nil || v.kind != kindString {
		return c.matchesOther(ctx, v)
	}
	// A plain clause on a string: compare words as the patterns say, with no call, so that
	// the compiler keeps the loop in registers.
	s, w := v.s, v.w
	patterns := c.patterns // a local slice: no reload and no bounds check per pattern
	for i := range patterns {
		p := &patterns[i]
		if len(s) < p.n || len(s) != p.n && !p.anyLonger || w.head&p.mask.head != p.want.head || w.tail&p.mask.tail != p.want.tail {
			continue
		}
		if p.long {
			at := p.n - 8 // a prefix's last eight bytes, or a suffix's first eight
			if p.suffix {
				at = len(s) - p.n
			}
			if load64(s[at:]) != p.other {
				continue
			}
		}
		return !c.negate
	}
	return c.negate
}

// matchesOther applies the clauses that are not plain, or to values that are not strings; v is
// the attribute, nil when missing.
func (c *clause) matchesOther(ctx *Context, v *value) bool {
	if c.op == opInSegment {
		in := false
		for _, s := range c.segments {
			if s.contains(ctx) {
				in = true
				break
			}
		}
		return in != c.negate
	}
	if c.isKey && ctx.key != "" {
		v = &value{kind: kindString, s: ctx.key} // stays on the stack
	}
	if c.op == opExists {
		return (v != nil) != c.negate
	}
	if v == nil {
		return false
	}
	matched, comparable := c.test(v)
	return comparable && matched != c.negate
}

// test compares one attribute value with the operands; comparable is false when the value's
// type does not fit the operator.
func (c *clause) test(v *value) (matched, comparable bool) {
	switch c.op {
	case opEq:
		switch v.kind {
		case kindString:
			return c.hasString(v.s), len(c.strs) > 0
		case kindList:
			for _, s := range *v.list {
				if c.hasString(s) {
					return true, true
				}
			}
			return false, len(c.strs) > 0
		case kindNumber:
			for _, n := range c.nums {
				if v.f == n {
					return true, true
				}
			}
			return false, len(c.nums) > 0
		case kindBool:
			for _, b := range c.bools {
				if v.b == b {
					return true, true
				}
			}
			return false, len(c.bools) > 0
		}
	case opContains, opStartsWith, opEndsWith, opMatches:
		switch v.kind {
		case kindString:
			return c.testString(v.s), true
		case kindList:
			for _, s := range *v.list {
				if c.testString(s) {
					return true, true
				}
			}
			return false, true
		}
	case opLt, opLte, opGt, opGte:
		if v.kind != kindNumber {
			return false, false
		}
		for _, n := range c.nums {
			if compareNumber(c.op, v.f, n) {
				return true, true
			}
		}
		return false, true
	case opSemverEq, opSemverLt, opSemverGt:
		if v.kind != kindString {
			return false, false
		}
		sv, ok := snapshot.ParseSemver(v.s)
		if !ok {
			return false, false
		}
		for _, w := range c.semvers {
			cmp := sv.Compare(w)
			if (c.op == opSemverEq && cmp == 0) || (c.op == opSemverLt && cmp < 0) || (c.op == opSemverGt && cmp > 0) {
				return true, true
			}
		}
		return false, true
	case opBefore, opAfter:
		t, ok := v.time()
		if !ok {
			return false, false
		}
		for _, w := range c.times {
			if (c.op == opBefore && t.Before(w)) || (c.op == opAfter && t.After(w)) {
				return true, true
			}
		}
		return false, true
	case opCIDR:
		if v.kind != kindString {
			return false, false
		}
		addr, err := netip.ParseAddr(v.s)
		if err != nil {
			return false, false
		}
		addr = addr.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(addr) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

func (c *clause) hasString(s string) bool {
	if c.strSet != nil {
		if c.ignoreCase {
			s = foldString(s)
		}
		_, ok := c.strSet[s]
		return ok
	}
	for _, want := range c.strs {
		if s == want || (c.ignoreCase && equalFold(s, want)) {
			return true
		}
	}
	return false
}

func (c *clause) testString(s string) bool {
	if c.op == opMatches {
		for _, re := range c.res {
			if re.MatchString(s) {
				return true
			}
		}
		return false
	}
	for _, want := range c.strs {
		if stringOp(c.op, s, want, c.ignoreCase) {
			return true
		}
	}
	return false
}

// stringOp applies contains, starts_with or ends_with.
func stringOp(op opcode, s, want string, ignoreCase bool) bool {
	switch op {
	case opStartsWith:
		if !ignoreCase {
			return strings.HasPrefix(s, want)
		}
		_, ok := cutPrefixFold(s, want)
		return ok
	case opEndsWith:
		if !ignoreCase {
			return strings.HasSuffix(s, want)
		}
		return hasSuffixFold(s, want)
	default: // contains
		if !ignoreCase {
			return strings.Contains(s, want)
		}
		for i := 0; i <= len(s); {
			if _, ok := cutPrefixFold(s[i:], want); ok {
				return true
			}
			if i == len(s) {
				break
			}
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
		return false
	}
}

func compareNumber(op opcode, a, b float64) bool {
	switch op {
	case opLt:
		return a < b
	case opLte:
		return a <= b
	case opGt:
		return a > b
	}
	return a >= b
}

// time reads a value as an instant: an RFC 3339 string, or a number of seconds since the Unix
// epoch.
func (v *value) time() (time.Time, bool) {
	switch v.kind {
	case kindString:
		t, err := time.Parse(time.RFC3339, v.s)
		return t, err == nil
	case kindNumber:
		sec := int64(v.f)
		return time.Unix(sec, int64((v.f-float64(sec))*1e9)), true
	}
	return time.Time{}, false
}

// Case-insensitive comparison works rune by rune on Unicode simple case folding, so it holds
// for characters whose upper and lower case differ in encoded length (ẞ/ß, Ⱥ/ⱥ, the Kelvin
// sign), which byte-length slicing would get wrong. It allocates nothing.

// foldRune maps r to the smallest rune of its case-folding orbit, a canonical representative.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		// ASCII letters fold with k and s only to non-ASCII runes above them.
		if r != 'k' && r != 's' {
			return r
		}
	}
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}

func equalFold(a, b string) bool {
	rest, ok := cutPrefixFold(a, b)
	return ok && rest == ""
}

// cutPrefixFold reports whether s starts with prefix, case-insensitively, and returns the rest.
func cutPrefixFold(s, prefix string) (string, bool) {
	for prefix != "" {
		if s == "" {
			return "", false
		}
		r, n := utf8.DecodeRuneInString(s)
		q, m := utf8.DecodeRuneInString(prefix)
		if r != q && foldRune(r) != foldRune(q) {
			return "", false
		}
		s, prefix = s[n:], prefix[m:]
	}
	return s, true
}

func hasSuffixFold(s, suffix string) bool {
	for suffix != "" {
		if s == "" {
			return false
		}
		r, n := utf8.DecodeLastRuneInString(s)
		q, m := utf8.DecodeLastRuneInString(suffix)
		if r != q && foldRune(r) != foldRune(q) {
			return false
		}
		s, suffix = s[:len(s)-n], suffix[:len(suffix)-m]
	}
	return true
}

// foldString maps every rune to its canonical fold, for case-insensitive set keys.
func foldString(s string) string {
	return strings.Map(foldRune, s)
}
