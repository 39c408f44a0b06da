package apiclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/httpapi"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// server is the real management API on a temporary SQLite database.
type server struct {
	url       string
	admin     *apiclient.Client
	telemetry domain.TelemetryStore
}

func newServer(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "flagpilot.db"))
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(store, service.Options{})
	token, _, err := svc.EnsureAdminToken(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(svc, &auth.Authenticator{Store: store}, nil, httpapi.Options{Telemetry: store}))
	t.Cleanup(func() {
		srv.Close()
		store.Close()
	})
	return &server{url: srv.URL, admin: newClient(t, srv.URL, token), telemetry: store}
}

func newClient(t *testing.T, url, token string) *apiclient.Client {
	t.Helper()
	c, err := apiclient.New(url, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// withShop adds project shop with environment production, the usual starting point.
func (s *server) withShop(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	testenv.Must(s.admin.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(s.admin.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	return s
}

// apiError returns err as an *apiclient.Error, failing the test when it is not one.
func apiError(t *testing.T, err error) *apiclient.Error {
	t.Helper()
	var e *apiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want an *apiclient.Error", err, err)
	}
	return e
}

func keys[T any](items []T, key func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = key(it)
	}
	return out
}

func flagKey(f domain.Flag) string { return f.Key }

func TestProjectsAndEnvironments(t *testing.T) {
	ctx := context.Background()
	c := newServer(t).admin
	p := testenv.Must(c.CreateProject(ctx, domain.Project{Key: "blog", Description: "the blog"})).OK(t)
	if p.Name != "blog" || p.Description != "the blog" || p.CreatedAt.IsZero() {
		t.Errorf("created %+v", p)
	}
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop", Name: "Shop"})).OK(t)
	if got := testenv.Must(c.GetProject(ctx, "shop")).OK(t); got.Name != "Shop" {
		t.Errorf("got %+v", got)
	}
	first := testenv.Must(c.ListProjects(ctx, apiclient.PageQuery{Limit: 1})).OK(t)
	second := testenv.Must(c.ListProjects(ctx, apiclient.PageQuery{Limit: 1, After: first.Next})).OK(t)
	if len(first.Items) != 1 || first.Items[0].Key != "blog" || len(second.Items) != 1 || second.Items[0].Key != "shop" {
		t.Errorf("pages %+v, %+v", first, second)
	}

	e := testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "blog", Key: "production", Name: "Production"})).OK(t)
	if e.Project != "blog" || e.Name != "Production" {
		t.Errorf("created %+v", e)
	}
	if envs := testenv.Must(c.ListEnvironments(ctx, "blog")).OK(t); len(envs) != 1 || envs[0].Key != "production" {
		t.Errorf("environments %+v", envs)
	}
	testenv.Must(c.CreateSDKKey(ctx, "blog", "production", "web", "")).OK(t)
	if err := c.DeleteEnvironment(ctx, "blog", "production", false); !apiclient.IsConflict(err) {
		t.Errorf("deleting an environment with SDK keys: %v, want a conflict", err)
	}
	if err := c.DeleteEnvironment(ctx, "blog", "production", true); err != nil {
		t.Fatal(err)
	}
	if envs := testenv.Must(c.ListEnvironments(ctx, "blog")).OK(t); len(envs) != 0 {
		t.Errorf("environments after deletion %+v", envs)
	}
	if err := c.DeleteProject(ctx, "blog", false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetProject(ctx, "blog"); !apiclient.IsNotFound(err) {
		t.Errorf("deleted project: %v, want not found", err)
	}
}

