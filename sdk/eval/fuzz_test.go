package eval_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// chooser turns fuzz bytes into choices; once the bytes run out every choice is 0.
type chooser struct {
	data  []byte
	i     int
	texts []string // pieces of the fuzzer's free text
	// chaos lets the builder make mistakes, so that invalid snapshots are exercised too;
	// without it the builder aims at valid snapshots.
	chaos bool
}

func (c *chooser) byte() byte {
	if c.i >= len(c.data) {
		return 0
	}
	b := c.data[c.i]
	c.i++
	return b
}

func (c *chooser) n(n int) int { return int(c.byte()) % n }

func (c *chooser) u32() uint32 {
	return uint32(c.byte()) | uint32(c.byte())<<8 | uint32(c.byte())<<16 | uint32(c.byte())<<24
}

// bad reports, in chaos mode only, whether to make a mistake (about one time in n).
func (c *chooser) bad(n int) bool { return c.chaos && c.n(n) == 0 }

func pick[T any](c *chooser, list []T) T { return list[c.n(len(list))] }

// str returns a string from pool, or now and then a piece of the free text.
func (c *chooser) str(pool []string) string {
	if len(c.texts) > 0 && c.n(4) == 0 {
		return pick(c, c.texts)
	}
	return pick(c, pool)
}

var (
	fuzzStrings = []string{
		"CA", "US", "ca", "@x.com", "a@x.com", "A@X.COM", "^u[0-9]+$", "(", "[a-", "1.2.3", "2.0.0-rc.1", "v1.0.0",
		"1.2", "2026-01-01T00:00:00Z", "2025-06-01T12:00:00+02:00", "yesterday", "10.0.0.0/8", "10.1.2.3",
		"::/0", "2001:db8::1", "::ffff:10.0.0.1", "s0", "s1", "beta", "", "u1", "vip", "\u0130", "\u023A",
	}
	fuzzRegexps  = []string{"^u[0-9]+$", `@x\.com$`, "a|b", ".*", "", "(?i)^ca$", `\d{2,}`}
	fuzzSemvers  = []string{"1.2.3", "2.0.0-rc.1", "v1.0.0", "1.0.0+build", "0.0.1-alpha.1"}
	fuzzTimes    = []string{"2026-01-01T00:00:00Z", "2025-06-01T12:00:00+02:00", "1970-01-01T00:00:00Z"}
	fuzzPrefixes = []string{"10.0.0.0/8", "::/0", "2001:db8::/32", "192.168.1.1/32", "0.0.0.0/0"}
	fuzzNumbers  = []any{0, 18, 30.5, -1, 1767225600, 1e300, json.Number("7"), int64(-9), uint8(3), float32(2.5)}
	fuzzClauseNs = []any{0, 18, 30.5, -1, 1767225600, 1e300, json.Number("7"), int64(-9)}
	fuzzAttrs    = []string{"country", "age", "email", "version", "ts", "ip", "tags", "plan", "missing", "targetingKey"}
	fuzzOps      = append(append([]snapshot.Operator{}, snapshot.Operators...), "bogus", "")
	fuzzTypes    = []snapshot.FlagType{snapshot.TypeBoolean, snapshot.TypeBoolean, snapshot.TypeString, snapshot.TypeNumber, snapshot.TypeJSON}
	fuzzNames    = []string{"on", "off", "a", "b", "c", "on", "off", ""}
	fuzzKeys     = []string{"f0", "f1", "f2", "f9", "F!"}
)

// anyValue is an operand of any kind, valid for some operator or none.
func (c *chooser) anyValue() any {
	switch c.n(8) {
	case 0, 1, 2, 3:
		return c.str(fuzzStrings)
	case 4, 5:
		return pick(c, fuzzNumbers)
	case 6:
		return c.n(2) == 0
	}
	return pick(c, []any{nil, []any{"a"}, map[string]any{}, math.NaN()})
}

