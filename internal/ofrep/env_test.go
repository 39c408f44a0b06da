package ofrep

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/snapshot"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	wire "github.com/flagpilot/flagpilot/sdk/snapshot"
)

// testEnv is the OFREP handler on a real SQLite store, service and snapshot cache, behind a
// real HTTP server on 127.0.0.1. Project shop has environments production and staging, the
// flags of seedFlags configured in production, a server and a client key of production, and
// an admin token.
type testEnv struct {
	t       testing.TB
	handler http.Handler
	srv     *httptest.Server
	svc     *service.Service
	cache   *snapshot.Cache
	admin   context.Context // acts as the server itself, for changes

	serverKey, clientKey, stagingKey, adminToken string
}

func newTestEnv(t testing.TB, opts Options) *testEnv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "flagpilot.db"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cache := snapshot.New(store, snapshot.Options{Logger: logger})
	svc := service.New(store, service.Options{Logger: logger, OnChange: cache.Invalidate})
	e := &testEnv{t: t, svc: svc, cache: cache, admin: auth.WithPrincipal(ctx, auth.System())}
	e.handler = New(cache, &auth.Authenticator{Store: store}, logger, opts)
	e.srv = httptest.NewServer(e.handler)
	t.Cleanup(func() {
		e.srv.Close()
		store.Close()
	})

	_, err = svc.CreateProject(e.admin, domain.Project{Key: "shop", Name: "Shop"})
	check(t, err)
	for _, env := range []string{"production", "staging"} {
		_, err = svc.CreateEnvironment(e.admin, domain.Environment{Project: "shop", Key: env, Name: env})
		check(t, err)
	}
	e.adminToken, _, err = svc.EnsureAdminToken(ctx, "")
	check(t, err)
	e.serverKey = e.sdkKey("production", domain.SDKKeyServer)
	e.clientKey = e.sdkKey("production", domain.SDKKeyClient)
	e.stagingKey = e.sdkKey("staging", domain.SDKKeyServer)
	for _, f := range seedFlags {
		e.putFlag(f.key, f.typ, f.variants, f.config)
	}
	return e
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *testEnv) sdkKey(env string, kind domain.SDKKeyKind) string {
	e.t.Helper()
	_, secret, err := e.svc.CreateSDKKey(e.admin, "shop", env, "test", kind)
	check(e.t, err)
	return secret
}

type seedFlag struct {
	key      string
	typ      wire.FlagType
	variants wire.Variants
	config   wire.Config
}

func variant(name string) wire.Serve { return wire.Serve{Variant: name} }

func split(weights ...wire.Weight) wire.Serve {
	return wire.Serve{Rollout: &wire.Rollout{Weights: weights}}
}

// seedFlags cover every flag type and every reason in production.
var seedFlags = []seedFlag{
	{key: "new-checkout", typ: wire.TypeBoolean, config: wire.Config{
		Enabled: true,
		Rules: []wire.Rule{{ID: "canada", Clauses: []wire.Clause{{Attribute: "country", Op: wire.OpEq, Values: []any{"CA"}}},
			Serve: variant("on")}},
		Default: variant("off"),
	}},
	{key: "banner-text", typ: wire.TypeString,
		variants: wire.Variants{{Name: "control", Value: "Welcome"}, {Name: "promo", Value: "50% off <today>"}},
		config: wire.Config{Enabled: true, OffVariant: "control",
			Default: split(wire.Weight{Variant: "control", Percent: 50}, wire.Weight{Variant: "promo", Percent: 50})}},
	{key: "discount", typ: wire.TypeNumber,
		variants: wire.Variants{{Name: "none", Value: 0.0}, {Name: "gold", Value: 0.15}},
		config: wire.Config{Enabled: true, OffVariant: "none",
			Rules: []wire.Rule{{ID: "gold-plan", Clauses: []wire.Clause{{Attribute: "plan", Op: wire.OpEq, Values: []any{"gold"}}},
				Serve: variant("gold")}},
			Default: variant("none")}},
	{key: "max-items", typ: wire.TypeNumber,
		variants: wire.Variants{{Name: "low", Value: 10.0}, {Name: "high", Value: 50.0}},
		config:   wire.Config{Enabled: true, OffVariant: "low", Default: variant("high")}},
	{key: "theme", typ: wire.TypeJSON,
		variants: wire.Variants{
			{Name: "light", Value: map[string]any{"background": "#ffffff", "contrast": 1.0}},
			{Name: "dark", Value: map[string]any{"background": "#101010", "contrast": 1.5, "accents": []any{"teal", "amber"}}},
		},
		config: wire.Config{Enabled: true, OffVariant: "light", Default: variant("dark")}},
	{key: "legacy-search", typ: wire.TypeBoolean, config: wire.Config{Enabled: false, Default: variant("on")}},
}

// putFlag creates a flag, when it does not exist, and sets its production configuration.
func (e *testEnv) putFlag(key string, typ wire.FlagType, variants wire.Variants, cfg wire.Config) {
	e.t.Helper()
	if _, err := e.svc.GetFlag(e.admin, "shop", key); domain.ErrorCode(err) == domain.CodeNotFound {
		_, err = e.svc.CreateFlag(e.admin, domain.Flag{Project: "shop", Key: key, Type: typ, Variants: variants})
		check(e.t, err)
	}
	_, err := e.svc.PutFlagConfig(e.admin, "shop", key, "production", cfg, service.AnyVersion)
	check(e.t, err)
}

// change applies fn and waits until the snapshot cache serves production's next snapshot.
func (e *testEnv) change(fn func()) {
	e.t.Helper()
	updates, cancel := e.cache.Subscribe("shop", "production")
	defer cancel()
	fn()
	select {
	case <-updates:
	case <-time.After(10 * time.Second):
		e.t.Fatal("no new snapshot after the change")
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// post sends a request to path with a body and headers given in name, value pairs.
func (e *testEnv) post(path, body string, headers ...string) response {
	e.t.Helper()
	return e.do(http.MethodPost, path, body, headers...)
}

func (e *testEnv) do(method, path, body string, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// decode checks the status and decodes the body into a map, keeping numbers as written.
func (r response) decode(t testing.TB, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return m
}