func TestFlags(t *testing.T) {
	ctx := context.Background()
	c := newServer(t).withShop(t).admin
	f := testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean,
		Description: "Redesigned checkout", Tags: []string{"checkout"}})).OK(t)
	if f.Version != 1 || len(f.Variants) != 2 || f.Variants[0].Name != "on" {
		t.Errorf("created %+v", f)
	}
	for _, key := range []string{"a", "b", "c", "d"} {
		testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: key, Type: snapshot.TypeString,
			Variants: snapshot.Variants{{Name: "x", Value: "1"}, {Name: "y", Value: "2"}}, Owner: "team-" + key})).OK(t)
	}

	for _, tc := range []struct {
		name string
		q    apiclient.FlagQuery
		want []string
	}{
		{"all", apiclient.FlagQuery{}, []string{"a", "b", "c", "d", "new-checkout"}},
		{"tag", apiclient.FlagQuery{Tag: "checkout"}, []string{"new-checkout"}},
		{"query", apiclient.FlagQuery{Query: "TEAM-C"}, []string{"c"}},
		{"small pages", apiclient.FlagQuery{Limit: 2}, []string{"a", "b", "c", "d", "new-checkout"}},
		{"from a cursor", apiclient.FlagQuery{Limit: 2, After: "b"}, []string{"c", "d", "new-checkout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := keys(testenv.Must(c.AllFlags(ctx, "shop", tc.q)).OK(t), flagKey); !slices.Equal(got, tc.want) {
				t.Errorf("AllFlags: %v, want %v", got, tc.want)
			}
		})
	}
	page := testenv.Must(c.ListFlags(ctx, "shop", apiclient.FlagQuery{Limit: 2})).OK(t)
	if got := keys(page.Items, flagKey); !slices.Equal(got, []string{"a", "b"}) || page.Next != "b" {
		t.Errorf("first page %v, next %q", got, page.Next)
	}

	got := testenv.Must(c.GetFlag(ctx, "shop", "new-checkout")).OK(t)
	got.Description = "Checkout, redesigned"
	updated := testenv.Must(c.UpdateFlag(ctx, got, got.Version)).OK(t)
	if updated.Version != 2 || updated.Description != "Checkout, redesigned" {
		t.Errorf("updated %+v", updated)
	}
	got.Description = "lost update"
	if _, err := c.UpdateFlag(ctx, got, 1); !apiclient.IsConflict(err) {
		t.Errorf("stale update: %v, want a conflict", err)
	}
	if err := c.DeleteFlag(ctx, "shop", "new-checkout"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFlag(ctx, "shop", "new-checkout"); !apiclient.IsNotFound(err) {
		t.Errorf("deleted flag: %v, want not found", err)
	}
}

func TestFlagConfigs(t *testing.T) {
	ctx := context.Background()
	c := newServer(t).withShop(t).admin
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean})).OK(t)
	cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t)
	if cfg.Version != 1 || cfg.Enabled || cfg.Default.Variant != "off" {
		t.Fatalf("initial configuration %+v", cfg)
	}

	next := cfg.Config
	next.Enabled = true
	next.Default = snapshot.Serve{Rollout: &snapshot.Rollout{Weights: snapshot.Weights{{Variant: "on", Percent: 10}, {Variant: "off", Percent: 90}}}}
	put := testenv.Must(c.PutFlagConfig(apiclient.WithComment(ctx, "ramp to 10 %"), "shop", "new-checkout", "production", next, cfg.Version)).OK(t)
	if put.Version != 2 || !put.Enabled || put.Default.Rollout == nil {
		t.Errorf("after put: %+v", put)
	}

	// A stale write is refused and stores nothing.
	if _, err := c.PutFlagConfig(ctx, "shop", "new-checkout", "production", cfg.Config, cfg.Version); !apiclient.IsConflict(err) {
		t.Errorf("stale put: %v, want a conflict", err)
	}
	if got := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t); got.Version != 2 || !got.Enabled {
		t.Errorf("after the stale put: %+v", got)
	}
	// A write must say which version it is based on.
	_, err := c.PutFlagConfig(ctx, "shop", "new-checkout", "production", cfg.Config, 0)
	if e := apiError(t, err); e.Status != http.StatusPreconditionRequired || e.Code != "precondition_required" {
		t.Errorf("unversioned put: %+v", e)
	}

	// The kill switch needs no version, but honours one.
	off := testenv.Must(c.ToggleFlag(ctx, "shop", "new-checkout", "production", false, 0)).OK(t)
	if off.Enabled || off.Version != 3 || off.Default.Rollout == nil {
		t.Errorf("after toggle: %+v", off)
	}
	if _, err := c.ToggleFlag(ctx, "shop", "new-checkout", "production", true, 2); !apiclient.IsConflict(err) {
		t.Errorf("stale toggle: %v, want a conflict", err)
	}
	if on := testenv.Must(c.ToggleFlag(ctx, "shop", "new-checkout", "production", true, 3)).OK(t); !on.Enabled || on.Version != 4 {
		t.Errorf("after toggle: %+v", on)
	}

	events := testenv.Must(c.ListAudit(ctx, apiclient.AuditQuery{Project: "shop", ResourceType: "flag", ResourceKey: "new-checkout", Environment: "production"})).OK(t)
	comments := keys(events.Items, func(e domain.AuditEvent) string { return e.Comment })
	if !slices.Equal(comments, []string{"", "", "ramp to 10 %"}) {
		t.Errorf("comments of the configuration changes, newest first: %q", comments)
	}
}

