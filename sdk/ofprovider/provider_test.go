package ofprovider_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/ofprovider"
)

const flags = `version: 1
flags:
  new-checkout:
    type: boolean
    environments:
      production:
        enabled: true
        rules:
          - id: staff
            clauses: [{attribute: email, op: ends_with, values: ["@mycompany.com"]}]
            serve: {variant: "on"}
        default: {rollout: {weights: {"on": 10, "off": 90}}}
  banner:
    type: string
    variants: {plain: Welcome, festive: Happy holidays}
    environments:
      production: {enabled: true, default: {variant: festive}}
  max-items:
    type: number
    variants: {small: 10, fraction: 2.5}
    environments:
      production: {enabled: true, default: {variant: small}}
  ratio:
    type: number
    variants: {fraction: 2.5}
    environments:
      production: {enabled: true, default: {variant: fraction}}
  theme:
    type: json
    variants: {dark: {background: black}}
    environments:
      production: {enabled: true, default: {variant: dark}}
  kill-switch:
    type: boolean
    environments:
      production: {enabled: false, default: {variant: "on"}}
`

// setup registers a provider over a real client on a flag file, in an OpenFeature domain of
// the test's own, and returns the OpenFeature client and the file's path.
func setup(t *testing.T) (*openfeature.Client, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flags.yaml")
	if err := os.WriteFile(path, []byte(flags), 0o644); err != nil {
		t.Fatal(err)
	}
	client, err := sdk.New(context.Background(), sdk.Options{File: path, ReloadInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if err := openfeature.SetNamedProviderAndWait(t.Name(), ofprovider.New(client)); err != nil {
		t.Fatal(err)
	}
	return openfeature.NewClient(t.Name()), path
}

func TestEvaluationsThroughOpenFeature(t *testing.T) {
	of, _ := setup(t)
	ctx := context.Background()
	staff := openfeature.NewEvaluationContext("u1", map[string]any{"email": "a@mycompany.com"})
	anon := openfeature.NewEvaluationContext("user-3", nil) // bucket 64164 of 100000: "off"

	b, err := of.BooleanValueDetails(ctx, "new-checkout", false, staff)
	if err != nil || !b.Value || b.Variant != "on" || b.Reason != openfeature.TargetingMatchReason || b.FlagMetadata["rule"] != "staff" {
		t.Errorf("staff: %+v %v", b, err)
	}
	b, err = of.BooleanValueDetails(ctx, "new-checkout", true, anon)
	if err != nil || b.Value || b.Variant != "off" || b.Reason != openfeature.SplitReason {
		t.Errorf("rollout: %+v %v", b, err)
	}
	b, err = of.BooleanValueDetails(ctx, "kill-switch", true, anon)
	if err != nil || b.Value || b.Reason != openfeature.DisabledReason {
		t.Errorf("disabled: %+v %v", b, err)
	}
	s, err := of.StringValueDetails(ctx, "banner", "x", anon)
	if err != nil || s.Value != "Happy holidays" || s.Reason != openfeature.DefaultReason {
		t.Errorf("string: %+v %v", s, err)
	}
	if n, err := of.IntValue(ctx, "max-items", 0, anon); err != nil || n != 10 {
		t.Errorf("int: %d %v", n, err)
	}
	if f, err := of.FloatValue(ctx, "ratio", 0, anon); err != nil || f != 2.5 {
		t.Errorf("float: %v %v", f, err)
	}
	obj, err := of.ObjectValue(ctx, "theme", nil, anon)
	if m, ok := obj.(map[string]any); err != nil || !ok || m["background"] != "black" {
		t.Errorf("object: %v %v", obj, err)
	}
}

func TestErrorsGiveTheDefaultWithTheirCode(t *testing.T) {
	of, _ := setup(t)
	ctx := context.Background()
	anon := openfeature.NewEvaluationContext("u1", nil)
	cases := []struct {
		name string
		eval func() (openfeature.EvaluationDetails, error)
		code openfeature.ErrorCode
	}{
		{"missing flag", func() (openfeature.EvaluationDetails, error) {
			d, err := of.BooleanValueDetails(ctx, "nope", true, anon)
			return d.EvaluationDetails, err
		}, openfeature.FlagNotFoundCode},
		{"string flag as bool", func() (openfeature.EvaluationDetails, error) {
			d, err := of.BooleanValueDetails(ctx, "banner", true, anon)
			return d.EvaluationDetails, err
		}, openfeature.TypeMismatchCode},
		{"fraction as int", func() (openfeature.EvaluationDetails, error) {
			d, err := of.IntValueDetails(ctx, "ratio", 7, anon)
			return d.EvaluationDetails, err
		}, openfeature.TypeMismatchCode},
		{"rollout without a key", func() (openfeature.EvaluationDetails, error) {
			d, err := of.BooleanValueDetails(ctx, "new-checkout", true, openfeature.NewTargetlessEvaluationContext(nil))
			return d.EvaluationDetails, err
		}, openfeature.TargetingKeyMissingCode},
		{"nested attribute", func() (openfeature.EvaluationDetails, error) {
			d, err := of.BooleanValueDetails(ctx, "new-checkout", true,
				openfeature.NewEvaluationContext("u1", map[string]any{"address": map[string]any{"country": "CA"}}))
			return d.EvaluationDetails, err
		}, openfeature.InvalidContextCode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.eval()
			if err == nil || d.ErrorCode != tc.code || d.Reason != openfeature.ErrorReason {
				t.Errorf("got %+v, %v; want %s", d, err, tc.code)
			}
		})
	}
	// The defaults were served.
	if v, _ := of.BooleanValue(ctx, "banner", true, anon); !v {
		t.Error("a type mismatch did not serve the default")
	}
}

func TestConfigurationChangeEvent(t *testing.T) {
	of, path := setup(t)
	changed := make(chan openfeature.EventDetails, 4)
	callback := func(d openfeature.EventDetails) { changed <- d }
	of.AddHandler(openfeature.ProviderConfigChange, &callback)

	if err := os.WriteFile(path, []byte(strings.Replace(flags, "enabled: false", "enabled: true", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-changed:
		if len(d.FlagChanges) == 0 {
			t.Errorf("event without flag changes: %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no configuration-changed event after the file changed")
	}
	if v, _ := of.BooleanValue(context.Background(), "kill-switch", false, openfeature.NewEvaluationContext("u1", nil)); !v {
		t.Error("the new configuration is not served")
	}
}
