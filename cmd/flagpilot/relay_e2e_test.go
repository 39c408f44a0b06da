package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// A relay follows its upstream: an SDK streaming from the relay sees a change made on the
// upstream, OFREP on the relay evaluates it, and the relay accepts its own key only.
func TestRelayServesTheUpstreamsChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	upstream := startServer(t, t.TempDir(), newAdminToken())
	c := upstream.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean})).OK(t)
	key := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "edge-relay", domain.SDKKeyServer)).OK(t)
	other := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "checkout-service", domain.SDKKeyServer)).OK(t)

	relay, _ := startServe(t, []string{"FLAGPILOT_SDK_KEY=" + key.Secret}, "--relay-from", upstream.url)

	streamCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream := sdkGet(streamCtx, t, relay.url+"/sdk/v1/stream", key.Secret)
	defer stream.Body.Close()
	events := bufio.NewReader(stream.Body)
	first := nextSnapshot(t, events)
	if first.Project != "shop" || first.Environment != "production" || len(first.Flags) != 1 || first.Flags[0].Enabled {
		t.Fatalf("the relay starts with %+v", first)
	}
	if got := status(ctx, t, http.MethodGet, relay.url+"/readyz", ""); got != http.StatusOK {
		t.Errorf("/readyz on the relay with a snapshot: %d", got)
	}
	if reason := ofrepReason(ctx, t, relay.url, key.Secret, "new-checkout"); reason != "DISABLED" {
		t.Fatalf("OFREP on the relay: reason %s for a disabled flag", reason)
	}

	testenv.Must(c.ToggleFlag(ctx, "shop", "new-checkout", "production", true, 0)).OK(t)
	// Ending the stream after a few seconds ends the wait for the change with a read error.
	late := time.AfterFunc(5*time.Second, func() {
		t.Logf("the toggle on the upstream did not reach the relay's stream within 5s\nupstream:\n%s\nrelay:\n%s", upstream.out, relay.out)
		cancel()
	})
	changed := nextSnapshot(t, events)
	late.Stop()
	if changed.Version <= first.Version || !changed.Flags[0].Enabled {
		t.Fatalf("after the toggle the relay sent version %d with %+v", changed.Version, changed.Flags[0])
	}
	if reason := ofrepReason(ctx, t, relay.url, key.Secret, "new-checkout"); reason != "DEFAULT" {
		t.Fatalf("OFREP on the relay: reason %s after the flag was turned on", reason)
	}

	// Another key of the same environment is valid upstream, but the relay knows only its own.
	for _, secret := range []string{other.Secret, "fps_wrong", ""} {
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, "/sdk/v1/snapshot"},
			{http.MethodGet, "/sdk/v1/stream"},
			{http.MethodPost, "/ofrep/v1/evaluate/flags/new-checkout"},
		} {
			if got := status(ctx, t, r.method, relay.url+r.path, secret); got != http.StatusUnauthorized {
				t.Errorf("%s %s on the relay with key %.8q: %d, want 401", r.method, r.path, secret, got)
			}
		}
	}
	// The relay has no management API.
	if got := status(ctx, t, http.MethodGet, relay.url+"/api/v1/projects", upstream.token); got != http.StatusNotFound {
		t.Errorf("the management API on the relay: %d, want 404", got)
	}
}

// status sends a request with an SDK key, if any, and returns the answer's status.
func status(ctx context.Context, t *testing.T, method, url, key string) int {
	t.Helper()
	req := testenv.Must(http.NewRequestWithContext(ctx, method, url, strings.NewReader(`{"context":{"targetingKey":"user-1"}}`))).OK(t)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp := testenv.Must(http.DefaultClient.Do(req)).OK(t)
	resp.Body.Close()
	return resp.StatusCode
}
