package snapshot_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

func clause(attr string, op snapshot.Operator, values ...any) snapshot.Clause {
	return snapshot.Clause{Attribute: attr, Op: op, Values: values}
}

// validSnapshot uses every operator and every kind of reference, and validates.
func validSnapshot() *snapshot.Snapshot {
	return &snapshot.Snapshot{
		Schema: snapshot.SchemaVersion, Project: "shop", Environment: "production", Version: 3,
		Segments: []snapshot.Segment{
			{
				Key:     "staff",
				Include: []string{"qa-bot-1"},
				Exclude: []string{"intern-1"},
				Rules: []snapshot.SegmentRule{
					{Clauses: []snapshot.Clause{clause("email", snapshot.OpEndsWith, "@mycompany.com")}},
				},
			},
			{Key: "beta", Rules: []snapshot.SegmentRule{{Clauses: []snapshot.Clause{clause("plan", snapshot.OpIn, "beta", "pro")}}}},
		},
		Flags: []snapshot.Flag{
			{
				Key: "new-checkout", Type: snapshot.TypeBoolean, Variants: snapshot.DefaultBooleanVariants(), Version: 7,
				Config: snapshot.Config{
					Enabled: true,
					Rules: []snapshot.Rule{
						{ID: "staff", Segment: "staff", Serve: snapshot.Serve{Variant: "on"}},
						{ID: "canada", Clauses: []snapshot.Clause{
							clause("country", snapshot.OpEq, "CA"),
							clause("plan", snapshot.OpIn, "pro", "team"),
							clause("email", snapshot.OpContains, "@"),
							clause("path", snapshot.OpStartsWith, "/shop"),
							clause("email", snapshot.OpMatches, `^[a-z]+@`),
						}, Serve: snapshot.Serve{Variant: "on"}},
						{ID: "numbers", Clauses: []snapshot.Clause{
							clause("age", snapshot.OpLt, 99), clause("age", snapshot.OpLte, json.Number("98.5")),
							clause("age", snapshot.OpGt, 1.5), clause("age", snapshot.OpGte, int64(2)),
						}, Serve: snapshot.Serve{Rollout: &snapshot.Rollout{
							Weights: snapshot.Weights{{Variant: "on", Percent: 33.333}, {Variant: "off", Percent: 66.667}},
						}}},
						{ID: "versions", Clauses: []snapshot.Clause{
							clause("version", snapshot.OpSemverEq, "1.2.3"), clause("version", snapshot.OpSemverLt, "2.0.0-rc.1"),
							clause("version", snapshot.OpSemverGt, "v1.0.0+build"),
							clause("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), clause("ts", snapshot.OpAfter, "2025-01-01T00:00:00+01:00"),
							clause("ip", snapshot.OpCIDR, "10.0.0.0/8", "2001:db8::/32"),
							clause("company", snapshot.OpExists),
							{Op: snapshot.OpInSegment, Values: []any{"beta"}, Negate: true},
							{Attribute: "email", Op: snapshot.OpEq, Values: []any{"X@Y.COM", true, 1}, IgnoreCase: true},
						}, Serve: snapshot.Serve{Variant: "off"}},
					},
					Default: snapshot.Serve{Rollout: &snapshot.Rollout{
						Weights: snapshot.Weights{{Variant: "on", Percent: 10}, {Variant: "off", Percent: 90}},
						Salt:    "shop/new-checkout", BucketBy: "company",
					}},
				},
			},
			{
				Key: "banner", Type: snapshot.TypeString,
				Variants: snapshot.Variants{{Name: "plain", Value: "Welcome"}, {Name: "festive", Value: "Happy holidays"}},
				Config: snapshot.Config{
					Enabled: false, OffVariant: "plain",
					Prerequisites: []snapshot.Prerequisite{{Flag: "new-checkout", Variant: "on"}},
					Default:       snapshot.Serve{Variant: "festive"},
				},
			},
			{
				Key: "max-items", Type: snapshot.TypeNumber,
				Variants: snapshot.Variants{{Name: "small", Value: 10}, {Name: "large", Value: json.Number("100")}, {Name: "fraction", Value: 2.5}},
				Config:   snapshot.Config{Enabled: true, Default: snapshot.Serve{Variant: "large"}},
			},
			{
				Key: "theme", Type: snapshot.TypeJSON,
				Variants: snapshot.Variants{
					{Name: "dark", Value: map[string]any{"background": "black", "sizes": []any{json.Number("1"), 2}}},
					{Name: "none", Value: nil},
				},
				Config: snapshot.Config{Enabled: true, Default: snapshot.Serve{Variant: "dark"}},
			},
			{
				Key: "child.flag_2", Type: snapshot.TypeBoolean, Variants: snapshot.DefaultBooleanVariants(),
				Config: snapshot.Config{
					Enabled:       true,
					Prerequisites: []snapshot.Prerequisite{{Flag: "new-checkout", Variant: "on"}, {Flag: "banner", Variant: "plain"}},
					Default:       snapshot.Serve{Variant: "on"},
				},
			},
		},
	}
}

func TestValidSnapshot(t *testing.T) {
	s := validSnapshot()
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// The snapshot above uses every operator, so a change to one is noticed here.
	used := map[snapshot.Operator]bool{}
	for _, f := range s.Flags {
		for _, r := range f.Rules {
			for _, c := range r.Clauses {
				used[c.Op] = true
			}
		}
	}
	for _, seg := range s.Segments {
		for _, r := range seg.Rules {
			for _, c := range r.Clauses {
				used[c.Op] = true
			}
		}
	}
	for _, op := range snapshot.Operators {
		if !used[op] {
			t.Errorf("the valid snapshot does not use %s", op)
		}
	}
	// An empty snapshot is valid too.
	if err := (&snapshot.Snapshot{}).Validate(); err != nil {
		t.Errorf("empty snapshot: %v", err)
	}
}

func flagOf(s *snapshot.Snapshot, key string) *snapshot.Flag {
	for i := range s.Flags {
		if s.Flags[i].Key == key {
			return &s.Flags[i]
		}
	}
	panic("no flag " + key)
}

func segmentOf(s *snapshot.Snapshot, key string) *snapshot.Segment {
	for i := range s.Segments {
		if s.Segments[i].Key == key {
			return &s.Segments[i]
		}
	}
	panic("no segment " + key)
}

func boolFlag(key string, prereqs ...string) snapshot.Flag {
	f := snapshot.Flag{Key: key, Type: snapshot.TypeBoolean, Variants: snapshot.DefaultBooleanVariants(),
		Config: snapshot.Config{Enabled: true, Default: snapshot.Serve{Variant: "on"}}}
	for _, p := range prereqs {
		f.Prerequisites = append(f.Prerequisites, snapshot.Prerequisite{Flag: p, Variant: "on"})
	}
	return f
}

// fe is an expected field error: the exact path and a fragment of the message.
type fe struct{ path, msg string }

type validationCase struct {
	name   string
	mutate func(s *snapshot.Snapshot)
	want   []fe
	// extra allows errors beyond want (consequences of the same mistake).
	extra bool
}

func rollout(pairs ...any) *snapshot.Rollout {
	r := &snapshot.Rollout{}
	for i := 0; i < len(pairs); i += 2 {
		var pct float64
		switch p := pairs[i+1].(type) {
		case int:
			pct = float64(p)
		case float64:
			pct = p
		}
		r.Weights = append(r.Weights, snapshot.Weight{Variant: pairs[i].(string), Percent: pct})
	}
	return r
}

const nc = "flags.new-checkout"

var validationCases = []validationCase{
	// operators and clause values
	{"unknown operator", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[1].Clauses[0].Op = "equals"
	}, []fe{{nc + ".rules[1].clauses[0].op", `unknown operator "equals" (expected one of eq, in,`}}, false},
	{"operator in the wrong case", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[1].Clauses[0].Op = "EQ"
	}, []fe{{nc + ".rules[1].clauses[0].op", `unknown operator "EQ"`}}, false},
	{"missing operator", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[1].Clauses[0].Op = ""
	}, []fe{{nc + ".rules[1].clauses[0].op", `unknown operator ""`}}, false},
	{"invalid regex", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[1].Clauses[4].Values = []any{"ok", "(unclosed"}
	}, []fe{{nc + ".rules[1].clauses[4].values[1]", `invalid regular expression "(unclosed"`}}, false},
	{"invalid regex: Perl lookahead is not RE2", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[1].Clauses[4].Values = []any{"a(?=b)"}
	}, []fe{{nc + ".rules[1].clauses[4].values[0]", `invalid regular expression`}}, false},
	{"invalid semver", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[3].Clauses[1].Values = []any{"1.2"}
	}, []fe{{nc + ".rules[3].clauses[1].values[0]", `invalid semantic version "1.2"`}}, false},
	{"invalid semver: leading zero", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[3].Clauses[0].Values = []any{"1.02.3"}
	}, []fe{{nc + ".rules[3].clauses[0].values[0]", `invalid semantic version "1.02.3"`}}, false},
	{"semver operand not a string", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[3].Clauses[2].Values = []any{1.5}
	}, []fe{{nc + ".rules[3].clauses[2].values[0]", `semver_gt takes strings, got a number`}}, false},
	{"invalid time", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[3].Clauses[3].Values = []any{"2026-01-01"}
	}, []fe{{nc + ".rules[3].clauses[3].values[0]", `invalid time "2026-01-01" (expected RFC 3339`}}, false},
	{"invalid time: no zone", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[3].Clauses[4].Values = []any{"2026-01-01T00:00:00"}
	}, []fe{{nc + ".rules[3].clauses[4].values[0]", `invalid time`}}, false},
	{"invalid CIDR", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[3].Clauses[5].Values = []any{"10.0.0.0/8", "10.0.0.0/33"}
	}, []fe{{nc + ".rules[3].clauses[5].values[1]", `invalid CIDR prefix "10.0.0.0/33"`}}, false},
	{"invalid CIDR: an address", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[3].Clauses[5].Values = []any{"10.0.0.1"}
	}, []fe{{nc + ".rules[3].clauses[5].values[0]", `invalid CIDR prefix`}}, false},
	{"lt with a string", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[2].Clauses[0].Values = []any{"18"}
	}, []fe{{nc + ".rules[2].clauses[0].values[0]", `lt compares numbers, got a string`}}, false},
	{"lte with a boolean", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[2].Clauses[1].Values = []any{true}
	}, []fe{{nc + ".rules[2].clauses[1].values[0]", `lte compares numbers, got a boolean`}}, false},
	{"gt with null", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[2].Clauses[2].Values = []any{nil}
	}, []fe{{nc + ".rules[2].clauses[2].values[0]", `gt compares numbers, got null`}}, false},
	{"gte with a list", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[2].Clauses[3].Values = []any{1, []any{2}}
	}, []fe{{nc + ".rules[2].clauses[3].values[1]", `gte compares numbers, got a list`}}, false},
	{"gte with NaN", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[2].Clauses[3].Values = []any{math.NaN()}
	}, []fe{{nc + ".rules[2].clauses[3].values[0]", `gte compares numbers`}}, false},
	{"eq with an object", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[1].Clauses[0].Values = []any{map[string]any{"a": 1}}
	}, []fe{{nc + ".rules[1].clauses[0].values[0]", `eq compares strings, numbers or booleans, got an object`}}, false},
	{"contains with a number", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[1].Clauses[2].Values = []any{5}
	}, []fe{{nc + ".rules[1].clauses[2].values[0]", `contains takes strings, got a number`}}, false},
	{"no values", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[1].Clauses[1].Values = nil
	}, []fe{{nc + ".rules[1].clauses[1].values", `in needs at least one value`}}, false},
	{"no attribute", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[1].Clauses[1].Attribute = ""
	}, []fe{{nc + ".rules[1].clauses[1].attribute", `required`}}, false},
	{"exists with values", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[3].Clauses[6].Values = []any{"x"}
	}, []fe{{nc + ".rules[3].clauses[6].values", `exists takes no values`}}, false},
	{"in_segment with an unknown segment", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[3].Clauses[7].Values = []any{"beta", "ghost"}
	}, []fe{{nc + ".rules[3].clauses[7].values[1]", `unknown segment "ghost"`}}, false},

	// serves and variants
	{"unknown variant in a rule's serve", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[1].Serve.Variant = "maybe"
	}, []fe{{nc + ".rules[1].serve.variant", `unknown variant "maybe" (expected one of on, off)`}}, false},
	{"unknown variant in the default serve", func(s *snapshot.Snapshot) {
		flagOf(s, "banner").Default = snapshot.Serve{Variant: "gaudy"}
	}, []fe{{"flags.banner.default.variant", `unknown variant "gaudy" (expected one of plain, festive)`}}, false},
	{"unknown variant in offVariant", func(s *snapshot.Snapshot) {
		flagOf(s, "banner").OffVariant = "none"
	}, []fe{{"flags.banner.offVariant", `unknown variant "none"`}}, false},
	{"unknown variant in a prerequisite", func(s *snapshot.Snapshot) {
		flagOf(s, "child.flag_2").Prerequisites[1].Variant = "on" // banner has plain and festive
	}, []fe{{"flags.child.flag_2.prerequisites[1].variant", `unknown variant "on" (expected one of plain, festive)`}}, false},
	{"prerequisite without a variant", func(s *snapshot.Snapshot) {
		flagOf(s, "child.flag_2").Prerequisites[0].Variant = ""
	}, []fe{{"flags.child.flag_2.prerequisites[0].variant", `required`}}, false},
	{"unknown variant in a rollout", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Default.Rollout = rollout("on", 10, "maybe", 90)
	}, []fe{{nc + ".default.rollout.weights.maybe", `unknown variant "maybe"`}}, false},
	{"weights sum below 100", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Default.Rollout = rollout("on", 10, "off", 80)
	}, []fe{{nc + ".default.rollout.weights", `weights sum to 90, expected 100`}}, false},
	{"weights sum above 100", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[2].Serve.Rollout = rollout("on", 33.334, "off", 66.667)
	}, []fe{{nc + ".rules[2].serve.rollout.weights", `weights sum to 100.001, expected 100`}}, false},
	{"weight with more than three decimals", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Default.Rollout = rollout("on", 10.0005, "off", 89.9995)
	}, []fe{
		{nc + ".default.rollout.weights.on", `weight 10.0005 must be between 0 and 100 with at most three decimals`},
		{nc + ".default.rollout.weights.off", `weight 89.9995 must be between 0 and 100 with at most three decimals`},
	}, true},
	{"negative weight", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Default.Rollout = rollout("on", -10, "off", 110)
	}, []fe{
		{nc + ".default.rollout.weights.on", `must be between 0 and 100`},
		{nc + ".default.rollout.weights.off", `must be between 0 and 100`},
	}, true},
	{"duplicate weight", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Default.Rollout = rollout("on", 50, "on", 50)
	}, []fe{{nc + ".default.rollout.weights.on", `duplicate weight`}}, false},
	{"rollout without weights", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Default.Rollout = &snapshot.Rollout{}
	}, []fe{{nc + ".default.rollout.weights", `a rollout needs at least one weight`}}, false},
	{"serve with a variant and a rollout", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Default.Variant = "on"
	}, []fe{{nc + ".default", `serve either a variant or a rollout, not both`}}, false},
	{"empty serve", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[0].Serve = snapshot.Serve{}
	}, []fe{{nc + ".rules[0].serve", `required: a variant or a rollout`}}, false},

	// prerequisites
	{"prerequisite cycle a → b → a", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag("a", "b"), boolFlag("b", "a"))
	}, []fe{{"flags.a.prerequisites", `prerequisite cycle: a → b → a`}}, false},
	{"prerequisite cycle through three flags", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag("a", "b"), boolFlag("b", "c"), boolFlag("c", "a"))
	}, []fe{{"flags.a.prerequisites", `prerequisite cycle: a → b → c → a`}}, false},
	{"prerequisite on itself", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag("self", "self"))
	}, []fe{{"flags.self.prerequisites", `prerequisite cycle: self → self`}}, false},
	{"cycle reached from another flag", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag("top", "x"), boolFlag("x", "y"), boolFlag("y", "x"))
	}, []fe{{"flags.x.prerequisites", `prerequisite cycle: x → y → x`}}, false},
	{"unknown prerequisite flag", func(s *snapshot.Snapshot) {
		flagOf(s, "banner").Prerequisites[0].Flag = "ghost"
	}, []fe{{"flags.banner.prerequisites[0].flag", `unknown flag "ghost"`}}, false},
	{"prerequisite without a flag", func(s *snapshot.Snapshot) {
		flagOf(s, "banner").Prerequisites[0].Flag = ""
	}, []fe{{"flags.banner.prerequisites[0].flag", `required`}}, false},

	// duplicates
	{"duplicate flag", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag("max-items"))
	}, []fe{{"flags.max-items", `duplicate flag`}}, false},
	{"duplicate segment", func(s *snapshot.Snapshot) {
		s.Segments = append(s.Segments, snapshot.Segment{Key: "beta", Include: []string{"x"}})
	}, []fe{{"segments.beta", `duplicate segment`}}, false},
	{"duplicate variant", func(s *snapshot.Snapshot) {
		f := flagOf(s, "banner")
		f.Variants = append(f.Variants, snapshot.Variant{Name: "plain", Value: "Hi"})
	}, []fe{{"flags.banner.variants.plain", `duplicate variant`}}, false},
	{"duplicate rule id", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[3].ID = "canada"
	}, []fe{{nc + ".rules[3].id", `duplicate rule id "canada"`}}, false},

	// keys
	{"flag key with upper case", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag("Dark-Mode"))
	}, []fe{{"flags.Dark-Mode.key", `invalid key "Dark-Mode" (expected 1 to 128 characters`}}, false},
	{"flag key starting with '-'", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag("-x"))
	}, []fe{{"flags.-x.key", `invalid key "-x"`}}, false},
	{"flag key with a space", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag("a b"))
	}, []fe{{"flags.a b.key", `invalid key "a b"`}}, false},
	{"flag key with a slash", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag("a/b"))
	}, []fe{{"flags.a/b.key", `invalid key "a/b"`}}, false},
	{"flag key of 129 characters", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag(strings.Repeat("k", 129)))
	}, []fe{{"flags." + strings.Repeat("k", 129) + ".key", `invalid key`}}, false},
	{"flag key with a trailing newline", func(s *snapshot.Snapshot) {
		s.Flags = append(s.Flags, boolFlag("abc\n"))
	}, []fe{{"flags.abc\n.key", `invalid key`}}, false},
	{"segment key with upper case", func(s *snapshot.Snapshot) {
		s.Segments = append(s.Segments, snapshot.Segment{Key: "Staff", Include: []string{"x"}})
	}, []fe{{"segments.Staff.key", `invalid key "Staff"`}}, false},
	{"segment key with '!'", func(s *snapshot.Snapshot) {
		s.Segments = append(s.Segments, snapshot.Segment{Key: "vip!", Include: []string{"x"}})
	}, []fe{{"segments.vip!.key", `invalid key "vip!"`}}, false},

	// types and variants
	{"unknown flag type", func(s *snapshot.Snapshot) {
		flagOf(s, "max-items").Type = "integer"
	}, []fe{{"flags.max-items.type", `unknown type "integer" (expected one of boolean, string, number, json)`}}, false},
	{"boolean variant holding a string", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Variants[0].Value = "true"
	}, []fe{{nc + ".variants.on", `expected a boolean value, got a string`}}, false},
	{"string variant holding a number", func(s *snapshot.Snapshot) {
		flagOf(s, "banner").Variants[1].Value = 5
	}, []fe{{"flags.banner.variants.festive", `expected a string value, got a number`}}, false},
	{"number variant holding a string", func(s *snapshot.Snapshot) {
		flagOf(s, "max-items").Variants[0].Value = "10"
	}, []fe{{"flags.max-items.variants.small", `expected a number value, got a string`}}, false},
	{"number variant holding an infinite number", func(s *snapshot.Snapshot) {
		flagOf(s, "max-items").Variants[2].Value = math.Inf(1)
	}, []fe{{"flags.max-items.variants.fraction", `expected a number value`}}, false},
	{"number variant out of float64 range", func(s *snapshot.Snapshot) {
		flagOf(s, "max-items").Variants[1].Value = json.Number("1e400")
	}, []fe{{"flags.max-items.variants.large", `expected a number value`}}, false},
	{"json variant holding a Go value JSON cannot hold", func(s *snapshot.Snapshot) {
		flagOf(s, "theme").Variants[0].Value = map[string]any{"f": func() {}}
	}, []fe{{"flags.theme.variants.dark", `expected a JSON value`}}, false},
	{"no variants", func(s *snapshot.Snapshot) {
		f := flagOf(s, "max-items")
		f.Variants = nil
		f.Default = snapshot.Serve{Variant: "large"}
	}, []fe{{"flags.max-items.variants", `a number flag needs at least one variant`}}, true},
	{"empty variant name", func(s *snapshot.Snapshot) {
		f := flagOf(s, "banner")
		f.Variants = append(f.Variants, snapshot.Variant{Name: "", Value: "x"})
	}, []fe{{"flags.banner.variants", `variant names must not be empty`}}, false},

	// off variants
	{"disabled string flag without offVariant", func(s *snapshot.Snapshot) {
		flagOf(s, "banner").OffVariant = ""
	}, []fe{{"flags.banner.offVariant", `required for a string flag that is disabled or has prerequisites`}}, false},
	{"disabled number flag without offVariant", func(s *snapshot.Snapshot) {
		flagOf(s, "max-items").Enabled = false
	}, []fe{{"flags.max-items.offVariant", `required for a number flag`}}, false},
	{"json flag with prerequisites without offVariant", func(s *snapshot.Snapshot) {
		flagOf(s, "theme").Prerequisites = []snapshot.Prerequisite{{Flag: "new-checkout", Variant: "on"}}
	}, []fe{{"flags.theme.offVariant", `required for a json flag`}}, false},
	{"disabled boolean flag without an off variant", func(s *snapshot.Snapshot) {
		f := flagOf(s, "child.flag_2")
		f.Variants = snapshot.Variants{{Name: "yes", Value: true}, {Name: "no", Value: false}}
		f.Default = snapshot.Serve{Variant: "yes"}
		f.Enabled = false
		f.Prerequisites = nil
	}, []fe{{"flags.child.flag_2.offVariant", `required: the flag has no variant named "off"`}}, false},

	// rules and segments
	{"rule with clauses and a segment", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[0].Clauses = []snapshot.Clause{clause("country", snapshot.OpEq, "CA")}
	}, []fe{{nc + ".rules[0]", `a rule has either clauses or a segment, not both`}}, false},
	{"rule with neither clauses nor a segment", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[0].Segment = ""
	}, []fe{{nc + ".rules[0]", `a rule needs clauses or a segment`}}, false},
	{"rule with an unknown segment", func(s *snapshot.Snapshot) {
		flagOf(s, "new-checkout").Rules[0].Segment = "ghosts"
	}, []fe{{nc + ".rules[0].segment", `unknown segment "ghosts"`}}, false},
	{"segment rule referring to a segment", func(s *snapshot.Snapshot) {
		segmentOf(s, "staff").Rules[0].Clauses = append(segmentOf(s, "staff").Rules[0].Clauses,
			snapshot.Clause{Op: snapshot.OpInSegment, Values: []any{"beta"}})
	}, []fe{{"segments.staff.rules[0].clauses[1].op", `segment rules cannot refer to other segments`}}, false},
	{"segment rule without clauses", func(s *snapshot.Snapshot) {
		segmentOf(s, "beta").Rules = append(segmentOf(s, "beta").Rules, snapshot.SegmentRule{})
	}, []fe{{"segments.beta.rules[1].clauses", `a segment rule needs at least one clause`}}, false},
	{"segment rule with an invalid clause", func(s *snapshot.Snapshot) {
		segmentOf(s, "staff").Rules[0].Clauses[0] = clause("email", snapshot.OpMatches, "[a-")
	}, []fe{{"segments.staff.rules[0].clauses[0].values[0]", `invalid regular expression "[a-"`}}, false},
	{"segment rule with an unknown operator", func(s *snapshot.Snapshot) {
		segmentOf(s, "staff").Rules[0].Clauses[0].Op = "like"
	}, []fe{{"segments.staff.rules[0].clauses[0].op", `unknown operator "like"`}}, false},
	{"segment with an empty include key", func(s *snapshot.Snapshot) {
		segmentOf(s, "staff").Include = []string{"a", ""}
	}, []fe{{"segments.staff.include[1]", `empty key`}}, false},
	{"segment with an empty exclude key", func(s *snapshot.Snapshot) {
		segmentOf(s, "staff").Exclude = []string{""}
	}, []fe{{"segments.staff.exclude[0]", `empty key`}}, false},
}

