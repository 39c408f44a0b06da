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

func eqRule(id, attr string, value any, serve snapshot.Serve) snapshot.Rule {
	return snapshot.Rule{ID: id, Clauses: []snapshot.Clause{cl(attr, snapshot.OpEq, value)}, Serve: serve}
}

func TestFlagNotFound(t *testing.T) {
	cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{boolFlag("present")}})
	got := cs.Evaluate("absent", mustContext(t, "u1", nil))
	checkResult(t, got, wantResult{reason: eval.ReasonError, errorCode: eval.ErrorFlagNotFound, ruleIndex: -1})
	if got.FlagVersion != 0 {
		t.Errorf("FlagVersion = %d, want 0", got.FlagVersion)
	}
	if _, ok := cs.Flag("absent"); ok {
		t.Error("Flag(absent) reported a flag")
	}
	// Flag keys are matched exactly.
	checkResult(t, cs.Evaluate("Present", mustContext(t, "u1", nil)),
		wantResult{reason: eval.ReasonError, errorCode: eval.ErrorFlagNotFound, ruleIndex: -1})
	checkResult(t, cs.Evaluate("present", mustContext(t, "u1", nil)),
		wantResult{variant: "off", reason: eval.ReasonDefault, ruleIndex: -1})
}

func TestDisabled(t *testing.T) {
	always := eqRule("always", "country", "CA", serveOn)
	t.Run("boolean serves off", func(t *testing.T) {
		f := boolFlag("f", always)
		f.Enabled = false
		f.Default = serveOn
		cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{f}})
		got := cs.Evaluate("f", mustContext(t, "u1", attrs{"country": "CA"}))
		checkResult(t, got, wantResult{variant: "off", reason: eval.ReasonDisabled, ruleIndex: -1})
		if got.Value != false || got.VariantIndex != 1 {
			t.Errorf("Value=%v VariantIndex=%d, want false 1", got.Value, got.VariantIndex)
		}
	})
	t.Run("explicit off variant", func(t *testing.T) {
		f := boolFlag("f")
		f.Enabled = false
		f.OffVariant = "on"
		cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{f}})
		got := cs.Evaluate("f", mustContext(t, "u1", nil))
		checkResult(t, got, wantResult{variant: "on", reason: eval.ReasonDisabled, ruleIndex: -1})
		if got.Value != true {
			t.Errorf("Value = %v, want true", got.Value)
		}
	})
	t.Run("string flag serves its offVariant", func(t *testing.T) {
		f := snapshot.Flag{
			Key: "banner", Type: snapshot.TypeString,
			Variants: snapshot.Variants{{Name: "plain", Value: "Welcome"}, {Name: "festive", Value: "Happy holidays"}},
			Config: snapshot.Config{
				OffVariant: "plain",
				Rules:      []snapshot.Rule{eqRule("x", "country", "CA", snapshot.Serve{Variant: "festive"})},
				Default:    snapshot.Serve{Variant: "festive"},
			},
		}
		cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{f}})
		got := cs.Evaluate("banner", mustContext(t, "u1", attrs{"country": "CA"}))
		checkResult(t, got, wantResult{variant: "plain", reason: eval.ReasonDisabled, ruleIndex: -1})
		if got.Value != "Welcome" {
			t.Errorf("Value = %v, want Welcome", got.Value)
		}
	})
	t.Run("disabled does not need a targeting key", func(t *testing.T) {
		f := boolFlag("f")
		f.Enabled = false
		f.Default = rollout("on", 50, "off", 50)
		cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{f}})
		checkResult(t, cs.Evaluate("f", mustContext(t, "", nil)),
			wantResult{variant: "off", reason: eval.ReasonDisabled, ruleIndex: -1})
	})
	t.Run("disabled beats a failed prerequisite", func(t *testing.T) {
		parent := boolFlag("parent") // serves off
		child := boolFlag("child")
		child.Enabled = false
		child.Prerequisites = []snapshot.Prerequisite{{Flag: "parent", Variant: "on"}}
		cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{parent, child}})
		checkResult(t, cs.Evaluate("child", mustContext(t, "u1", nil)),
			wantResult{variant: "off", reason: eval.ReasonDisabled, ruleIndex: -1})
	})
}