// operand is a value that op accepts (unless chaos strikes).
func (c *chooser) operand(op snapshot.Operator, segments []string) any {
	if c.bad(6) {
		return c.anyValue()
	}
	switch op {
	case snapshot.OpEq, snapshot.OpIn:
		switch c.n(4) {
		case 0:
			return pick(c, fuzzClauseNs)
		case 1:
			return c.n(2) == 0
		}
		return c.str(fuzzStrings)
	case snapshot.OpContains, snapshot.OpStartsWith, snapshot.OpEndsWith:
		return c.str(fuzzStrings)
	case snapshot.OpMatches:
		return pick(c, fuzzRegexps)
	case snapshot.OpLt, snapshot.OpLte, snapshot.OpGt, snapshot.OpGte:
		return pick(c, fuzzClauseNs)
	case snapshot.OpSemverEq, snapshot.OpSemverLt, snapshot.OpSemverGt:
		return pick(c, fuzzSemvers)
	case snapshot.OpBefore, snapshot.OpAfter:
		return pick(c, fuzzTimes)
	case snapshot.OpCIDR:
		return pick(c, fuzzPrefixes)
	case snapshot.OpInSegment:
		if len(segments) > 0 {
			return pick(c, segments)
		}
	}
	return c.anyValue()
}

// clause builds a clause; segments are the segments it may refer to (none in segment rules).
func (c *chooser) clause(segments []string) snapshot.Clause {
	ops := snapshot.Operators
	if c.chaos {
		ops = fuzzOps
	}
	cl := snapshot.Clause{Attribute: pick(c, fuzzAttrs), Op: pick(c, ops)}
	for cl.Op == snapshot.OpInSegment && len(segments) == 0 && !c.chaos {
		cl.Op = pick(c, snapshot.Operators[:len(snapshot.Operators)-1])
	}
	if c.bad(8) {
		cl.Attribute = ""
	}
	if cl.Op != snapshot.OpExists || c.bad(4) {
		for range 1 + c.n(3) {
			cl.Values = append(cl.Values, c.operand(cl.Op, segments))
		}
	}
	if c.bad(8) {
		cl.Values = nil
	}
	cl.Negate = c.n(3) == 0
	cl.IgnoreCase = c.n(3) == 0
	return cl
}

func (c *chooser) variantValue(typ snapshot.FlagType, i int) any {
	if c.bad(8) {
		return pick(c, []any{"x", 1, true, nil, []string{"no"}})
	}
	switch typ {
	case snapshot.TypeBoolean:
		return i%2 == 0
	case snapshot.TypeString:
		return c.str([]string{"red", "green", "", "blue"})
	case snapshot.TypeNumber:
		return pick(c, []any{1, 2.5, json.Number("-3"), int64(4), 0})
	}
	return pick(c, []any{nil, "s", 1.5, true, []any{"a", json.Number("2")}, map[string]any{"k": []any{1, nil}}})
}

func variantNames(vs snapshot.Variants) []string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return names
}