func TestValidate(t *testing.T) {
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			s := validSnapshot()
			tc.mutate(s)
			err := s.Validate()
			if err == nil {
				t.Fatalf("Validate accepted the snapshot; want %v", tc.want)
			}
			var ve snapshot.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a ValidationError: %v", err, err)
			}
			for _, w := range tc.want {
				found := false
				for _, e := range ve {
					if e.Path == w.path && strings.Contains(e.Message, w.msg) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("no error at %q containing %q; got:\n%v", w.path, w.msg, err)
				}
			}
			if !tc.extra && len(ve) != len(tc.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(ve), len(tc.want), err)
			}
		})
	}
}

func TestUnknownOperatorListsOperators(t *testing.T) {
	s := validSnapshot()
	flagOf(s, "new-checkout").Rules[1].Clauses[0].Op = "equals"
	var ve snapshot.ValidationError
	if !errors.As(s.Validate(), &ve) || len(ve) != 1 {
		t.Fatalf("want one error, got %v", ve)
	}
	_, list, ok := strings.Cut(ve[0].Message, "expected one of ")
	if !ok {
		t.Fatalf("message %q does not list the operators", ve[0].Message)
	}
	list = strings.TrimSuffix(list, ")")
	var want []string
	for _, op := range snapshot.Operators {
		want = append(want, string(op))
	}
	if list != strings.Join(want, ", ") {
		t.Errorf("listed operators %q, want %q", list, strings.Join(want, ", "))
	}
	if len(want) != 18 {
		t.Errorf("%d operators, the design lists 18", len(want))
	}
}