func TestPrerequisites(t *testing.T) {
	// parent serves "on" by default and "off" to country FR.
	parent := boolFlag("parent", eqRule("fr", "country", "FR", serveOff))
	parent.Default = serveOn
	disabledParent := boolFlag("disabled-parent")
	disabledParent.Enabled = false
	disabledParent.Default = serveOn
	splitParent := boolFlag("split-parent")
	splitParent.Default = rollout("on", 100, "off", 0)
	mode := snapshot.Flag{
		Key: "mode", Type: snapshot.TypeString,
		Variants: snapshot.Variants{{Name: "a", Value: "A"}, {Name: "b", Value: "B"}},
		Config: snapshot.Config{Enabled: true, Rules: []snapshot.Rule{eqRule("b", "plan", "pro", snapshot.Serve{Variant: "b"})},
			Default: snapshot.Serve{Variant: "a"}},
	}

	child := func(key string, prereqs ...snapshot.Prerequisite) snapshot.Flag {
		f := boolFlag(key, eqRule("ca", "country", "CA", serveOn))
		f.Prerequisites = prereqs
		f.Default = serveOn
		return f
	}
	stringChild := snapshot.Flag{
		Key: "string-child", Type: snapshot.TypeString,
		Variants: snapshot.Variants{{Name: "new", Value: "N"}, {Name: "old", Value: "O"}},
		Config: snapshot.Config{Enabled: true, OffVariant: "old",
			Prerequisites: []snapshot.Prerequisite{{Flag: "parent", Variant: "on"}},
			Default:       snapshot.Serve{Variant: "new"}},
	}
	s := &snapshot.Snapshot{Flags: []snapshot.Flag{
		parent, disabledParent, splitParent, mode, stringChild,
		child("needs-parent-on", snapshot.Prerequisite{Flag: "parent", Variant: "on"}),
		child("needs-parent-off", snapshot.Prerequisite{Flag: "parent", Variant: "off"}),
		child("needs-disabled-on", snapshot.Prerequisite{Flag: "disabled-parent", Variant: "on"}),
		child("needs-disabled-off", snapshot.Prerequisite{Flag: "disabled-parent", Variant: "off"}),
		child("needs-split", snapshot.Prerequisite{Flag: "split-parent", Variant: "on"}),
		child("needs-mode-b", snapshot.Prerequisite{Flag: "mode", Variant: "b"}),
		child("needs-both", snapshot.Prerequisite{Flag: "parent", Variant: "on"}, snapshot.Prerequisite{Flag: "mode", Variant: "b"}),
		child("needs-chain", snapshot.Prerequisite{Flag: "needs-parent-on", Variant: "on"}),
	}}
	cs := mustCompile(t, s)

	failed := wantResult{variant: "off", reason: eval.ReasonPrerequisiteFailed, ruleIndex: -1}
	def := wantResult{variant: "on", reason: eval.ReasonDefault, ruleIndex: -1}
	matched := wantResult{variant: "on", reason: eval.ReasonTargetingMatch, ruleIndex: 0, ruleID: "ca"}
	cases := []struct {
		flag  string
		key   string
		attrs map[string]any
		want  wantResult
	}{
		{"needs-parent-on", "u1", nil, def},
		{"needs-parent-on", "u1", attrs{"country": "CA"}, matched},
		{"needs-parent-on", "u1", attrs{"country": "FR"}, failed}, // parent serves another variant
		{"needs-parent-off", "u1", nil, failed},
		{"needs-parent-off", "u1", attrs{"country": "FR"}, def},
		{"needs-disabled-on", "u1", attrs{"country": "CA"}, failed}, // prerequisite disabled
		{"needs-disabled-off", "u1", nil, def},                      // a disabled flag serves its off variant
		{"needs-split", "u1", nil, def},
		{"needs-split", "", nil, failed}, // the prerequisite errs: TARGETING_KEY_MISSING
		{"needs-mode-b", "u1", attrs{"plan": "pro"}, def},
		{"needs-mode-b", "u1", attrs{"plan": "free"}, failed},
		{"needs-both", "u1", attrs{"plan": "pro"}, def},
		{"needs-both", "u1", attrs{"plan": "pro", "country": "FR"}, failed},
		{"needs-both", "u1", attrs{"plan": "free"}, failed},
		{"needs-chain", "u1", nil, def},
		{"needs-chain", "u1", attrs{"country": "FR"}, failed}, // two levels down
		{"string-child", "u1", nil, wantResult{variant: "new", reason: eval.ReasonDefault, ruleIndex: -1}},
		{"string-child", "u1", attrs{"country": "FR"}, wantResult{variant: "old", reason: eval.ReasonPrerequisiteFailed, ruleIndex: -1}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%q/%v", tc.flag, tc.key, tc.attrs), func(t *testing.T) {
			got := cs.Evaluate(tc.flag, mustContext(t, tc.key, tc.attrs))
			checkResult(t, got, tc.want)
		})
	}
}

func TestFirstMatchingRuleWins(t *testing.T) {
	f := snapshot.Flag{
		Key: "tier", Type: snapshot.TypeString, Version: 3,
		Variants: snapshot.Variants{{Name: "a", Value: "A"}, {Name: "b", Value: "B"}, {Name: "c", Value: "C"}, {Name: "d", Value: "D"}},
		Config: snapshot.Config{
			Enabled: true,
			Rules: []snapshot.Rule{
				{ID: "first", Name: "ignored name", Clauses: []snapshot.Clause{cl("country", snapshot.OpEq, "CA")}, Serve: snapshot.Serve{Variant: "a"}},
				{Name: "second", Clauses: []snapshot.Clause{cl("plan", snapshot.OpEq, "pro")}, Serve: snapshot.Serve{Variant: "b"}},
				{ID: "third", Clauses: []snapshot.Clause{cl("country", snapshot.OpEq, "CA")}, Serve: snapshot.Serve{Variant: "c"}},
				{Clauses: []snapshot.Clause{ // all clauses must match
					cl("country", snapshot.OpEq, "US"), cl("age", snapshot.OpGte, 18),
				}, Serve: snapshot.Serve{Variant: "c"}},
			},
			Default: snapshot.Serve{Variant: "d"},
		},
	}
	cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{f}})
	cases := []struct {
		attrs map[string]any
		want  wantResult
		value string
	}{
		{attrs{"country": "CA", "plan": "pro"}, wantResult{variant: "a", reason: eval.ReasonTargetingMatch, ruleIndex: 0, ruleID: "first"}, "A"},
		{attrs{"country": "CA"}, wantResult{variant: "a", reason: eval.ReasonTargetingMatch, ruleIndex: 0, ruleID: "first"}, "A"},
		{attrs{"plan": "pro"}, wantResult{variant: "b", reason: eval.ReasonTargetingMatch, ruleIndex: 1, ruleID: "second"}, "B"},
		{attrs{"country": "US", "age": 30}, wantResult{variant: "c", reason: eval.ReasonTargetingMatch, ruleIndex: 3, ruleID: ""}, "C"},
		{attrs{"country": "US", "age": 17}, wantResult{variant: "d", reason: eval.ReasonDefault, ruleIndex: -1}, "D"},
		{attrs{"age": 30}, wantResult{variant: "d", reason: eval.ReasonDefault, ruleIndex: -1}, "D"},
		{nil, wantResult{variant: "d", reason: eval.ReasonDefault, ruleIndex: -1}, "D"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.attrs), func(t *testing.T) {
			got := cs.Evaluate("tier", mustContext(t, "u1", tc.attrs))
			checkResult(t, got, tc.want)
			if got.Value != tc.value || got.FlagVersion != 3 {
				t.Errorf("Value=%v FlagVersion=%d, want %s 3", got.Value, got.FlagVersion, tc.value)
			}
			if got.VariantIndex < 0 || got.VariantIndex >= len(f.Variants) || f.Variants[got.VariantIndex].Name != got.Variant {
				t.Errorf("VariantIndex %d does not name variant %q", got.VariantIndex, got.Variant)
			}
		})
	}
}

