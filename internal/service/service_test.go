package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

type fixture struct {
	svc     *service.Service
	store   domain.Store
	mu      sync.Mutex
	changes []string       // "project/env" passed to OnChange
	clock   *testenv.Clock // the service's time: now, until a test advances it
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "flagpilot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{store: store, clock: testenv.NewClock(now)}
	f.svc = service.New(store, service.Options{
		Now: f.clock.Now,
		OnChange: func(project, env string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.changes = append(f.changes, project+"/"+env)
		},
	})
	return f
}

func (f *fixture) takeChanges() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.changes
	f.changes = nil
	return c
}

func as(role domain.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindToken, ID: "id-" + string(role), Name: string(role), Role: role})
}

var admin = as(domain.RoleAdmin)

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func (f *fixture) audit(t *testing.T) []domain.AuditEvent {
	t.Helper()
	events, err := f.store.ListAudit(context.Background(), domain.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// shop creates project shop with production and staging.
func (f *fixture) shop(t *testing.T) {
	t.Helper()
	must[domain.Project](t)(f.svc.CreateProject(admin, domain.Project{Key: "shop"}))
	for _, env := range []string{"production", "staging"} {
		must[domain.Environment](t)(f.svc.CreateEnvironment(admin, domain.Environment{Project: "shop", Key: env}))
	}
}

func TestFlagsHaveAConfigurationInEveryEnvironment(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	f.takeChanges()
	flag := must[domain.Flag](t)(f.svc.CreateFlag(as(domain.RoleEditor), domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean}))
	if !slices.Equal(f.takeChanges(), []string{"shop/"}) {
		t.Errorf("creating a flag should announce every environment of shop")
	}
	if flag.Version != 1 || len(flag.Variants) != 2 || flag.Variants[0].Name != "on" || flag.Variants[1].Name != "off" {
		t.Errorf("boolean flag = %+v, want version 1 with on/off", flag)
	}
	str := must[domain.Flag](t)(f.svc.CreateFlag(as(domain.RoleEditor), domain.Flag{Project: "shop", Key: "theme", Type: snapshot.TypeString,
		Variants: snapshot.Variants{{Name: "control", Value: "light"}, {Name: "dark", Value: "dark"}}}))

	f.takeChanges()
	must[domain.Environment](t)(f.svc.CreateEnvironment(admin, domain.Environment{Project: "shop", Key: "dev"}))
	if !slices.Equal(f.takeChanges(), []string{"shop/dev"}) {
		t.Errorf("creating an environment should announce it")
	}
	for _, env := range []string{"production", "staging", "dev"} {
		for _, fl := range []domain.Flag{flag, str} {
			c, err := f.svc.GetFlagConfig(context.Background(), "shop", fl.Key, env)
			if err != nil {
				t.Fatalf("%s in %s: %v", fl.Key, env, err)
			}
			off := map[string]string{"new-checkout": "off", "theme": "control"}[fl.Key]
			if c.Enabled || c.OffVariant != off || c.Default.Variant != off || c.Version != 1 {
				t.Errorf("%s in %s = %+v, want disabled serving %s at version 1", fl.Key, env, c, off)
			}
		}
	}
}

func TestChangesNeedARole(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	sdk := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindSDK, ID: "k"})
	tests := []struct {
		name string
		ctx  context.Context
		code domain.Code
	}{
		{"no principal", context.Background(), domain.CodeUnauthorized},
		{"viewer", as(domain.RoleViewer), domain.CodeForbidden},
		{"SDK key", sdk, domain.CodeForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateFlag(tc.ctx, domain.Flag{Project: "shop", Key: "x", Type: snapshot.TypeBoolean})
			if domain.ErrorCode(err) != tc.code {
				t.Errorf("CreateFlag: %v, want %s", err, tc.code)
			}
		})
	}
	if _, _, err := f.svc.CreateToken(as(domain.RoleEditor), "t", domain.RoleAdmin); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Errorf("an editor created a token: %v", err)
	}
	if _, err := f.svc.CreateEnvironment(as(domain.RoleEditor), domain.Environment{Project: "shop", Key: "qa"}); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Errorf("an editor created an environment: %v", err)
	}
}