func (c *chooser) rollout(vs snapshot.Variants) *snapshot.Rollout {
	r := &snapshot.Rollout{}
	names := variantNames(vs)
	if len(names) == 0 || c.bad(8) {
		names = fuzzNames
	}
	// Distinct variants in a chosen order, unless chaos repeats one.
	order := append([]string(nil), names...)
	for i := len(order) - 1; i > 0; i-- {
		j := c.n(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	n := 1 + c.n(len(order))
	remaining := uint32(100000)
	for i := range n {
		u := remaining
		if i < n-1 {
			switch c.n(4) {
			case 0:
				u = 0
			case 1:
				u = uint32(c.n(101)) * 1000 % (remaining + 1)
			default:
				u = c.u32() % (remaining + 1)
			}
		}
		remaining -= u
		if c.bad(8) {
			u++ // a sum off by 0.001
		}
		name := order[i]
		if c.bad(8) {
			name = pick(c, names)
		}
		r.Weights = append(r.Weights, snapshot.Weight{Variant: name, Percent: float64(u) / 1000})
	}
	if c.bad(16) {
		r.Weights[0].Percent += 0.0001 // too many decimals
	}
	r.BucketBy = pick(c, []string{"", "", "targetingKey", "email", "age", "missing"})
	r.Salt = c.str([]string{"", "", "s/alt", "x"})
	return r
}

func (c *chooser) serve(vs snapshot.Variants) snapshot.Serve {
	switch {
	case c.bad(8):
		return snapshot.Serve{}
	case c.bad(8):
		return snapshot.Serve{Variant: pick(c, fuzzNames), Rollout: c.rollout(vs)}
	case c.n(3) == 0:
		return snapshot.Serve{Rollout: c.rollout(vs)}
	case len(vs) == 0 || c.bad(8):
		return snapshot.Serve{Variant: pick(c, fuzzNames)}
	}
	return snapshot.Serve{Variant: vs[c.n(len(vs))].Name}
}

// buildSnapshot makes a snapshot from the fuzz input: mostly valid ones, and in chaos mode
// (a quarter of the inputs) ones with mistakes of every kind.
func buildSnapshot(c *chooser) *snapshot.Snapshot {
	c.chaos = c.n(4) == 0
	s := &snapshot.Snapshot{Schema: snapshot.SchemaVersion, Version: int64(c.n(5))}
	var segKeys []string
	for i := range c.n(3) {
		seg := snapshot.Segment{Key: fmt.Sprintf("s%d", i)}
		if c.bad(8) {
			seg.Key = pick(c, []string{"s0", "S!"})
		}
		for range c.n(3) {
			seg.Include = append(seg.Include, c.str([]string{"u1", "u2", "vip"}))
		}
		for range c.n(3) {
			seg.Exclude = append(seg.Exclude, c.str([]string{"u1", "u2", "vip"}))
		}
		if c.bad(8) {
			seg.Include = append(seg.Include, "")
		}
		for range c.n(3) {
			var r snapshot.SegmentRule
			for range 1 + c.n(2) {
				r.Clauses = append(r.Clauses, c.clause(nil))
			}
			if c.bad(8) {
				r.Clauses = nil
			}
			seg.Rules = append(seg.Rules, r)
		}
		s.Segments = append(s.Segments, seg)
		segKeys = append(segKeys, seg.Key)
	}
	flagSegs := segKeys
	if c.chaos {
		flagSegs = append(append([]string(nil), segKeys...), "s9")
	}
	for i := range 1 + c.n(4) {
		f := snapshot.Flag{Key: fmt.Sprintf("f%d", i), Type: pick(c, fuzzTypes), Version: int64(c.n(100))}
		if c.bad(8) {
			f.Key = pick(c, fuzzKeys)
		}
		if c.bad(16) {
			f.Type = "weird"
		}
		if f.Type == snapshot.TypeBoolean && c.n(2) == 0 {
			f.Variants = snapshot.DefaultBooleanVariants()
		} else {
			for j := range 1 + c.n(3) {
				name := fmt.Sprintf("v%d", j)
				if f.Type == snapshot.TypeBoolean && j == 1 && c.n(2) == 0 {
					name = "off"
				}
				if c.bad(6) {
					name = pick(c, fuzzNames)
				}
				f.Variants = append(f.Variants, snapshot.Variant{Name: name, Value: c.variantValue(f.Type, j)})
			}
			if c.bad(16) {
				f.Variants = nil
			}
		}
		f.Enabled = c.n(4) != 0
		if c.n(3) != 0 && len(f.Variants) > 0 {
			f.OffVariant = f.Variants[c.n(len(f.Variants))].Name
		}
		if c.bad(8) {
			f.OffVariant = pick(c, []string{"", "zzz"})
		}
		// Prerequisites on earlier flags cannot form cycles; chaos may add any.
		for range c.n(3) {
			if i == 0 && !c.chaos {
				break
			}
			var pr snapshot.Prerequisite
			if c.chaos && c.n(3) == 0 {
				pr = snapshot.Prerequisite{Flag: pick(c, fuzzKeys), Variant: pick(c, fuzzNames)}
			} else {
				if len(s.Flags) == 0 {
					break
				}
				dep := s.Flags[c.n(len(s.Flags))]
				pr.Flag = dep.Key
				if len(dep.Variants) > 0 {
					pr.Variant = dep.Variants[c.n(len(dep.Variants))].Name
				}
			}
			f.Prerequisites = append(f.Prerequisites, pr)
		}
		if (!f.Enabled || len(f.Prerequisites) > 0) && f.OffVariant == "" && !c.chaos &&
			(f.Type != snapshot.TypeBoolean || snapshot.Variants(f.Variants).Index("off") < 0) && len(f.Variants) > 0 {
			f.OffVariant = f.Variants[0].Name
		}
		for j := range c.n(5) {
			r := snapshot.Rule{Name: pick(c, []string{"", "named"})}
			if c.n(2) == 0 {
				r.ID = fmt.Sprintf("r%d", j)
			}
			if c.bad(8) {
				r.ID = "r0"
			}
			switch {
			case c.n(5) == 0 && len(flagSegs) > 0:
				r.Segment = pick(c, flagSegs)
				if c.bad(4) {
					r.Clauses = []snapshot.Clause{c.clause(flagSegs)}
				}
			case c.bad(8):
			default:
				for range 1 + c.n(3) {
					r.Clauses = append(r.Clauses, c.clause(flagSegs))
				}
			}
			r.Serve = c.serve(f.Variants)
			f.Rules = append(f.Rules, r)
		}
		f.Default = c.serve(f.Variants)
		s.Flags = append(s.Flags, f)
	}
	return s
}

// attrValue is an attribute value of any supported kind, or now and then an unsupported one.
func (c *chooser) attrValue() any {
	switch c.n(10) {
	case 0, 1, 2, 3:
		return c.str(fuzzStrings)
	case 4, 5:
		return pick(c, fuzzNumbers)
	case 6:
		return c.n(2) == 0
	case 7, 8:
		var list []string
		for range c.n(4) {
			list = append(list, c.str(fuzzStrings))
		}
		return list
	}
	return pick(c, []any{nil, map[string]any{}, []int{1}, math.Inf(1), []any{"a", 1}})
}

// buildContext makes a context from the fuzz input; ok is false when NewContext refused it,
// which it must do only for the targetingKey attribute or an unsupported value.
func buildContext(t *testing.T, c *chooser, names []string) (eval.Context, bool) {
	key := c.str([]string{"", "u1", "u2", "vip", "user-42"})
	a := map[string]any{}
	for range c.n(7) {
		a[pick(c, names)] = c.attrValue()
	}
	ctx, err := eval.NewContext(key, a)
	if err != nil {
		if _, bad := a[eval.TargetingKeyAttribute]; bad {
			return ctx, false
		}
		for _, v := range a {
			switch x := v.(type) {
			case nil, map[string]any, []int, []any:
				return ctx, false
			case float64:
				if math.IsInf(x, 0) {
					return ctx, false
				}
			}
		}
		t.Fatalf("NewContext(%q, %v) refused valid attributes: %v", key, a, err)
	}
	return ctx, true
}

var validReasons = map[eval.Reason]bool{
	eval.ReasonDefault: true, eval.ReasonTargetingMatch: true, eval.ReasonSplit: true,
	eval.ReasonDisabled: true, eval.ReasonPrerequisiteFailed: true, eval.ReasonError: true,
}

func offVariant(f *snapshot.Flag) string {
	if f.OffVariant == "" && f.Type == snapshot.TypeBoolean {
		return "off"
	}
	return f.OffVariant
}

func hasRollout(f *snapshot.Flag) bool {
	if f.Default.Rollout != nil {
		return true
	}
	for _, r := range f.Rules {
		if r.Serve.Rollout != nil {
			return true
		}
	}
	return false
}

func positiveWeight(r *snapshot.Rollout, variant string) bool {
	for _, w := range r.Weights {
		if w.Variant == variant && w.Percent > 0 {
			return true
		}
	}
	return false
}

// checkInvariants checks one evaluation of key against the source snapshot s.
func checkInvariants(t *testing.T, s *snapshot.Snapshot, cs *eval.Snapshot, key string, ctx *eval.Context) {
	t.Helper()
	res := cs.Evaluate(key, ctx)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("flag %q, context key %q: result %+v: %s", key, ctx.TargetingKey(), res, fmt.Sprintf(format, args...))
	}
	if again := cs.Evaluate(key, ctx); !reflect.DeepEqual(again, res) {
		fail("a second evaluation gave %+v", again)
	}
	if !validReasons[res.Reason] {
		fail("undefined reason")
	}
	var f *snapshot.Flag
	for i := range s.Flags {
		if s.Flags[i].Key == key {
			f = &s.Flags[i]
		}
	}
	if res.ErrorCode != "" {
		if res.VariantIndex != -1 || res.Value != nil || res.Variant != "" || res.Reason != eval.ReasonError ||
			res.RuleIndex != -1 || res.RuleID != "" {
			fail("an error result must have VariantIndex -1, no value, no variant, reason ERROR, no rule")
		}
		switch res.ErrorCode {
		case eval.ErrorFlagNotFound:
			if f != nil {
				fail("FLAG_NOT_FOUND for a flag that exists")
			}
		case eval.ErrorTargetingKeyMissing:
			if f == nil || !hasRollout(f) {
				fail("TARGETING_KEY_MISSING for a flag without a rollout")
			}
		default:
			fail("unexpected error code")
		}
		return
	}
	if f == nil {
		fail("a result for a flag that does not exist")
	}
	if res.VariantIndex < 0 || res.VariantIndex >= len(f.Variants) {
		fail("VariantIndex out of range")
	}
	v := f.Variants[res.VariantIndex]
	if res.Variant != v.Name {
		fail("Variant does not name variant %d (%q)", res.VariantIndex, v.Name)
	}
	want, err := snapshot.NormalizeValue(f.Type, v.Value)
	if err != nil || !reflect.DeepEqual(res.Value, want) {
		fail("Value %#v, want %#v", res.Value, want)
	}
	if res.FlagVersion != f.Version {
		fail("FlagVersion %d, want %d", res.FlagVersion, f.Version)
	}
	if res.RuleIndex < -1 || res.RuleIndex >= len(f.Rules) {
		fail("RuleIndex out of range")
	}
	if !f.Enabled && res.Reason != eval.ReasonDisabled {
		fail("a disabled flag must give DISABLED")
	}
	switch res.Reason {
	case eval.ReasonDisabled, eval.ReasonPrerequisiteFailed:
		if res.Variant != offVariant(f) || res.RuleIndex != -1 {
			fail("must serve the off variant %q without a rule", offVariant(f))
		}
		if res.Reason == eval.ReasonPrerequisiteFailed && len(f.Prerequisites) == 0 {
			fail("PREREQUISITE_FAILED without prerequisites")
		}
	case eval.ReasonTargetingMatch:
		if res.RuleIndex < 0 {
			fail("TARGETING_MATCH without a rule")
		}
		r := f.Rules[res.RuleIndex]
		wantID := r.ID
		if wantID == "" {
			wantID = r.Name
		}
		if r.Serve.Rollout != nil || r.Serve.Variant != res.Variant || res.RuleID != wantID {
			fail("rule %d serves %+v with id %q", res.RuleIndex, r.Serve, wantID)
		}
	case eval.ReasonSplit:
		ro := f.Default.Rollout
		if res.RuleIndex >= 0 {
			ro = f.Rules[res.RuleIndex].Serve.Rollout
		}
		if ro == nil || !positiveWeight(ro, res.Variant) {
			fail("SPLIT to a variant without weight, or from a serve without a rollout")
		}
	case eval.ReasonDefault:
		if res.RuleIndex != -1 || f.Default.Variant != res.Variant || f.Default.Rollout != nil {
			fail("DEFAULT must serve the default variant without a rule")
		}
	default:
		fail("reason %s for a successful evaluation", res.Reason)
	}
	if cf, ok := cs.Flag(key); !ok || !reflect.DeepEqual(cf.Evaluate(ctx), res) {
		fail("Flag(%q).Evaluate differs", key)
	}
}

// richSnapshot is a fixed configuration using every operator, segments, prerequisites and
// rollouts, against which FuzzEvaluate also evaluates random contexts.
func richSnapshot() *snapshot.Snapshot {
	c := func(attr string, op snapshot.Operator, values ...any) snapshot.Clause {
		return snapshot.Clause{Attribute: attr, Op: op, Values: values}
	}
	str := snapshot.Variants{{Name: "a", Value: "A"}, {Name: "b", Value: "B"}, {Name: "c", Value: "C"}}
	return &snapshot.Snapshot{
		Schema: snapshot.SchemaVersion, Version: 5,
		Segments: []snapshot.Segment{
			{Key: "staff", Include: []string{"vip"}, Exclude: []string{"u2"}, Rules: []snapshot.SegmentRule{
				{Clauses: []snapshot.Clause{c("email", snapshot.OpEndsWith, "@x.com")}},
				{Clauses: []snapshot.Clause{c("tags", snapshot.OpIn, "beta"), c("age", snapshot.OpGte, 18)}},
			}},
			{Key: "canada", Rules: []snapshot.SegmentRule{{Clauses: []snapshot.Clause{c("country", snapshot.OpEq, "CA")}}}},
		},
		Flags: []snapshot.Flag{
			{Key: "gate", Type: snapshot.TypeBoolean, Variants: snapshot.DefaultBooleanVariants(), Version: 1,
				Config: snapshot.Config{Enabled: true, Rules: []snapshot.Rule{
					{ID: "staff", Segment: "staff", Serve: snapshot.Serve{Variant: "on"}},
				}, Default: snapshot.Serve{Rollout: &snapshot.Rollout{Weights: snapshot.Weights{{Variant: "on", Percent: 30}, {Variant: "off", Percent: 70}}}}}},
			{Key: "ops", Type: snapshot.TypeString, Variants: str, Version: 2,
				Config: snapshot.Config{Enabled: true, OffVariant: "c",
					Prerequisites: []snapshot.Prerequisite{{Flag: "gate", Variant: "on"}},
					Rules: []snapshot.Rule{
						{ID: "strings", Clauses: []snapshot.Clause{
							{Attribute: "email", Op: snapshot.OpContains, Values: []any{"@"}, IgnoreCase: true},
							{Attribute: "email", Op: snapshot.OpStartsWith, Values: []any{"a"}, Negate: true},
							{Attribute: "email", Op: snapshot.OpMatches, Values: []any{`^[a-z]+@`}, IgnoreCase: true},
						}, Serve: snapshot.Serve{Variant: "a"}},
						{ID: "numbers", Clauses: []snapshot.Clause{
							c("age", snapshot.OpGt, 17), c("age", snapshot.OpLt, 65), c("age", snapshot.OpLte, 64.5), c("age", snapshot.OpGte, 18),
						}, Serve: snapshot.Serve{Rollout: &snapshot.Rollout{Weights: snapshot.Weights{{Variant: "a", Percent: 33.333}, {Variant: "b", Percent: 33.333}, {Variant: "c", Percent: 33.334}}}}},
						{ID: "versions", Clauses: []snapshot.Clause{
							c("version", snapshot.OpSemverGt, "1.0.0"), c("version", snapshot.OpSemverLt, "2.0.0"),
							{Attribute: "version", Op: snapshot.OpSemverEq, Values: []any{"1.5.0"}, Negate: true},
						}, Serve: snapshot.Serve{Variant: "b"}},
						{ID: "times", Clauses: []snapshot.Clause{
							c("ts", snapshot.OpAfter, "2025-01-01T00:00:00Z"), c("ts", snapshot.OpBefore, "2027-01-01T00:00:00Z"),
						}, Serve: snapshot.Serve{Variant: "c"}},
						{ID: "network", Clauses: []snapshot.Clause{c("ip", snapshot.OpCIDR, "10.0.0.0/8", "2001:db8::/32")}, Serve: snapshot.Serve{Variant: "a"}},
						{Name: "segments", Clauses: []snapshot.Clause{
							c("", snapshot.OpInSegment, "canada"), {Op: snapshot.OpInSegment, Values: []any{"staff"}, Negate: true},
						}, Serve: snapshot.Serve{Variant: "b"}},
						{ID: "exists", Clauses: []snapshot.Clause{
							c("plan", snapshot.OpExists), {Attribute: "missing", Op: snapshot.OpExists, Negate: true},
							{Attribute: "plan", Op: snapshot.OpEq, Values: []any{"PRO", "team", 1, true, "a", "b", "c", "d", "e"}, IgnoreCase: true},
						}, Serve: snapshot.Serve{Rollout: &snapshot.Rollout{BucketBy: "email", Salt: "ops/exists",
							Weights: snapshot.Weights{{Variant: "c", Percent: 50}, {Variant: "a", Percent: 50}}}}},
					},
					Default: snapshot.Serve{Variant: "c"}}},
			{Key: "limit", Type: snapshot.TypeNumber, Version: 3,
				Variants: snapshot.Variants{{Name: "low", Value: 1}, {Name: "high", Value: 1e6}},
				Config: snapshot.Config{Enabled: true, OffVariant: "low",
					Prerequisites: []snapshot.Prerequisite{{Flag: "ops", Variant: "a"}},
					Default:       snapshot.Serve{Rollout: &snapshot.Rollout{BucketBy: "country", Weights: snapshot.Weights{{Variant: "high", Percent: 0.001}, {Variant: "low", Percent: 99.999}}}}}},
			{Key: "theme", Type: snapshot.TypeJSON, Version: 4,
				Variants: snapshot.Variants{{Name: "dark", Value: map[string]any{"bg": "black"}}, {Name: "none", Value: nil}},
				Config:   snapshot.Config{Enabled: false, OffVariant: "none", Default: snapshot.Serve{Variant: "dark"}}},
		},
	}
}

var (
	richOnce     sync.Once
	richSource   *snapshot.Snapshot
	richCompiled *eval.Snapshot
	richErr      error
)

func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"), "user-1|@x.com")
	f.Add([]byte{2, 1, 0, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113}, "1.2.3|10.0.0.1")
	f.Add([]byte(strings.Repeat("\x03\xff\x10\x80\x41", 40)), "CA|ca|\u0130stanbul")
	f.Add([]byte(strings.Repeat("\x00\x01\x02\x03\x04\x05\x06", 60)), "2026-01-01T00:00:00Z")
	f.Add([]byte("flagpilot evaluates flags locally in nanoseconds"), "(|[|^a+$")

	f.Fuzz(func(t *testing.T, data []byte, text string) {
		var texts []string
		for _, p := range strings.SplitN(text, "|", 5) {
			texts = append(texts, p)
		}
		c := &chooser{data: data, texts: texts}

		// A configuration built from the input.
		s := buildSnapshot(c)
		verr := s.Validate()
		cs, cerr := eval.Compile(s)
		if (verr == nil) != (cerr == nil) {
			t.Fatalf("Validate: %v; Compile: %v", verr, cerr)
		}
		if cerr != nil {
			var ve snapshot.ValidationError
			if !errors.As(cerr, &ve) || len(ve) == 0 || cs != nil {
				t.Fatalf("Compile refused with %T %v and snapshot %v", cerr, cerr, cs)
			}
		} else {
			for range 4 {
				ctx, ok := buildContext(t, c, fuzzAttrs)
				if !ok {
					continue
				}
				for _, fl := range s.Flags {
					checkInvariants(t, s, cs, fl.Key, &ctx)
				}
				checkInvariants(t, s, cs, "absent", &ctx)
			}
		}

		// Random contexts against the fixed rich configuration.
		richOnce.Do(func() {
			richSource = richSnapshot()
			richCompiled, richErr = eval.Compile(richSource)
		})
		if richErr != nil {
			t.Fatalf("the rich snapshot does not compile: %v", richErr)
		}
		for range 4 {
			ctx, ok := buildContext(t, c, fuzzAttrs)
			if !ok {
				continue
			}
			for _, fl := range richSource.Flags {
				checkInvariants(t, richSource, richCompiled, fl.Key, &ctx)
			}
		}
	})
}