// TestRulesOfSeveralClauses evaluates every combination of three attributes against rules of
// one to three clauses and a segment rule, each failing at each of its clauses, and compares
// the rule served with the first rule whose clauses all hold.
func TestRulesOfSeveralClauses(t *testing.T) {
	is := func(attr string) snapshot.Clause { return cl(attr, snapshot.OpEq, "1") }
	isnt := func(attr string) snapshot.Clause { return neg(cl(attr, snapshot.OpEq, "1")) }
	rules := []snapshot.Rule{
		{ID: "r0", Clauses: []snapshot.Clause{is("a"), is("b"), is("c")}, Serve: snapshot.Serve{Variant: "r0"}},
		{ID: "r1", Segment: "c-not-a", Serve: snapshot.Serve{Variant: "r1"}},
		{ID: "r2", Clauses: []snapshot.Clause{is("a"), isnt("c")}, Serve: snapshot.Serve{Variant: "r2"}},
		{ID: "r3", Clauses: []snapshot.Clause{is("b")}, Serve: snapshot.Serve{Variant: "r3"}},
	}
	holds := []func(a, b, c bool) bool{
		func(a, b, c bool) bool { return a && b && c },
		func(a, b, c bool) bool { return c && !a },
		func(a, b, c bool) bool { return a && !c },
		func(a, b, c bool) bool { return b },
	}
	variants := snapshot.Variants{{Name: "r0", Value: "0"}, {Name: "r1", Value: "1"}, {Name: "r2", Value: "2"}, {Name: "r3", Value: "3"}, {Name: "none", Value: "-"}}
	cs := mustCompile(t, &snapshot.Snapshot{
		Segments: []snapshot.Segment{{Key: "c-not-a", Rules: []snapshot.SegmentRule{{Clauses: []snapshot.Clause{is("c"), isnt("a")}}}}},
		Flags: []snapshot.Flag{{Key: "f", Type: snapshot.TypeString, Variants: variants,
			Config: snapshot.Config{Enabled: true, Rules: rules, Default: snapshot.Serve{Variant: "none"}}}},
	})
	for n := 0; n < 8; n++ {
		a, b, c := n&1 != 0, n&2 != 0, n&4 != 0
		attrs := map[string]any{}
		for name, set := range map[string]bool{"a": a, "b": b, "c": c} {
			if set {
				attrs[name] = "1"
			} else {
				attrs[name] = "0"
			}
		}
		want := wantResult{variant: "none", reason: eval.ReasonDefault, ruleIndex: -1}
		for i, h := range holds {
			if h(a, b, c) {
				want = wantResult{variant: rules[i].ID, reason: eval.ReasonTargetingMatch, ruleIndex: i, ruleID: rules[i].ID}
				break
			}
		}
		t.Run(fmt.Sprint(attrs), func(t *testing.T) {
			checkResult(t, cs.Evaluate("f", mustContext(t, "u1", attrs)), want)
		})
	}
}