func TestSegments(t *testing.T) {
	ctx := context.Background()
	c := newServer(t).withShop(t).admin
	for _, key := range []string{"beta", "staff", "vip"} {
		testenv.Must(c.CreateSegment(ctx, domain.Segment{Project: "shop", Segment: snapshot.Segment{Key: key, Include: []string{"u-" + key}}})).OK(t)
	}
	s := testenv.Must(c.GetSegment(ctx, "shop", "beta")).OK(t)
	if s.Version != 1 || !slices.Equal(s.Include, []string{"u-beta"}) {
		t.Errorf("got %+v", s)
	}
	page := testenv.Must(c.ListSegments(ctx, "shop", apiclient.PageQuery{Limit: 2})).OK(t)
	all := testenv.Must(c.AllSegments(ctx, "shop")).OK(t)
	segKey := func(s domain.Segment) string { return s.Key }
	if len(page.Items) != 2 || page.Next != "staff" || !slices.Equal(keys(all, segKey), []string{"beta", "staff", "vip"}) {
		t.Errorf("page %+v, all %v", page, keys(all, segKey))
	}

	s.Include = append(s.Include, "u2")
	if got := testenv.Must(c.UpdateSegment(ctx, s, s.Version)).OK(t); got.Version != 2 || len(got.Include) != 2 {
		t.Errorf("updated %+v", got)
	}
	if _, err := c.UpdateSegment(ctx, s, 1); !apiclient.IsConflict(err) {
		t.Errorf("stale update: %v, want a conflict", err)
	}
	if err := c.DeleteSegment(ctx, "shop", "beta"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSegment(ctx, "shop", "beta"); !apiclient.IsNotFound(err) {
		t.Errorf("deleted segment: %v, want not found", err)
	}
}

func TestSDKKeysAndTokens(t *testing.T) {
	ctx := context.Background()
	s := newServer(t).withShop(t)
	c := s.admin
	k := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "web", domain.SDKKeyClient)).OK(t)
	if !strings.HasPrefix(k.Secret, "fpc_") || k.Kind != domain.SDKKeyClient || k.Name != "web" || k.ID == "" {
		t.Errorf("created key %+v", k)
	}
	if list := testenv.Must(c.ListSDKKeys(ctx, "shop", "production")).OK(t); len(list) != 1 || list[0].ID != k.ID || list[0].Prefix != k.Prefix {
		t.Errorf("keys %+v", list)
	}
	if err := c.DeleteSDKKey(ctx, "shop", "production", k.ID); err != nil {
		t.Fatal(err)
	}
	if list := testenv.Must(c.ListSDKKeys(ctx, "shop", "production")).OK(t); len(list) != 0 {
		t.Errorf("keys after deletion %+v", list)
	}

	viewer := testenv.Must(c.CreateToken(ctx, "reader", domain.RoleViewer)).OK(t)
	if !strings.HasPrefix(viewer.Secret, "fpa_") || viewer.Role != domain.RoleViewer {
		t.Errorf("created token %+v", viewer)
	}
	if list := testenv.Must(c.ListTokens(ctx)).OK(t); len(list) != 2 {
		t.Errorf("tokens %+v", list)
	}
	vc := newClient(t, s.url, viewer.Secret)
	testenv.Must(vc.GetProject(ctx, "shop")).OK(t)
	if _, err := vc.CreateProject(ctx, domain.Project{Key: "mine"}); !apiclient.IsForbidden(err) {
		t.Errorf("viewer creating a project: %v, want forbidden", err)
	}
	if err := c.DeleteToken(ctx, viewer.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.GetProject(ctx, "shop"); !apiclient.IsUnauthorized(err) {
		t.Errorf("deleted token: %v, want unauthorized", err)
	}
}