// TestValidateReportsEveryCycle: every flag that depends on itself is reported, also when two
// cycles share a flag: a → b → a and b → c → b.
func TestValidateReportsEveryCycle(t *testing.T) {
	s := &snapshot.Snapshot{Flags: []snapshot.Flag{
		boolFlag("a", "b"), boolFlag("b", "a", "c"), boolFlag("c", "b"),
	}}
	var ve snapshot.ValidationError
	if !errors.As(s.Validate(), &ve) {
		t.Fatal("Validate accepted prerequisite cycles")
	}
	var cycles []string
	for _, e := range ve {
		if strings.Contains(e.Message, "prerequisite cycle") {
			cycles = append(cycles, e.Path+": "+e.Message)
		}
	}
	mentionsC := false
	for _, c := range cycles {
		mentionsC = mentionsC || strings.Contains(c, "c → b") || strings.Contains(c, "b → c")
	}
	if len(cycles) < 2 || !mentionsC {
		t.Errorf("the cycle b → c → b is not reported; cycle errors: %q", cycles)
	}
}

func TestValidationErrorFormat(t *testing.T) {
	s := validSnapshot()
	flagOf(s, "banner").OffVariant = "none"
	flagOf(s, "max-items").Type = "integer"
	err := s.Validate()
	var ve snapshot.ValidationError
	if !errors.As(err, &ve) || len(ve) != 2 {
		t.Fatalf("want two errors, got %v", err)
	}
	// Document order: banner comes before max-items.
	if ve[0].Path != "flags.banner.offVariant" || ve[1].Path != "flags.max-items.type" {
		t.Errorf("paths %q, %q out of document order", ve[0].Path, ve[1].Path)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "flags.banner.offVariant: unknown variant") {
		t.Errorf("Error() = %q", err.Error())
	}
	if got := (snapshot.FieldError{Path: "p", Message: "m", Line: 4}).Error(); got != "line 4: p: m" {
		t.Errorf("FieldError with line: %q", got)
	}
	if got := (snapshot.FieldError{Message: "m"}).Error(); got != "m" {
		t.Errorf("FieldError without path: %q", got)
	}
	data, jerr := json.Marshal(ve[0])
	if jerr != nil || !strings.Contains(string(data), `"field":"flags.banner.offVariant"`) {
		t.Errorf("FieldError JSON: %s %v", data, jerr)
	}
}