func TestSplitAndDefault(t *testing.T) {
	s := &snapshot.Snapshot{Flags: []snapshot.Flag{
		boolFlag("rule-rollout-on", snapshot.Rule{ID: "r", Clauses: []snapshot.Clause{cl("plan", snapshot.OpEq, "pro")}, Serve: rollout("on", 100, "off", 0)}),
		boolFlag("rule-rollout-off", snapshot.Rule{Name: "n", Clauses: []snapshot.Clause{cl("plan", snapshot.OpEq, "pro")}, Serve: rollout("on", 0, "off", 100)}),
		func() snapshot.Flag {
			f := boolFlag("default-rollout")
			f.Default = rollout("on", 0, "off", 100)
			return f
		}(),
		func() snapshot.Flag { f := boolFlag("default-rollout-on"); f.Default = rollout("on", 100); return f }(),
		boolFlag("default-variant"),
	}}
	cs := mustCompile(t, s)
	cases := []struct {
		flag  string
		attrs map[string]any
		want  wantResult
	}{
		{"rule-rollout-on", attrs{"plan": "pro"}, wantResult{variant: "on", reason: eval.ReasonSplit, ruleIndex: 0, ruleID: "r"}},
		{"rule-rollout-on", attrs{"plan": "free"}, wantResult{variant: "off", reason: eval.ReasonDefault, ruleIndex: -1}},
		{"rule-rollout-off", attrs{"plan": "pro"}, wantResult{variant: "off", reason: eval.ReasonSplit, ruleIndex: 0, ruleID: "n"}},
		{"default-rollout", nil, wantResult{variant: "off", reason: eval.ReasonSplit, ruleIndex: -1}},
		{"default-rollout-on", nil, wantResult{variant: "on", reason: eval.ReasonSplit, ruleIndex: -1}},
		{"default-variant", nil, wantResult{variant: "off", reason: eval.ReasonDefault, ruleIndex: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.flag+fmt.Sprint(tc.attrs), func(t *testing.T) {
			for i := range 50 {
				checkResult(t, cs.Evaluate(tc.flag, mustContext(t, fmt.Sprintf("user-%d", i), tc.attrs)), tc.want)
			}
		})
	}
}

// TestRolloutBuckets checks that a rollout serves the variant whose contiguous bucket range
// holds eval.Bucket(salt, unit), with the documented defaults for salt and unit.
func TestRolloutBuckets(t *testing.T) {
	variants := snapshot.Variants{{Name: "a", Value: "A"}, {Name: "b", Value: "B"}, {Name: "c", Value: "C"}}
	flag := func(key string, r snapshot.Rollout) snapshot.Flag {
		return snapshot.Flag{Key: key, Type: snapshot.TypeString, Variants: variants,
			Config: snapshot.Config{Enabled: true, Default: snapshot.Serve{Rollout: &r}}}
	}
	// Weights listed in an order other than the variants', with a zero weight: c takes
	// [0, 10500), a never serves, b takes [10500, 100000).
	weights := snapshot.Weights{{Variant: "c", Percent: 10.5}, {Variant: "a", Percent: 0}, {Variant: "b", Percent: 89.5}}
	s := &snapshot.Snapshot{Flags: []snapshot.Flag{
		flag("default-salt", snapshot.Rollout{Weights: weights}),
		flag("own-salt", snapshot.Rollout{Weights: weights, Salt: "experiment/7"}),
		flag("by-company", snapshot.Rollout{Weights: weights, BucketBy: "company"}),
		flag("by-key-attribute", snapshot.Rollout{Weights: weights, BucketBy: "targetingKey"}),
	}}
	cs := mustCompile(t, s)
	expect := func(b uint32) string {
		if b < 10500 {
			return "c"
		}
		return "b"
	}
	seen := map[string]int{}
	for i := range 5000 {
		key := fmt.Sprintf("user-%d", i)
		company := fmt.Sprintf("company-%d", i%97)
		ctx := mustContext(t, key, attrs{"company": company})
		for _, tc := range []struct{ flag, salt, unit string }{
			{"default-salt", "default-salt", key},
			{"own-salt", "experiment/7", key},
			{"by-company", "by-company", company},
			{"by-key-attribute", "by-key-attribute", key},
		} {
			got := cs.Evaluate(tc.flag, ctx)
			want := expect(eval.Bucket(tc.salt, tc.unit))
			if got.Variant != want || got.Reason != eval.ReasonSplit || got.ErrorCode != "" {
				t.Fatalf("%s for %s: got %q %s %s, want %q SPLIT (bucket %d)",
					tc.flag, key, got.Variant, got.Reason, got.ErrorCode, want, eval.Bucket(tc.salt, tc.unit))
			}
			seen[tc.flag+"/"+got.Variant]++
		}
	}
	for _, f := range []string{"default-salt", "own-salt", "by-company", "by-key-attribute"} {
		if seen[f+"/a"] != 0 || seen[f+"/b"] == 0 || seen[f+"/c"] == 0 {
			t.Errorf("%s: served %d a, %d b, %d c; want no a and some of b and c", f, seen[f+"/a"], seen[f+"/b"], seen[f+"/c"])
		}
	}
}

func TestTargetingKeyMissing(t *testing.T) {
	byCompany := boolFlag("by-company")
	byCompany.Version = 9
	byCompany.Default = snapshot.Serve{Rollout: &snapshot.Rollout{
		Weights: snapshot.Weights{{Variant: "on", Percent: 50}, {Variant: "off", Percent: 50}}, BucketBy: "company"}}
	byKey := boolFlag("by-key", snapshot.Rule{ID: "pro", Clauses: []snapshot.Clause{cl("plan", snapshot.OpEq, "pro")}, Serve: rollout("on", 100)})
	byKey.Version = 4
	byKey.Default = rollout("on", 50, "off", 50)
	cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{byCompany, byKey}})

	missing := wantResult{reason: eval.ReasonError, errorCode: eval.ErrorTargetingKeyMissing, ruleIndex: -1}
	cases := []struct {
		name    string
		flag    string
		key     string
		attrs   map[string]any
		want    wantResult
		version int64
	}{
		{"default rollout, no key", "by-key", "", nil, missing, 4},
		{"matched rule's rollout, no key (even at 100%)", "by-key", "", attrs{"plan": "pro"}, missing, 4},
		{"matched rule's rollout, key", "by-key", "u1", attrs{"plan": "pro"},
			wantResult{variant: "on", reason: eval.ReasonSplit, ruleIndex: 0, ruleID: "pro"}, 4},
		{"bucketBy attribute absent", "by-company", "u1", nil, missing, 9},
		{"bucketBy attribute absent, other attributes", "by-company", "u1", attrs{"companyId": "acme"}, missing, 9},
		{"bucketBy attribute a number", "by-company", "u1", attrs{"company": 42}, missing, 9},
		{"bucketBy attribute a bool", "by-company", "u1", attrs{"company": true}, missing, 9},
		{"bucketBy attribute a list", "by-company", "u1", attrs{"company": []string{"acme"}}, missing, 9},
		{"bucketBy attribute empty", "by-company", "u1", attrs{"company": ""}, missing, 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := cs.Evaluate(tc.flag, mustContext(t, tc.key, tc.attrs))
			checkResult(t, got, tc.want)
			if got.FlagVersion != tc.version {
				t.Errorf("FlagVersion = %d, want %d", got.FlagVersion, tc.version)
			}
		})
	}
	t.Run("bucketBy attribute present, no targeting key", func(t *testing.T) {
		got := cs.Evaluate("by-company", mustContext(t, "", attrs{"company": "acme"}))
		if got.ErrorCode != "" || got.Reason != eval.ReasonSplit {
			t.Fatalf("got %+v, want a SPLIT", got)
		}
		want := "off"
		if eval.Bucket("by-company", "acme") < 50000 {
			want = "on"
		}
		if got.Variant != want {
			t.Errorf("variant %q, want %q", got.Variant, want)
		}
	})
}