func TestWebhooks(t *testing.T) {
	ctx := context.Background()
	c := newServer(t).withShop(t).admin
	hook := testenv.Must(c.CreateWebhook(ctx, service.WebhookSpec{URL: "https://hooks.example.com/fp", Events: []string{"flag.changed"}})).OK(t)
	if !strings.HasPrefix(hook.Secret, "whsec_") || !hook.Enabled || hook.Format != domain.WebhookFormatJSON {
		t.Errorf("created %+v", hook)
	}
	if got := testenv.Must(c.GetWebhook(ctx, hook.ID)).OK(t); got.URL != hook.URL {
		t.Errorf("got %+v", got)
	}
	if list := testenv.Must(c.ListWebhooks(ctx)).OK(t); len(list) != 1 || list[0].ID != hook.ID {
		t.Errorf("webhooks %+v", list)
	}
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean})).OK(t)
	// Nothing dispatches in this test, so the delivery stays queued.
	if d := testenv.Must(c.ListDeliveries(ctx, hook.ID, 10)).OK(t); len(d) != 1 || d[0].EventType != "flag.changed" || d[0].Status != domain.DeliveryPending {
		t.Errorf("deliveries %+v", d)
	}
	if err := c.DeleteWebhook(ctx, hook.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetWebhook(ctx, hook.ID); !apiclient.IsNotFound(err) {
		t.Errorf("deleted webhook: %v, want not found", err)
	}
}

const flagFile = `version: 1
segments:
  staff:
    include: [qa-bot-1]
flags:
  new-checkout:
    type: boolean
    description: Redesigned checkout
    environments:
      production:
        enabled: true
        rules:
          - {name: staff, segment: staff, serve: {variant: "on"}}
        default: {variant: "off"}
`

func TestImportAndExport(t *testing.T) {
	ctx := context.Background()
	c := newServer(t).withShop(t).admin
	sum := testenv.Must(c.Import(ctx, "shop", []byte(flagFile), flagfile.FormatYAML)).OK(t)
	if !slices.Equal(sum.FlagsCreated, []string{"new-checkout"}) || !slices.Equal(sum.SegmentsCreated, []string{"staff"}) ||
		!slices.Equal(sum.ConfigsUpdated, []string{"new-checkout/production"}) {
		t.Errorf("summary %+v", sum)
	}
	if cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t); !cfg.Enabled || len(cfg.Rules) != 1 {
		t.Errorf("imported configuration %+v", cfg)
	}

	yamlFile := testenv.Must(c.Export(ctx, "shop", flagfile.FormatYAML)).OK(t)
	jsonFile := testenv.Must(c.Export(ctx, "shop", flagfile.FormatJSON)).OK(t)
	if !strings.Contains(string(yamlFile), "new-checkout:") || !strings.HasPrefix(string(jsonFile), "{") {
		t.Errorf("exports:\n%s\n%s", yamlFile, jsonFile)
	}
	for format, file := range map[flagfile.Format][]byte{flagfile.FormatYAML: yamlFile, flagfile.FormatJSON: jsonFile} {
		if sum := testenv.Must(c.Import(ctx, "shop", file, format)).OK(t); sum.Unchanged != 3 || len(sum.FlagsUpdated)+len(sum.ConfigsUpdated) != 0 {
			t.Errorf("re-importing the %v export changed something: %+v", format, sum)
		}
	}

	bad := strings.Replace(flagFile, "segment: staff", "segment: nobody", 1)
	e := apiError(t, func() error { _, err := c.Import(ctx, "shop", []byte(bad), flagfile.FormatYAML); return err }())
	if e.Status != http.StatusBadRequest || e.Field != "flags.new-checkout.environments.production.rules[0].segment" {
		t.Errorf("bad import: %+v", e)
	}
}

