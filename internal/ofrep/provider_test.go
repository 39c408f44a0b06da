package ofrep

import (
	"context"
	"reflect"
	"testing"

	ofrepprovider "github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"

	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk/eval"
)

// TestOpenFeatureProvider drives the server through the official OpenFeature OFREP provider for
// Go, as an application would: every flag type, every reason, and every error code a server
// can cause, with a server key sent as X-API-Key and a client key sent as a bearer token.
func TestOpenFeatureProvider(t *testing.T) {
	e := newTestEnv(t, Options{})

	// The split's variant for user-1 is whatever the engine decides; the server must agree.
	entry, err := e.cache.Get(context.Background(), "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	user1 := eval.MustContext("user-1", nil)
	split := entry.Compiled.Evaluate("banner-text", &user1)
	if split.Reason != eval.ReasonSplit {
		t.Fatalf("engine: banner-text for user-1 is %+v, want a split", split)
	}

	type outcome struct {
		value   any
		details openfeature.EvaluationDetails
	}
	user := func(key string, attrs map[string]any) openfeature.EvaluationContext {
		return openfeature.NewEvaluationContext(key, attrs)
	}
	cases := []struct {
		name     string
		evaluate func(c *openfeature.Client) outcome
		value    any
		variant  string
		reason   openfeature.Reason
		code     openfeature.ErrorCode
	}{
		{name: "boolean targeting match", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.BooleanValueDetails(context.Background(), "new-checkout", false, user("u1", map[string]any{"country": "CA"}))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: true, variant: "on", reason: openfeature.TargetingMatchReason},
		{name: "boolean default", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.BooleanValueDetails(context.Background(), "new-checkout", true, user("u1", map[string]any{"country": "FR"}))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: false, variant: "off", reason: openfeature.DefaultReason},
		// For DISABLED the provider hands back the caller's default, whatever value the server
		// sent (the raw HTTP test checks that the server sends the off variant's value).
		{name: "boolean disabled", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.BooleanValueDetails(context.Background(), "legacy-search", true, user("u1", nil))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: true, variant: "off", reason: openfeature.DisabledReason},
		{name: "string split", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.StringValueDetails(context.Background(), "banner-text", "fallback", user("user-1", nil))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: split.Value, variant: split.Variant, reason: openfeature.SplitReason},
		{name: "float targeting match", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.FloatValueDetails(context.Background(), "discount", -1, user("u1", map[string]any{"plan": "gold"}))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: 0.15, variant: "gold", reason: openfeature.TargetingMatchReason},
		{name: "float default", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.FloatValueDetails(context.Background(), "discount", -1, user("u1", map[string]any{"plan": "free"}))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: 0.0, variant: "none", reason: openfeature.DefaultReason},
		{name: "int default", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.IntValueDetails(context.Background(), "max-items", -1, user("u1", nil))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: int64(50), variant: "high", reason: openfeature.DefaultReason},
		{name: "object default", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.ObjectValueDetails(context.Background(), "theme", nil, user("u1", nil))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: map[string]any{"background": "#101010", "contrast": 1.5, "accents": []any{"teal", "amber"}},
			variant: "dark", reason: openfeature.DefaultReason},
		{name: "flag not found", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.BooleanValueDetails(context.Background(), "no-such-flag", true, user("u1", nil))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: true, reason: openfeature.ErrorReason, code: openfeature.FlagNotFoundCode},
		{name: "string flag asked as boolean", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.BooleanValueDetails(context.Background(), "banner-text", true, user("user-1", nil))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: true, reason: openfeature.ErrorReason, code: openfeature.TypeMismatchCode},
		{name: "boolean flag asked as string", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.StringValueDetails(context.Background(), "new-checkout", "x", user("u1", nil))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: "x", reason: openfeature.ErrorReason, code: openfeature.TypeMismatchCode},
		{name: "fraction asked as int", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.IntValueDetails(context.Background(), "discount", 7, user("u1", map[string]any{"plan": "gold"}))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: int64(7), reason: openfeature.ErrorReason, code: openfeature.TypeMismatchCode},
		{name: "rollout without targeting key", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.StringValueDetails(context.Background(), "banner-text", "fallback", openfeature.NewTargetlessEvaluationContext(nil))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: "fallback", reason: openfeature.ErrorReason, code: openfeature.TargetingKeyMissingCode},
		{name: "attribute of an unsupported type", evaluate: func(c *openfeature.Client) outcome {
			d, _ := c.BooleanValueDetails(context.Background(), "new-checkout", true,
				user("u1", map[string]any{"address": map[string]any{"city": "Montreal"}}))
			return outcome{d.Value, d.EvaluationDetails}
		}, value: true, reason: openfeature.ErrorReason, code: openfeature.InvalidContextCode},
	}

	credentials := []struct {
		name   string
		option ofrepprovider.Option
	}{
		{"server key as X-API-Key", ofrepprovider.WithApiKeyAuth(e.serverKey)},
		{"client key as bearer token", ofrepprovider.WithBearerToken(e.clientKey)},
	}
	for _, cred := range credentials {
		t.Run(cred.name, func(t *testing.T) {
			// A named provider per subtest: the OpenFeature API is process-wide.
			domain := t.Name()
			provider := ofrepprovider.NewProvider(e.srv.URL, cred.option, ofrepprovider.WithClient(e.srv.Client()))
			if err := openfeature.SetNamedProviderAndWait(domain, provider); err != nil {
				t.Fatal(err)
			}
			client := openfeature.NewClient(domain)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					got := tc.evaluate(client)
					d := got.details
					if !reflect.DeepEqual(got.value, tc.value) || d.Variant != tc.variant || d.Reason != tc.reason || d.ErrorCode != tc.code {
						t.Errorf("got value %#v variant %q reason %s error %s (%s),\nwant value %#v variant %q reason %s error %q",
							got.value, d.Variant, d.Reason, d.ErrorCode, d.ErrorMessage, tc.value, tc.variant, tc.reason, tc.code)
					}
					if tc.code == "" {
						// The configuration version travels as metadata, where OpenFeature's
						// telemetry hooks read it.
						if v, _ := d.FlagMetadata.GetString("version"); v == "" {
							t.Errorf("metadata %v has no version", d.FlagMetadata)
						}
					}
				})
			}
		})
	}

	t.Run("admin token", func(t *testing.T) {
		domain := t.Name()
		provider := ofrepprovider.NewProvider(e.srv.URL, ofrepprovider.WithBearerToken(e.adminToken), ofrepprovider.WithClient(e.srv.Client()))
		if err := openfeature.SetNamedProviderAndWait(domain, provider); err != nil {
			t.Fatal(err)
		}
		d, _ := openfeature.NewClient(domain).BooleanValueDetails(context.Background(), "new-checkout", true, user("u1", nil))
		if d.Value != true || d.ErrorCode != openfeature.GeneralCode {
			t.Errorf("got %+v, want the default with GENERAL (the provider's code for 401/403)", d)
		}
	})
}

