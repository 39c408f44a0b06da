package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/sdk/ofprovider"
	"github.com/open-feature/go-sdk/openfeature"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// startServerAt is startServer on a given address, so that a restarted server comes back where
// its SDK clients look for it. The port of a killed server may take a moment to be free again,
// so a start that fails before listening is retried for a few seconds.
func startServerAt(t *testing.T, dataDir, token, addr string) *server {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, _, err := launchServe(t, []string{"FLAGPILOT_ADMIN_TOKEN=" + token}, "--addr", addr, "--data-dir", dataDir)
		if err == nil {
			s.token = token
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// allServe waits until every client serves want for the banner flag.
func allServe(t *testing.T, what, want string, clients ...*sdk.Client) {
	t.Helper()
	anyone := sdk.MustContext("user-1", nil)
	deadline := time.Now().Add(20 * time.Second)
	for i, c := range clients {
		for {
			got := c.StringValue(context.Background(), "banner", "caller default", anyone)
			if got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: client %d serves %q, want %q", what, i, got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// The scenario for the online SDK: three clients stream from the real server; a change
// made through the API reaches them all; the server is killed and they keep serving the last
// values; it restarts on the same data dir and address, and the clients catch up with the next
// change without being restarted. A client started while the server is down serves its
// bootstrap file, then the server's configuration once it is back.
// waitEvent waits for an OpenFeature provider event of type want, skipping others.
func waitEvent(t *testing.T, events <-chan openfeature.EventType, want openfeature.EventType) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case got := <-events:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %s event", want)
		}
	}
}

func TestSDKClientsFollowTheServerThroughACrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir, token := t.TempDir(), newAdminToken()
	srv := startServerAt(t, dataDir, token, "127.0.0.1:0")
	addr := strings.TrimPrefix(srv.url, "http://")
	c := srv.client(t)

	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "banner", Type: snapshot.TypeString,
		Variants: snapshot.Variants{{Name: "first", Value: "first"}, {Name: "second", Value: "second"}, {Name: "third", Value: "third"}}})).OK(t)
	cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "banner", "production")).OK(t)
	cfg = testenv.Must(c.PutFlagConfig(ctx, "shop", "banner", "production",
		snapshot.Config{Enabled: true, OffVariant: "second", Default: snapshot.Serve{Variant: "first"}}, cfg.Version)).OK(t)
	key := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "checkout-service", domain.SDKKeyServer)).OK(t)

	opts := sdk.Options{ServerURL: srv.url, SDKKey: key.Secret, PollInterval: 200 * time.Millisecond, StartTimeout: 10 * time.Second}
	var clients []*sdk.Client
	for range 3 {
		sc, err := sdk.New(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sc.Close() })
		if !sc.Ready() {
			t.Fatal("a client is not ready after New with the server up")
		}
		clients = append(clients, sc)
	}
	allServe(t, "at start", "first", clients...)

	// The first client also serves an OpenFeature application, which hears the server go and
	// come back as provider events.
	events := make(chan openfeature.EventType, 16)
	domainName := t.Name()
	if err := openfeature.SetNamedProviderAndWait(domainName, ofprovider.New(clients[0])); err != nil {
		t.Fatal(err)
	}
	of := openfeature.NewClient(domainName)
	for _, typ := range []openfeature.EventType{openfeature.ProviderStale, openfeature.ProviderReady} {
		handler := func(openfeature.EventDetails) {
			select {
			case events <- typ:
			default:
			}
		}
		of.AddHandler(typ, &handler)
	}
	if v, err := of.StringValue(ctx, "banner", "x", openfeature.NewEvaluationContext("u1", nil)); err != nil || v != "first" {
		t.Fatalf("through OpenFeature: %q %v", v, err)
	}
	// A handler added to a ready provider runs at once.
	waitEvent(t, events, openfeature.ProviderReady)

	// A change through the API reaches every client over its stream.
	cfg = testenv.Must(c.ToggleFlag(ctx, "shop", "banner", "production", false, cfg.Version)).OK(t)
	allServe(t, "after the toggle", "second", clients...)

	// The server dies; the clients keep serving what they had.
	srv.kill()
	for range 5 {
		time.Sleep(100 * time.Millisecond)
		allServe(t, "with the server down", "second", clients...)
	}
	for _, sc := range clients {
		if !sc.Ready() {
			t.Fatal("a client stopped being ready when the server went away")
		}
	}
	waitEvent(t, events, openfeature.ProviderStale)

	// A client started now, with a bootstrap file, serves the bootstrap.
	boot := filepath.Join(t.TempDir(), "bootstrap.yaml")
	err := os.WriteFile(boot, []byte(`version: 1
flags:
  banner:
    type: string
    variants: {b: "from the bootstrap"}
    environments:
      production: {enabled: true, offVariant: b, default: {variant: b}}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	bootOpts := opts
	bootOpts.Bootstrap, bootOpts.StartTimeout = boot, 300*time.Millisecond
	start := time.Now()
	late, err := sdk.New(ctx, bootOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { late.Close() })
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("New waited %v with the server down and a 300ms start timeout", d)
	}
	if late.Ready() {
		t.Fatal("a client is ready with the server down")
	}
	allServe(t, "bootstrapped with the server down", "from the bootstrap", late)

	// The server comes back on the same address: the clients catch up by themselves.
	srv = startServerAt(t, dataDir, token, addr)
	c = srv.client(t)
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := late.WaitForReady(waitCtx); err != nil {
		t.Fatal(err)
	}
	allServe(t, "the bootstrapped client after the restart", "second", late)
	waitEvent(t, events, openfeature.ProviderReady)
	testenv.Must(c.PutFlagConfig(ctx, "shop", "banner", "production",
		snapshot.Config{Enabled: true, OffVariant: "second", Default: snapshot.Serve{Variant: "third"}}, cfg.Version)).OK(t)
	allServe(t, "after the restart and a change", "third", append(clients, late)...)

	for _, sc := range append(clients, late) {
		var buf strings.Builder
		if err := sc.SaveSnapshot(&buf); err != nil || !strings.Contains(buf.String(), `"third"`) {
			t.Fatal(errors.Join(err, fmt.Errorf("saved snapshot %s", buf.String())))
		}
	}
}