func TestAudit(t *testing.T) {
	ctx := context.Background()
	c := newServer(t).withShop(t).admin
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean})).OK(t)
	testenv.Must(c.ToggleFlag(apiclient.WithComment(ctx, "launch"), "shop", "new-checkout", "production", true, 0)).OK(t)

	var actions []string
	q := apiclient.AuditQuery{Project: "shop", Limit: 2}
	for {
		page := testenv.Must(c.ListAudit(ctx, q)).OK(t)
		actions = append(actions, keys(page.Items, func(e domain.AuditEvent) string { return e.Action })...)
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	want := []string{"flag.config.updated", "flag.created", "environment.created", "project.created"}
	if !slices.Equal(actions, want) {
		t.Errorf("actions, newest first: %v, want %v", actions, want)
	}
	toggled := testenv.Must(c.ListAudit(ctx, apiclient.AuditQuery{Environment: "production", ResourceType: "flag"})).OK(t).Items
	if len(toggled) != 1 || toggled[0].Comment != "launch" || toggled[0].Actor.Kind != domain.ActorToken {
		t.Errorf("events %+v", toggled)
	}
	if n := len(testenv.Must(c.ListAudit(ctx, apiclient.AuditQuery{ActorKind: domain.ActorSystem})).OK(t).Items); n != 1 {
		t.Errorf("%d events by the system, want 1 (the first admin token)", n)
	}
	since := toggled[0].Time
	if got := testenv.Must(c.ListAudit(ctx, apiclient.AuditQuery{Since: since})).OK(t).Items; len(got) != 1 {
		t.Errorf("since the toggle: %d events", len(got))
	}
	if got := testenv.Must(c.ListAudit(ctx, apiclient.AuditQuery{Until: since})).OK(t).Items; len(got) != 4 {
		t.Errorf("until the toggle: %d events, want 4", len(got))
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	s := newServer(t).withShop(t)
	c := s.admin
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean})).OK(t)
	testenv.Must(c.ToggleFlag(ctx, "shop", "new-checkout", "production", true, 0)).OK(t)

	cases := []struct {
		name   string
		call   func() error
		status int
		code   string
		field  string
		is     func(error) bool
	}{
		{"unknown flag", func() error { _, err := c.GetFlag(ctx, "shop", "old-checkout"); return err },
			404, "not_found", "", apiclient.IsNotFound},
		{"stale version", func() error {
			_, err := c.PutFlagConfig(ctx, "shop", "new-checkout", "production", snapshot.Config{Default: snapshot.Serve{Variant: "on"}}, 1)
			return err
		}, 409, "conflict", "", apiclient.IsConflict},
		{"existing key", func() error { _, err := c.CreateProject(ctx, domain.Project{Key: "shop"}); return err },
			409, "conflict", "", apiclient.IsConflict},
		{"invalid field", func() error {
			_, err := c.PutFlagConfig(ctx, "shop", "new-checkout", "production", snapshot.Config{Default: snapshot.Serve{Variant: "maybe"}}, 2)
			return err
		}, 400, "invalid", "default.variant", apiclient.IsInvalid},
		{"invalid key", func() error {
			_, err := c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "New Checkout", Type: snapshot.TypeBoolean})
			return err
		}, 400, "invalid", "key", apiclient.IsInvalid},
		{"unknown token", func() error {
			_, err := newClient(t, s.url, "fpa_nope").ListProjects(ctx, apiclient.PageQuery{})
			return err
		}, 401, "unauthorized", "", apiclient.IsUnauthorized},
		{"no token", func() error { _, err := newClient(t, s.url, "").ListProjects(ctx, apiclient.PageQuery{}); return err },
			401, "unauthorized", "", apiclient.IsUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			e := apiError(t, err)
			if e.Status != tc.status || e.Code != tc.code || e.Field != tc.field || e.Message == "" || !tc.is(err) {
				t.Errorf("error %+v, want %d %s field %q", e, tc.status, tc.code, tc.field)
			}
		})
	}
	// The stale and the invalid write stored nothing.
	if cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t); cfg.Version != 2 || cfg.Default.Variant != "off" {
		t.Errorf("configuration after refused writes: %+v", cfg)
	}

	// Several problems are all listed.
	_, err := c.PutFlagConfig(ctx, "shop", "new-checkout", "production", snapshot.Config{OffVariant: "perhaps", Default: snapshot.Serve{Variant: "maybe"}}, 2)
	e := apiError(t, err)
	if e.Field != "offVariant" || len(e.Details) != 2 || e.Details[1].Path != "default.variant" {
		t.Errorf("error %+v", e)
	}
	if want := `offVariant: unknown variant "perhaps"`; !strings.HasPrefix(e.Error(), want) || !strings.HasSuffix(e.Error(), "(400 invalid)") {
		t.Errorf("Error() = %q, want %q… (400 invalid)", e.Error(), want)
	}
}