func TestSegments(t *testing.T) {
	segs := []snapshot.Segment{
		{
			Key:     "staff",
			Include: []string{"alice", "bob"},
			Exclude: []string{"bob", "eve"},
			Rules: []snapshot.SegmentRule{
				{Clauses: []snapshot.Clause{cl("email", snapshot.OpEndsWith, "@mycompany.com")}},
				{Clauses: []snapshot.Clause{cl("role", snapshot.OpEq, "contractor"), cl("country", snapshot.OpEq, "CA")}},
				{Clauses: []snapshot.Clause{cl("targetingKey", snapshot.OpStartsWith, "svc-")}},
			},
		},
		{Key: "list-only", Include: []string{"carol"}},
		{Key: "exclude-only", Exclude: []string{"carol"}},
	}
	s := &snapshot.Snapshot{Segments: segs, Flags: []snapshot.Flag{
		boolFlag("staff-flag", snapshot.Rule{ID: "staff", Segment: "staff", Serve: serveOn}),
		boolFlag("list-flag", snapshot.Rule{ID: "list", Segment: "list-only", Serve: serveOn}),
		boolFlag("exclude-flag", snapshot.Rule{ID: "ex", Segment: "exclude-only", Serve: serveOn}),
	}}
	cs := mustCompile(t, s)
	cases := []struct {
		name  string
		flag  string
		key   string
		attrs map[string]any
		want  bool
	}{
		{"included", "staff-flag", "alice", nil, true},
		{"included and excluded: exclude wins", "staff-flag", "bob", nil, false},
		{"included and excluded, matching a rule: exclude wins", "staff-flag", "bob", attrs{"email": "bob@mycompany.com"}, false},
		{"excluded beats rules", "staff-flag", "eve", attrs{"email": "eve@mycompany.com"}, false},
		{"first rule", "staff-flag", "dan", attrs{"email": "dan@mycompany.com"}, true},
		{"no rule", "staff-flag", "dan", attrs{"email": "dan@gmail.com"}, false},
		{"second rule needs all clauses", "staff-flag", "dan", attrs{"role": "contractor"}, false},
		{"second rule", "staff-flag", "dan", attrs{"role": "contractor", "country": "CA"}, true},
		{"rule on the targeting key", "staff-flag", "svc-build", nil, true},
		{"rules without a targeting key", "staff-flag", "", attrs{"email": "x@mycompany.com"}, true},
		{"include is by targeting key, not attributes", "staff-flag", "zed", attrs{"targeting": "alice", "key": "alice"}, false},
		{"include matching is exact", "staff-flag", "Alice", nil, false},
		{"list-only member", "list-flag", "carol", nil, true},
		{"list-only non-member", "list-flag", "dan", attrs{"email": "dan@mycompany.com"}, false},
		{"no targeting key", "list-flag", "", nil, false},
		{"exclude-only never matches", "exclude-flag", "dan", nil, false},
		{"exclude-only excluded", "exclude-flag", "carol", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := cs.Evaluate(tc.flag, mustContext(t, tc.key, tc.attrs))
			if tc.want {
				if got.Variant != "on" || got.Reason != eval.ReasonTargetingMatch || got.RuleIndex != 0 {
					t.Errorf("got %q %s rule %d, want on TARGETING_MATCH rule 0", got.Variant, got.Reason, got.RuleIndex)
				}
			} else {
				checkResult(t, got, wantResult{variant: "off", reason: eval.ReasonDefault, ruleIndex: -1})
			}
		})
	}
}

func TestValueTypes(t *testing.T) {
	flags := []snapshot.Flag{
		{Key: "s", Type: snapshot.TypeString, Variants: snapshot.Variants{{Name: "x", Value: "hello"}, {Name: "empty", Value: ""}}},
		{Key: "n", Type: snapshot.TypeNumber, Variants: snapshot.Variants{
			{Name: "int", Value: 10}, {Name: "int64", Value: int64(-3)}, {Name: "float", Value: 2.5}, {Name: "jnum", Value: json.Number("1e3")}}},
		{Key: "j", Type: snapshot.TypeJSON, Variants: snapshot.Variants{
			{Name: "obj", Value: map[string]any{"bg": "black", "sizes": []any{json.Number("1"), 2, 2.5}, "nested": map[string]any{"ok": true, "none": nil}}},
			{Name: "list", Value: []any{"a", json.Number("7")}},
			{Name: "str", Value: "plain"},
			{Name: "num", Value: json.Number("42")},
			{Name: "null", Value: nil},
		}},
	}
	want := map[string]map[string]any{
		"s": {"x": "hello", "empty": ""},
		"n": {"int": 10.0, "int64": -3.0, "float": 2.5, "jnum": 1000.0},
		"j": {
			"obj":  map[string]any{"bg": "black", "sizes": []any{1.0, 2.0, 2.5}, "nested": map[string]any{"ok": true, "none": nil}},
			"list": []any{"a", 7.0},
			"str":  "plain",
			"num":  42.0,
			"null": nil,
		},
	}
	var all []snapshot.Flag
	for _, f := range flags {
		for _, v := range f.Variants {
			g := f
			g.Key = f.Key + "-" + v.Name
			g.Config = snapshot.Config{Enabled: true, Default: snapshot.Serve{Variant: v.Name}}
			all = append(all, g)
		}
	}
	cs := mustCompile(t, &snapshot.Snapshot{Flags: all})
	ctx := mustContext(t, "u1", nil)
	for _, f := range flags {
		for i, v := range f.Variants {
			got := cs.Evaluate(f.Key+"-"+v.Name, ctx)
			if got.ErrorCode != "" || got.Variant != v.Name || got.VariantIndex != i || got.Reason != eval.ReasonDefault {
				t.Errorf("%s-%s: got %+v", f.Key, v.Name, got)
				continue
			}
			if w := want[f.Key][v.Name]; !reflect.DeepEqual(got.Value, w) {
				t.Errorf("%s-%s: Value = %#v (%T), want %#v (%T)", f.Key, v.Name, got.Value, got.Value, w, w)
			}
		}
	}
}

