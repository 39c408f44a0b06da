package eval_test

import (
	"testing"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// on and off are the two serves of the boolean flags most tests build.
var (
	serveOn  = snapshot.Serve{Variant: "on"}
	serveOff = snapshot.Serve{Variant: "off"}
)

// boolFlag is an enabled boolean flag with the default on/off variants, the given rules, and a
// default serving "off".
func boolFlag(key string, rules ...snapshot.Rule) snapshot.Flag {
	return snapshot.Flag{
		Key:      key,
		Type:     snapshot.TypeBoolean,
		Variants: snapshot.DefaultBooleanVariants(),
		Config: snapshot.Config{
			Enabled: true,
			Rules:   rules,
			Default: serveOff,
		},
	}
}

// rollout is a serve splitting by weights given as alternating variant names and percents.
func rollout(pairs ...any) snapshot.Serve {
	r := &snapshot.Rollout{}
	for i := 0; i < len(pairs); i += 2 {
		var pct float64
		switch p := pairs[i+1].(type) {
		case int:
			pct = float64(p)
		case float64:
			pct = p
		default:
			panic("rollout: percent must be an int or a float64")
		}
		r.Weights = append(r.Weights, snapshot.Weight{Variant: pairs[i].(string), Percent: pct})
	}
	return snapshot.Serve{Rollout: r}
}

// mustCompile compiles s, failing the test when it does not compile.
func mustCompile(t testing.TB, s *snapshot.Snapshot) *eval.Snapshot {
	t.Helper()
	if s.Schema == 0 {
		s.Schema = snapshot.SchemaVersion
	}
	cs, err := eval.Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return cs
}

// mustContext builds a context, failing the test on an invalid attribute.
func mustContext(t testing.TB, key string, attrs map[string]any) *eval.Context {
	t.Helper()
	c, err := eval.NewContext(key, attrs)
	if err != nil {
		t.Fatalf("NewContext(%q, %v): %v", key, attrs, err)
	}
	return &c
}

// wantResult compares the fields of a result that tests care about.
type wantResult struct {
	variant   string
	reason    eval.Reason
	errorCode eval.ErrorCode
	ruleIndex int
	ruleID    string
}

func checkResult(t testing.TB, got eval.Result, want wantResult) {
	t.Helper()
	if got.Variant != want.variant || got.Reason != want.reason || got.ErrorCode != want.errorCode ||
		got.RuleIndex != want.ruleIndex || got.RuleID != want.ruleID {
		t.Errorf("got variant=%q reason=%s error=%q rule=%d/%q, want variant=%q reason=%s error=%q rule=%d/%q",
			got.Variant, got.Reason, got.ErrorCode, got.RuleIndex, got.RuleID,
			want.variant, want.reason, want.errorCode, want.ruleIndex, want.ruleID)
	}
	if want.errorCode != "" {
		if got.VariantIndex != -1 || got.Value != nil {
			t.Errorf("error result has VariantIndex=%d Value=%v, want -1 and nil", got.VariantIndex, got.Value)
		}
	}
}