func TestEmptyKeysAreRefusedBeforeSending(t *testing.T) {
	ctx := context.Background()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, "fpa_x")
	for name, call := range map[string]func() error{
		"project": func() error { _, err := c.GetProject(ctx, ""); return err },
		"flag":    func() error { _, err := c.GetFlag(ctx, "shop", ""); return err },
		"env":     func() error { _, err := c.ToggleFlag(ctx, "shop", "f", "", true, 0); return err },
		"entity":  func() error { _, err := c.CreateFlag(ctx, domain.Flag{Key: "f"}); return err },
		"key id":  func() error { return c.DeleteSDKKey(ctx, "shop", "production", "") },
		"user id": func() error { return c.SetPassword(ctx, "", "a new password") },
	} {
		if err := call(); !errors.Is(err, apiclient.ErrEmptyKey) {
			t.Errorf("%s: %v, want ErrEmptyKey", name, err)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestAnswersThatAreNotTheEnvelope(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream unavailable", http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	_, err := newClient(t, srv.URL, "fpa_x").GetProject(context.Background(), "shop")
	e := apiError(t, err)
	if e.Status != http.StatusBadGateway || e.Code != "" || e.Message != "upstream unavailable" || e.Error() != "upstream unavailable (502 bad gateway)" {
		t.Errorf("error %+v: %q", e, e.Error())
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://host", "http://", "http://host/?x=1"} {
		if _, err := apiclient.New(u, "t"); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	if _, err := apiclient.New("https://flags.example.com/prefix/", "t"); err != nil {
		t.Error(err)
	}
}

// recorder is a transport that remembers the last request and answers a configuration.
type recorder struct {
	req  *http.Request
	body string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.req, r.body = req, ""
	if req.Body != nil { // GETs have none
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		r.body = string(body)
	}
	return &http.Response{StatusCode: http.StatusOK, Request: req,
		Header: http.Header{"Content-Type": {"application/json"}, "Etag": {`"7"`}},
		Body:   io.NopCloser(strings.NewReader(`{"flag":"new checkout","enabled":true,"version":7}`))}, nil
}

func TestWhatIsSent(t *testing.T) {
	rec := &recorder{}
	c, err := apiclient.New("https://flags.example.com/base/", "fpa_secret", apiclient.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := apiclient.WithComment(context.Background(), "incident 42")
	cfg := testenv.Must(c.ToggleFlag(ctx, "shop", "new checkout", "production", true, 6)).OK(t)
	if cfg.Version != 7 || !cfg.Enabled {
		t.Errorf("answer %+v", cfg)
	}
	r := rec.req
	for name, got := range map[string][2]string{
		"method":        {r.Method, http.MethodPatch},
		"URL":           {r.URL.String(), "https://flags.example.com/base/api/v1/projects/shop/flags/new%20checkout/environments/production"},
		"Authorization": {r.Header.Get("Authorization"), "Bearer fpa_secret"},
		"If-Match":      {r.Header.Get("If-Match"), `"6"`},
		"comment":       {r.Header.Get("X-Flagpilot-Comment"), "incident 42"},
		"Content-Type":  {r.Header.Get("Content-Type"), "application/json"},
		"body":          {rec.body, `{"enabled":true}`},
	} {
		if got[0] != got[1] {
			t.Errorf("%s: %q, want %q", name, got[0], got[1])
		}
	}
}