func TestFlagVersion(t *testing.T) {
	disabled := boolFlag("disabled")
	disabled.Enabled, disabled.Version = false, 11
	parent := boolFlag("parent")
	child := boolFlag("child")
	child.Prerequisites, child.Version = []snapshot.Prerequisite{{Flag: "parent", Variant: "on"}}, 12
	split := boolFlag("split")
	split.Default, split.Version = rollout("on", 30, "off", 70), 13
	matched := boolFlag("matched", eqRule("r", "plan", "pro", serveOn))
	matched.Version = 14
	def := boolFlag("default")
	def.Version = 15
	cs := mustCompile(t, &snapshot.Snapshot{Version: 99, Project: "shop", Environment: "production",
		Flags: []snapshot.Flag{disabled, parent, child, split, matched, def}})
	if cs.Version() != 99 || cs.Project() != "shop" || cs.Environment() != "production" {
		t.Errorf("snapshot: version %d project %q environment %q", cs.Version(), cs.Project(), cs.Environment())
	}
	cases := []struct {
		flag    string
		key     string
		reason  eval.Reason
		version int64
	}{
		{"disabled", "u1", eval.ReasonDisabled, 11},
		{"child", "u1", eval.ReasonPrerequisiteFailed, 12},
		{"split", "u1", eval.ReasonSplit, 13},
		{"split", "", eval.ReasonError, 13},
		{"matched", "u1", eval.ReasonTargetingMatch, 14},
		{"default", "u1", eval.ReasonDefault, 15},
		{"parent", "u1", eval.ReasonDefault, 0},
	}
	for _, tc := range cases {
		got := cs.Evaluate(tc.flag, mustContext(t, tc.key, attrs{"plan": "pro"}))
		if got.Reason != tc.reason || got.FlagVersion != tc.version {
			t.Errorf("%s/%q: reason %s version %d, want %s %d", tc.flag, tc.key, got.Reason, got.FlagVersion, tc.reason, tc.version)
		}
	}
}

func TestSnapshotAccessors(t *testing.T) {
	str := snapshot.Flag{Key: "b", Type: snapshot.TypeString, Version: 2,
		Variants: snapshot.Variants{{Name: "x", Value: "X"}, {Name: "y", Value: "Y"}, {Name: "z", Value: "Z"}},
		Config:   snapshot.Config{Enabled: true, Default: snapshot.Serve{Variant: "y"}}}
	cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{boolFlag("a"), str}})
	list := cs.Flags()
	if len(list) != 2 || list[0].Key() != "a" || list[1].Key() != "b" {
		t.Fatalf("Flags() = %v", list)
	}
	for i, f := range list {
		if f.Index() != i {
			t.Errorf("%s: Index %d, want %d", f.Key(), f.Index(), i)
		}
		if g, ok := cs.Flag(f.Key()); !ok || g != f {
			t.Errorf("Flag(%q) = %v %v", f.Key(), g, ok)
		}
	}
	b := list[1]
	if b.Type() != snapshot.TypeString || b.Kind() != eval.KindString || b.Version() != 2 || b.VariantCount() != 3 || b.VariantName(2) != "z" {
		t.Errorf("flag b: type %s (kind %d) version %d variants %d last %q", b.Type(), b.Kind(), b.Version(), b.VariantCount(), b.VariantName(2))
	}
	kinds := map[eval.Kind]snapshot.FlagType{}
	for _, typ := range snapshot.FlagTypes {
		k := eval.KindOf(typ)
		if other, seen := kinds[k]; k == 0 || seen {
			t.Errorf("KindOf(%s) = %d, which is zero or also the kind of %s", typ, k, other)
		}
		kinds[k] = typ
	}
	if k := eval.KindOf("bogus"); k != 0 {
		t.Errorf("KindOf(bogus) = %d, want 0", k)
	}
	got := b.Evaluate(mustContext(t, "u", nil))
	if got.Variant != "y" || got.VariantIndex != 1 || got.Value != "Y" {
		t.Errorf("Flag.Evaluate = %+v", got)
	}
}

func TestCompileRefusesInvalid(t *testing.T) {
	f := boolFlag("f", snapshot.Rule{ID: "r", Clauses: []snapshot.Clause{cl("email", snapshot.OpMatches, "(")}, Serve: serveOn})
	f.Default = snapshot.Serve{Variant: "maybe"}
	cs, err := eval.Compile(&snapshot.Snapshot{Flags: []snapshot.Flag{f}})
	if err == nil || cs != nil {
		t.Fatalf("Compile = %v, %v; want nil and an error", cs, err)
	}
	var ve snapshot.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T is not a snapshot.ValidationError: %v", err, err)
	}
	paths := map[string]bool{}
	for _, fe := range ve {
		paths[fe.Path] = true
	}
	for _, p := range []string{"flags.f.rules[0].clauses[0].values[0]", "flags.f.default.variant"} {
		if !paths[p] {
			t.Errorf("no error at %s in %v", p, err)
		}
	}
}