func TestEveryChangeIsAuditedWithItsComment(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	ctx := service.WithComment(as(domain.RoleEditor), "launch prep")
	must[domain.Flag](t)(f.svc.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean}))
	cfg := snapshot.Config{Enabled: true, Default: snapshot.Serve{Variant: "on"}}
	must[domain.FlagConfig](t)(f.svc.PutFlagConfig(ctx, "shop", "new-checkout", "production", cfg, 1))

	events := f.audit(t)
	e := events[0] // newest first
	if e.Action != "flag.config.updated" || e.Environment != "production" || e.ResourceType != "flag" || e.ResourceKey != "new-checkout" ||
		e.Comment != "launch prep" || e.Actor != (domain.Actor{Kind: "token", ID: "id-editor", Name: "editor"}) || !e.Time.Equal(now) {
		t.Errorf("event = %+v", e)
	}
	var before, after domain.FlagConfig
	if json.Unmarshal(e.Before, &before) != nil || json.Unmarshal(e.After, &after) != nil || before.Enabled || !after.Enabled || after.Version != 2 {
		t.Errorf("before/after = %s / %s", e.Before, e.After)
	}

	// A refused change leaves no trace.
	n := len(events)
	cfg.Default.Variant = "maybe"
	if _, err := f.svc.PutFlagConfig(ctx, "shop", "new-checkout", "production", cfg, 2); domain.ErrorCode(err) != domain.CodeInvalid {
		t.Fatalf("unknown variant: %v", err)
	}
	// Writing the same configuration again changes nothing and records nothing.
	cfg.Default.Variant = "on"
	if c := must[domain.FlagConfig](t)(f.svc.PutFlagConfig(ctx, "shop", "new-checkout", "production", cfg, 2)); c.Version != 2 {
		t.Errorf("no-op write bumped the version to %d", c.Version)
	}
	if got := len(f.audit(t)); got != n {
		t.Errorf("audit events: %d, want %d", got, n)
	}
}

func TestPutFlagConfigValidates(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	ed := as(domain.RoleEditor)
	for _, key := range []string{"a", "b"} {
		must[domain.Flag](t)(f.svc.CreateFlag(ed, domain.Flag{Project: "shop", Key: key, Type: snapshot.TypeBoolean}))
	}
	must[domain.FlagConfig](t)(f.svc.PutFlagConfig(ed, "shop", "a", "production", snapshot.Config{
		Enabled: true, Prerequisites: []snapshot.Prerequisite{{Flag: "b", Variant: "on"}}, Default: snapshot.Serve{Variant: "on"}}, service.AnyVersion))

	tests := []struct {
		name  string
		cfg   snapshot.Config
		field string
	}{
		{"unknown operator", snapshot.Config{Enabled: true, Default: snapshot.Serve{Variant: "on"},
			Rules: []snapshot.Rule{{Serve: snapshot.Serve{Variant: "on"}}, {Clauses: []snapshot.Clause{{Attribute: "x", Op: "like", Values: []any{"y"}}}, Serve: snapshot.Serve{Variant: "on"}}}},
			"rules[0]"},
		{"unknown segment", snapshot.Config{Enabled: true, Default: snapshot.Serve{Variant: "on"},
			Rules: []snapshot.Rule{{Segment: "nope", Serve: snapshot.Serve{Variant: "on"}}}}, "rules[0].segment"},
		{"prerequisite cycle", snapshot.Config{Enabled: true, Default: snapshot.Serve{Variant: "on"},
			Prerequisites: []snapshot.Prerequisite{{Flag: "a", Variant: "on"}}}, "prerequisites"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.PutFlagConfig(ed, "shop", "b", "production", tc.cfg, service.AnyVersion)
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != tc.field {
				t.Fatalf("err = %v, want invalid %s", err, tc.field)
			}
			var ve snapshot.ValidationError
			if !errors.As(err, &ve) || len(ve) == 0 {
				t.Errorf("err does not unwrap to the list of problems")
			}
		})
	}
	// Both problems of the first case are reported.
	_, err := f.svc.PutFlagConfig(ed, "shop", "b", "production", tests[0].cfg, service.AnyVersion)
	var ve snapshot.ValidationError
	if errors.As(err, &ve); len(ve) != 2 || ve[1].Path != "rules[1].clauses[0].op" {
		t.Errorf("problems = %v", ve)
	}
}