// TestFuzzBuilder makes sure the fuzz input builder is not useless: outside chaos mode it builds
// valid snapshots with rules, which get evaluated; in chaos mode it builds invalid ones too.
func TestFuzzBuilder(t *testing.T) {
	var valid, invalid [2]int
	rules := 0
	seed := uint64(1)
	for range 4000 {
		data := make([]byte, 300)
		for i := range data {
			seed = seed*6364136223846793005 + 1442695040888963407
			data[i] = byte(seed >> 56)
		}
		c := &chooser{data: data}
		s := buildSnapshot(c)
		mode := 0
		if c.chaos {
			mode = 1
		}
		if err := s.Validate(); err != nil {
			invalid[mode]++
			if mode == 0 {
				t.Errorf("outside chaos mode the builder made an invalid snapshot: %v", err)
			}
			continue
		}
		valid[mode]++
		for _, f := range s.Flags {
			rules += len(f.Rules)
		}
	}
	t.Logf("valid/invalid: %d/%d outside chaos mode, %d/%d in chaos mode; %d rules", valid[0], invalid[0], valid[1], invalid[1], rules)
	if valid[0] < 2000 || invalid[1] < 300 || rules < 2000 {
		t.Errorf("the builder does not cover enough: valid/invalid %v/%v, %d rules", valid, invalid, rules)
	}
}