func TestNewContext(t *testing.T) {
	ok := map[string]any{
		"s": "x", "b": true, "i": 1, "i8": int8(-1), "i16": int16(2), "i32": int32(3), "i64": int64(4),
		"u": uint(5), "u8": uint8(6), "u16": uint16(7), "u32": uint32(8), "u64": uint64(9),
		"f32": float32(1.5), "f64": 2.5, "jn": json.Number("3.5"), "list": []string{"a"}, "anylist": []any{"a", "b"},
		"emptylist": []any{}, "empty": "",
	}
	c, err := eval.NewContext("user-1", ok)
	if err != nil {
		t.Fatalf("NewContext: %v", err)
	}
	if c.TargetingKey() != "user-1" {
		t.Errorf("TargetingKey() = %q", c.TargetingKey())
	}
	c2 := eval.MustContext("user-1", nil)
	c3 := eval.MustContext("user-2", nil)
	if c.KeyHash() != c2.KeyHash() || c.KeyHash() == c3.KeyHash() {
		t.Errorf("KeyHash: %x %x %x; want equal for equal keys and different otherwise", c.KeyHash(), c2.KeyHash(), c3.KeyHash())
	}

	bad := []struct {
		name  string
		value any
	}{
		{"map", map[string]any{"a": 1}},
		{"struct", struct{}{}},
		{"null", nil},
		{"int list", []int{1}},
		{"mixed list", []any{"a", 1}},
		{"nested list", []any{[]any{"a"}}},
		{"NaN", math.NaN()},
		{"+Inf", math.Inf(1)},
		{"float32 Inf", float32(math.Inf(-1))},
		{"complex", complex(1, 2)},
		{"pointer", new(string)},
		{"bad json.Number", json.Number("abc")},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			attr := "attr-" + strings.ReplaceAll(tc.name, " ", "-")
			_, err := eval.NewContext("u1", map[string]any{"fine": "x", attr: tc.value})
			if err == nil {
				t.Fatalf("NewContext accepted %s (%T)", tc.name, tc.value)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", attr)) {
				t.Errorf("error %q does not name the attribute %q", err, attr)
			}
		})
	}
	t.Run("targetingKey attribute", func(t *testing.T) {
		_, err := eval.NewContext("", map[string]any{"targetingKey": "u1"})
		if err == nil || !strings.Contains(err.Error(), "targetingKey") {
			t.Errorf("NewContext with a targetingKey attribute: err = %v", err)
		}
	})
	t.Run("MustContext panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("MustContext did not panic on an invalid attribute")
			}
		}()
		eval.MustContext("u1", map[string]any{"x": struct{}{}})
	})
	t.Run("attributes are copied", func(t *testing.T) {
		list := []string{"CA"}
		c := eval.MustContext("u1", map[string]any{"country": list})
		list[0] = "US"
		cs := mustCompile(t, operatorSnapshot(cl("country", snapshot.OpEq, "CA")))
		if got := cs.Evaluate("f", &c); got.Variant != "on" {
			t.Errorf("the context changed with the caller's slice: got %q", got.Variant)
		}
	})
}