func TestReferencedThingsCannotBeRemoved(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	ed := as(domain.RoleEditor)
	must[domain.Segment](t)(f.svc.CreateSegment(ed, domain.Segment{Project: "shop", Segment: snapshot.Segment{Key: "beta", Include: []string{"u1"}}}))
	must[domain.Flag](t)(f.svc.CreateFlag(ed, domain.Flag{Project: "shop", Key: "b", Type: snapshot.TypeBoolean}))
	must[domain.Flag](t)(f.svc.CreateFlag(ed, domain.Flag{Project: "shop", Key: "theme", Type: snapshot.TypeString,
		Variants: snapshot.Variants{{Name: "light", Value: "l"}, {Name: "dark", Value: "d"}}}))
	must[domain.FlagConfig](t)(f.svc.PutFlagConfig(ed, "shop", "b", "staging", snapshot.Config{Enabled: true,
		Prerequisites: []snapshot.Prerequisite{{Flag: "theme", Variant: "dark"}},
		Rules:         []snapshot.Rule{{Clauses: []snapshot.Clause{{Op: snapshot.OpInSegment, Values: []any{"beta"}}}, Serve: snapshot.Serve{Variant: "on"}}},
		Default:       snapshot.Serve{Variant: "off"}}, 1))
	n := len(f.audit(t))

	err := f.svc.DeleteSegment(ed, "shop", "beta")
	if domain.ErrorCode(err) != domain.CodeConflict || !strings.Contains(err.Error(), "b (in staging)") {
		t.Errorf("DeleteSegment: %v, want a conflict naming b", err)
	}
	err = f.svc.DeleteFlag(ed, "shop", "theme")
	if domain.ErrorCode(err) != domain.CodeConflict || !strings.Contains(err.Error(), "b (in staging)") {
		t.Errorf("DeleteFlag: %v, want a conflict naming b", err)
	}
	theme := must[domain.Flag](t)(f.svc.GetFlag(context.Background(), "shop", "theme"))
	theme.Variants = theme.Variants[:1]
	_, err = f.svc.UpdateFlag(ed, theme, theme.Version)
	var de *domain.Error
	if !errors.As(err, &de) || de.Field != "variants" || !strings.Contains(de.Message, `flag "b" requires variant "dark"`) {
		t.Errorf("removing a required variant: %v", err)
	}
	theme.Type = snapshot.TypeJSON
	if _, err = f.svc.UpdateFlag(ed, theme, theme.Version); !errors.As(err, &de) || de.Field != "type" {
		t.Errorf("changing the type: %v", err)
	}
	if got := len(f.audit(t)); got != n {
		t.Errorf("refused changes wrote %d audit events", got-n)
	}
}

func TestSegmentUsesNameEveryConfigurationReferringToASegment(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	ed := as(domain.RoleEditor)
	for _, key := range []string{"beta", "staff", "unused"} {
		must[domain.Segment](t)(f.svc.CreateSegment(ed, domain.Segment{Project: "shop", Segment: snapshot.Segment{Key: key, Include: []string{"u1"}}}))
	}
	must[domain.Flag](t)(f.svc.CreateFlag(ed, domain.Flag{Project: "shop", Key: "b", Type: snapshot.TypeBoolean}))
	cfg := snapshot.Config{Enabled: true, Rules: []snapshot.Rule{
		{Segment: "staff", Serve: snapshot.Serve{Variant: "on"}},
		{Clauses: []snapshot.Clause{{Op: snapshot.OpInSegment, Values: []any{"beta", "staff"}}}, Serve: snapshot.Serve{Variant: "on"}},
	}, Default: snapshot.Serve{Variant: "off"}}
	for _, env := range []string{"production", "staging"} {
		must[domain.FlagConfig](t)(f.svc.PutFlagConfig(ed, "shop", "b", env, cfg, 1))
	}
	uses := must[map[string][]service.SegmentUse](t)(f.svc.SegmentUses(context.Background(), "shop"))
	both := []service.SegmentUse{{Flag: "b", Environment: "production"}, {Flag: "b", Environment: "staging"}}
	if !reflect.DeepEqual(uses, map[string][]service.SegmentUse{"beta": both, "staff": both}) {
		t.Errorf("uses %+v, want b in both environments for beta and staff (each once), nothing for unused", uses)
	}
	if _, err := f.svc.SegmentUses(context.Background(), "nope"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("uses in a missing project: %v, want not found", err)
	}
}