func TestKeyLimits(t *testing.T) {
	ok := []string{"a", "0", "a.b_c-d", strings.Repeat("k", 128), "9lives"}
	for _, k := range ok {
		s := &snapshot.Snapshot{Flags: []snapshot.Flag{boolFlag(k)}}
		if err := s.Validate(); err != nil {
			t.Errorf("key %q: %v", k, err)
		}
	}
	bad := []string{"", "_a", ".a", "A", "é", "a:b", strings.Repeat("k", 129)}
	for _, k := range bad {
		s := &snapshot.Snapshot{Flags: []snapshot.Flag{boolFlag(k)}}
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "invalid key") {
			t.Errorf("key %q: err = %v", k, err)
		}
	}
}

func TestWeightUnits(t *testing.T) {
	cases := []struct {
		pct   float64
		units int64
		ok    bool
	}{
		{0, 0, true}, {100, 100000, true}, {0.001, 1, true}, {33.333, 33333, true}, {99.999, 99999, true},
		{12.5, 12500, true}, {0.0005, 0, false}, {10.0001, 0, false}, {-0.001, 0, false}, {100.001, 0, false},
		{math.NaN(), 0, false}, {math.Inf(1), 0, false},
	}
	for _, tc := range cases {
		u, ok := snapshot.WeightUnits(tc.pct)
		if ok != tc.ok || (ok && u != tc.units) {
			t.Errorf("WeightUnits(%v) = %d, %v; want %d, %v", tc.pct, u, ok, tc.units, tc.ok)
		}
	}
}