func TestContextFromMapAndParse(t *testing.T) {
	cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{
		boolFlag("f", snapshot.Rule{ID: "r", Clauses: []snapshot.Clause{
			cl("targetingKey", snapshot.OpEq, "u1"), cl("age", snapshot.OpGte, 18), cl("tags", snapshot.OpEq, "beta"),
		}, Serve: serveOn}),
	}})
	t.Run("ContextFromMap", func(t *testing.T) {
		c, err := eval.ContextFromMap(map[string]any{"targetingKey": "u1", "age": 30, "tags": []string{"x", "beta"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.TargetingKey() != "u1" {
			t.Errorf("TargetingKey() = %q", c.TargetingKey())
		}
		if got := cs.Evaluate("f", &c); got.Variant != "on" {
			t.Errorf("got %+v, want on", got)
		}
		c, err = eval.ContextFromMap(map[string]any{"age": 30})
		if err != nil || c.TargetingKey() != "" {
			t.Errorf("without targetingKey: %q %v", c.TargetingKey(), err)
		}
		if _, err := eval.ContextFromMap(map[string]any{"targetingKey": 7}); err == nil || !strings.Contains(err.Error(), "targetingKey") {
			t.Errorf("numeric targetingKey: err = %v", err)
		}
		if _, err := eval.ContextFromMap(map[string]any{"targetingKey": "u1", "bad": map[string]any{}}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
			t.Errorf("object attribute: err = %v", err)
		}
	})
	t.Run("ParseContext", func(t *testing.T) {
		c, err := eval.ParseContext([]byte(`{"targetingKey":"u1","age":30,"tags":["beta"],"email":"a@example.com","admin":false}`))
		if err != nil {
			t.Fatal(err)
		}
		if c.TargetingKey() != "u1" {
			t.Errorf("TargetingKey() = %q", c.TargetingKey())
		}
		if got := cs.Evaluate("f", &c); got.Variant != "on" || got.Reason != eval.ReasonTargetingMatch {
			t.Errorf("got %+v, want on", got)
		}
		c, err = eval.ParseContext([]byte(`{"targetingKey":"u2","age":30,"tags":["beta"]}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := cs.Evaluate("f", &c); got.Variant != "off" {
			t.Errorf("other key: got %+v, want off", got)
		}
		for _, bad := range []string{`[]`, `"u1"`, `{`, `{"targetingKey":1}`, `{"targetingKey":null}`, `{"nested":{"a":1}}`, `{"list":[1,2]}`, `{"n":null}`} {
			if _, err := eval.ParseContext([]byte(bad)); err == nil {
				t.Errorf("ParseContext(%s) accepted", bad)
			}
		}
		c, err = eval.ParseContext([]byte(`{}`))
		if err != nil || c.TargetingKey() != "" {
			t.Errorf("ParseContext({}) = %q, %v", c.TargetingKey(), err)
		}
	})
}

// TestDecide: the compact Decision of the hot path agrees with the full Result.
func TestDecide(t *testing.T) {
	src := richSnapshot()
	cs := mustCompile(t, src)
	contexts := []*eval.Context{
		mustContext(t, "", nil),
		mustContext(t, "vip", nil),
		mustContext(t, "u1", attrs{"email": "bob@x.com", "age": 30, "country": "CA"}),
		mustContext(t, "u2", attrs{"version": "1.2.0", "ts": "2026-03-01T00:00:00Z", "plan": "pro", "tags": []string{"beta"}}),
		mustContext(t, "u3", attrs{"ip": "10.9.8.7", "email": "carol@x.com"}),
	}
	for i := range 200 {
		contexts = append(contexts, mustContext(t, userKey(i), attrs{"age": i % 90, "email": fmt.Sprintf("u%d@x.com", i)}))
	}
	seen := map[eval.Reason]bool{}
	for _, f := range cs.Flags() {
		for _, ctx := range contexts {
			d := f.Decide(ctx)
			res := f.Evaluate(ctx)
			seen[res.Reason] = true
			if d.Failed() != (res.ErrorCode != "") || d.Error() != res.ErrorCode || d.Reason() != res.Reason ||
				int(d.Variant) != res.VariantIndex || int(d.Rule) != res.RuleIndex {
				t.Fatalf("%s, key %q: decision %+v (reason %s, error %q) vs result %+v", f.Key(), ctx.TargetingKey(), d, d.Reason(), d.Error(), res)
			}
			if d.Variant >= 0 && !reflect.DeepEqual(f.Value(int(d.Variant)), res.Value) {
				t.Errorf("%s: Value(%d) = %v, result %v", f.Key(), d.Variant, f.Value(int(d.Variant)), res.Value)
			}
			if d.Rule >= 0 && f.RuleID(int(d.Rule)) != res.RuleID {
				t.Errorf("%s: RuleID(%d) = %q, result %q", f.Key(), d.Rule, f.RuleID(int(d.Rule)), res.RuleID)
			}
			if !reflect.DeepEqual(f.Result(d), res) {
				t.Errorf("%s: Result(Decide) = %+v, Evaluate = %+v", f.Key(), f.Result(d), res)
			}
		}
	}
	for r := range validReasons {
		if !seen[r] {
			t.Errorf("no evaluation gave %s; the contexts do not cover the rich snapshot", r)
		}
	}
	for _, code := range []eval.ErrorCode{eval.ErrorFlagNotFound, eval.ErrorTypeMismatch, eval.ErrorTargetingKeyMissing,
		eval.ErrorInvalidContext, eval.ErrorParse, eval.ErrorProviderNotReady, eval.ErrorGeneral} {
		d := eval.ErrorDecision(code)
		if !d.Failed() || d.Error() != code || d.Reason() != eval.ReasonError || d.Variant != -1 || d.Rule != -1 {
			t.Errorf("ErrorDecision(%s) = %+v (error %q, reason %s)", code, d, d.Error(), d.Reason())
		}
	}
	if d := eval.ErrorDecision("NO_SUCH_CODE"); d.Error() != eval.ErrorGeneral {
		t.Errorf("ErrorDecision of an unknown code gives %q, want GENERAL", d.Error())
	}
}

// TestConcurrentEvaluate: a compiled snapshot and a context are safe for concurrent use (run
// with -race), and evaluations agree with sequential ones.
func TestConcurrentEvaluate(t *testing.T) {
	cs := mustCompile(t, richSnapshot())
	var contexts []*eval.Context
	for i := range 100 {
		contexts = append(contexts, mustContext(t, userKey(i), attrs{
			"age": i % 90, "email": fmt.Sprintf("u%d@x.com", i), "country": []string{"CA", "US"}[i%2],
		}))
	}
	want := map[string]eval.Result{}
	for _, ctx := range contexts {
		for _, f := range cs.Flags() {
			want[f.Key()+"/"+ctx.TargetingKey()] = cs.Evaluate(f.Key(), ctx)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				for _, ctx := range contexts {
					for _, f := range cs.Flags() {
						if got := cs.Evaluate(f.Key(), ctx); !reflect.DeepEqual(got, want[f.Key()+"/"+ctx.TargetingKey()]) {
							errs <- fmt.Sprintf("%s for %s: %+v", f.Key(), ctx.TargetingKey(), got)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// The monitor switch of a configuration reaches the compiled flag.
func TestMonitored(t *testing.T) {
	watched := boolFlag("watched")
	watched.Monitor = true
	cs := mustCompile(t, &snapshot.Snapshot{Flags: []snapshot.Flag{watched, boolFlag("plain")}})
	for key, want := range map[string]bool{"watched": true, "plain": false} {
		if f, _ := cs.Flag(key); f.Monitored() != want {
			t.Errorf("%s: Monitored() = %v, want %v", key, f.Monitored(), want)
		}
	}
}