func TestDeleteEnvironmentWithSDKKeys(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	k, secret, err := f.svc.CreateSDKKey(admin, "shop", "staging", "checkout-service", "")
	if err != nil || !strings.HasPrefix(secret, "fps_") || k.Kind != domain.SDKKeyServer || k.Prefix != secret[:10] {
		t.Fatalf("CreateSDKKey = %+v, %q, %v", k, secret, err)
	}
	err = f.svc.DeleteEnvironment(admin, "shop", "staging", false)
	if domain.ErrorCode(err) != domain.CodeConflict || !strings.Contains(err.Error(), "checkout-service") {
		t.Fatalf("DeleteEnvironment: %v, want a conflict naming the key", err)
	}
	if err := f.svc.DeleteEnvironment(admin, "shop", "staging", true); err != nil {
		t.Fatalf("forced DeleteEnvironment: %v", err)
	}
	if _, err := f.store.GetSDKKey(context.Background(), k.ID); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("the key survived its environment: %v", err)
	}
}

func TestEnsureAdminToken(t *testing.T) {
	f := newFixture(t)
	fixed := "fpa_" + strings.Repeat("a", 40)
	secret, created, err := f.svc.EnsureAdminToken(context.Background(), fixed)
	if err != nil || !created || secret != fixed {
		t.Fatalf("EnsureAdminToken = %q, %v, %v", secret, created, err)
	}
	p, err := (&auth.Authenticator{Store: f.store}).Authenticate(context.Background(), fixed)
	if err != nil || p.Role != domain.RoleAdmin {
		t.Fatalf("the initial token does not authenticate as admin: %+v, %v", p, err)
	}
	if secret, created, err = f.svc.EnsureAdminToken(context.Background(), ""); err != nil || created || secret != "" {
		t.Errorf("second EnsureAdminToken = %q, %v, %v; want nothing created", secret, created, err)
	}
	if e := f.audit(t); len(e) != 1 || e[0].Actor.Kind != "system" || e[0].Action != "token.created" {
		t.Errorf("audit = %+v", e)
	}
	f2 := newFixture(t)
	if _, _, err := f2.svc.EnsureAdminToken(context.Background(), "short"); domain.ErrorCode(err) != domain.CodeInvalid {
		t.Errorf("a weak fixed secret was accepted: %v", err)
	}
}

func TestWebhookDeliveriesAreQueuedWithTheChange(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	hook, secret, err := f.svc.CreateWebhook(admin, service.WebhookSpec{URL: "https://example.com/hook", Events: []string{"flag.changed"}})
	if err != nil || !strings.HasPrefix(secret, "whsec_") || !hook.Enabled || hook.Format != "json" {
		t.Fatalf("CreateWebhook = %+v, %q, %v", hook, secret, err)
	}
	must[domain.Segment](t)(f.svc.CreateSegment(admin, domain.Segment{Project: "shop", Segment: snapshot.Segment{Key: "beta", Include: []string{"u"}}}))
	must[domain.Flag](t)(f.svc.CreateFlag(service.WithComment(admin, "why not"), domain.Flag{Project: "shop", Key: "x", Type: snapshot.TypeBoolean}))

	ds, err := f.store.ListDeliveries(context.Background(), hook.ID, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries = %+v, %v; want one (segment changes are not subscribed)", ds, err)
	}
	d := ds[0]
	if d.Status != domain.DeliveryPending || d.EventType != "flag.changed" || !d.NextAttemptAt.Equal(now) {
		t.Errorf("delivery = %+v", d)
	}
	var ev domain.WebhookEvent
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	audit := f.audit(t)[0]
	if ev.ID != jsonID(audit.ID) || ev.Action != "flag.created" || ev.Resource != (domain.EventResource{Type: "flag", Key: "x"}) ||
		ev.Comment != "why not" || ev.Project != "shop" || string(ev.Before) != "null" || len(ev.After) == 0 {
		t.Errorf("event = %+v", ev)
	}

	if _, _, err := f.svc.CreateWebhook(admin, service.WebhookSpec{URL: "ftp://x", Events: []string{"flag.*", "nope"}, Format: "xml"}); err == nil {
		t.Error("invalid webhook accepted")
	} else if ve := new(service.ValidationError); !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Errorf("want three problems (url, events[1], format), got %v", err)
	}
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }

const shopFile = `version: 1
project: shop
segments:
  beta:
    include: [u1, u2]
flags:
  new-checkout:
    type: boolean
    description: Redesigned checkout
    tags: [checkout]
    environments:
      production:
        enabled: true
        rules:
          - {name: beta, segment: beta, serve: {variant: "on"}}
        default: {rollout: {weights: {"on": 10, "off": 90}}}
      staging:
        enabled: true
        default: {variant: "on"}
  price-factor:
    type: number
    variants: {low: 0.9, normal: 1}
    environments:
      production:
        enabled: false
        offVariant: normal
        default: {variant: normal}
      staging:
        enabled: true
        offVariant: normal
        prerequisites: [{flag: new-checkout, variant: "on"}]
        default: {variant: low}
`

func TestImportIsAllOrNothingAndIdempotent(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	doc, err := flagfile.Parse([]byte(shopFile), flagfile.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	ed := as(domain.RoleEditor)
	n := len(f.audit(t))
	sum, err := f.svc.Import(ed, "shop", doc)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.SegmentsCreated, []string{"beta"}) || !slices.Equal(sum.FlagsCreated, []string{"new-checkout", "price-factor"}) ||
		len(sum.ConfigsUpdated) != 4 || sum.Unchanged != 0 {
		t.Errorf("summary = %+v", sum)
	}
	if got := len(f.audit(t)) - n; got != 7 { // segment, two flags, four configurations
		t.Errorf("audit events of the import: %d, want 7", got)
	}
	n += 7

	// Importing the same file again changes nothing and records nothing.
	if sum, err = f.svc.Import(ed, "shop", doc); err != nil || sum.Unchanged != 7 || len(sum.ConfigsUpdated)+len(sum.FlagsUpdated)+len(sum.SegmentsUpdated) != 0 {
		t.Errorf("re-import = %+v, %v", sum, err)
	}
	if got := len(f.audit(t)); got != n {
		t.Errorf("re-import wrote %d audit events", got-n)
	}

	// Export gives back the file.
	out, err := f.svc.Export(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := flagfile.Marshal(doc, flagfile.FormatYAML)
	got, _ := flagfile.Marshal(out, flagfile.FormatYAML)
	if string(got) != string(want) {
		t.Errorf("export:\n%s\nwant:\n%s", got, want)
	}

	// A file that is wrong somewhere stores nothing, not even its valid parts.
	bad, err := flagfile.Parse([]byte(strings.Replace(shopFile, "include: [u1, u2]", "include: [u1, u2, u3]", 1)+
		"  later:\n    type: boolean\n    environments:\n      qa:\n        enabled: true\n        default: {variant: \"on\"}\n"), flagfile.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Import(ed, "shop", bad)
	var de *domain.Error
	if !errors.As(err, &de) || de.Field != "flags.later.environments.qa" {
		t.Fatalf("import with an unknown environment: %v", err)
	}
	if seg := must[domain.Segment](t)(f.svc.GetSegment(context.Background(), "shop", "beta")); len(seg.Include) != 2 {
		t.Errorf("the failed import changed segment beta: %+v", seg)
	}
	if got := len(f.audit(t)); got != n {
		t.Errorf("the failed import wrote %d audit events", got-n)
	}
}