// TestOpenFeatureProviderSeesChanges checks that an evaluation after a change serves the new
// configuration, through the provider.
func TestOpenFeatureProviderSeesChanges(t *testing.T) {
	e := newTestEnv(t, Options{})
	domain := t.Name()
	provider := ofrepprovider.NewProvider(e.srv.URL, ofrepprovider.WithApiKeyAuth(e.serverKey), ofrepprovider.WithClient(e.srv.Client()))
	if err := openfeature.SetNamedProviderAndWait(domain, provider); err != nil {
		t.Fatal(err)
	}
	client := openfeature.NewClient(domain)
	ctx := openfeature.NewEvaluationContext("u1", nil)
	if v, _ := client.BooleanValue(context.Background(), "legacy-search", true, ctx); v != true {
		t.Fatalf("disabled flag: got %v, want the default", v)
	}
	e.change(func() {
		_, err := e.svc.ToggleFlag(e.admin, "shop", "legacy-search", "production", true, service.AnyVersion)
		check(t, err)
	})
	d, _ := client.BooleanValueDetails(context.Background(), "legacy-search", false, ctx)
	if d.Value != true || d.Reason != openfeature.DefaultReason || d.Variant != "on" {
		t.Errorf("after enabling: got %+v, want on by DEFAULT", d)
	}
}
