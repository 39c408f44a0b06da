package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// The autopilot end to end, on one-second ticks: real SDK traffic
// where the "on" variant of one flag has five times the errors. Its guarded rollout, started
// through the API, is rolled back by the autopilot, which the audit log shows with the
// evidence and a webhook announces; a healthy flag's rollout ramps to 100 % by itself.
func TestAutopilotRollsBackARegressionAndShipsAHealthyFlag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	var mu sync.Mutex
	var events []domain.WebhookEvent
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e domain.WebhookEvent
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &e) == nil {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	}))
	t.Cleanup(hook.Close)

	srv := startServerWith(t, newAdminToken(), "--data-dir", t.TempDir(), "--telemetry-window", "1s", "--telemetry-lateness", "1s")
	c := srv.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	for _, f := range []string{"buggy-search", "fast-cart"} {
		testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: f, Type: snapshot.TypeBoolean})).OK(t)
	}
	testenv.Must(c.CreateWebhook(ctx, service.WebhookSpec{URL: hook.URL, Events: []string{"rollout.*"}})).OK(t)
	key := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "shop-service", domain.SDKKeyServer)).OK(t)

	client, err := sdk.New(ctx, sdk.Options{ServerURL: srv.url, SDKKey: key.Secret, StartTimeout: 10 * time.Second, TelemetryInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	// Users that buggy-search serves "on" fail five times as often.
	serveTraffic(t, client, func(ec sdk.Context) float64 {
		client.BoolValue(ctx, "fast-cart", false, ec)
		if client.BoolValue(ctx, "buggy-search", false, ec) {
			return 0.05
		}
		return 0.01
	})

	plan := rollout.Plan{Steps: []float64{10, 50, 100}, Tick: rollout.Duration(time.Second),
		MinSoak: rollout.Duration(3 * time.Second), StepCap: rollout.Duration(6 * time.Second)}
	// A few seconds of traffic before the rollouts calibrate the error dispersion.
	time.Sleep(3 * time.Second)
	for _, f := range []string{"buggy-search", "fast-cart"} {
		r := testenv.Must(c.StartRollout(ctx, "shop", f, "production", service.RolloutSpec{Plan: plan})).OK(t)
		if r.Status != domain.RolloutRunning || r.Share != 10 {
			t.Fatalf("%s: started rollout %+v", f, r)
		}
	}
	if _, err := c.StartRollout(ctx, "shop", "fast-cart", "production", service.RolloutSpec{Plan: plan}); !apiclient.IsConflict(err) {
		t.Errorf("a second rollout of a live one: %v, want a conflict", err)
	}

	bad := waitRollout(t, c, "buggy-search", domain.RolloutRolledBack)
	if !strings.HasPrefix(bad.Reason, "critical:error_rate") && bad.Reason != "circuit_breaker" {
		t.Errorf("rolled back for %q, want the error rate", bad.Reason)
	}
	last := bad.Decisions[0]
	if last.Action != "rollback" || last.Actor.Kind != "autopilot" || len(last.Evidence) == 0 {
		t.Errorf("last decision %+v, want the autopilot's rollback with evidence", last)
	}
	cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "buggy-search", "production")).OK(t)
	if cfg.Default.Variant != "off" {
		t.Errorf("after the rollback the flag serves %+v by default, want off", cfg.Default)
	}
	audit := testenv.Must(c.ListAudit(ctx, apiclient.AuditQuery{ResourceType: "rollout", ResourceKey: "buggy-search"})).OK(t)
	var found bool
	for _, e := range audit.Items {
		if e.Action == "rollout.rolled_back" && e.Actor.Kind == "autopilot" && strings.Contains(e.Comment, "error_rate") {
			found = true
		}
	}
	if !found {
		t.Errorf("no audited rollback by the autopilot with its evidence among %d events", len(audit.Items))
	}

	good := waitRollout(t, c, "fast-cart", domain.RolloutCompleted)
	if good.Share != 100 {
		t.Errorf("completed rollout at %v%%", good.Share)
	}
	env := []string{"FLAGPILOT_URL=" + srv.url, "FLAGPILOT_TOKEN=" + srv.token, "FLAGPILOT_PROJECT=shop", "FLAGPILOT_ENV=production"}
	stdout, stderr, code := runBinaryEnv(t, env, "rollouts", "status", "buggy-search")
	if code != exitOK || !strings.Contains(stdout, "rolled_back") || !strings.Contains(stdout, "autopilot") {
		t.Errorf("rollouts status: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := runBinaryEnv(t, env, "rollouts", "pause", "fast-cart"); code != exitFail || !strings.Contains(stderr, "completed") {
		t.Errorf("pausing a completed rollout: exit %d: %s", code, stderr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		var rolledBack, completed bool
		for _, e := range events {
			rolledBack = rolledBack || (e.Type == "rollout.rolled_back" && e.Resource.Key == "buggy-search")
			completed = completed || (e.Type == "rollout.completed" && e.Resource.Key == "fast-cart")
		}
		mu.Unlock()
		if rolledBack && completed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook received rolled_back %v, completed %v", rolledBack, completed)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serveTraffic sends 4,000 requests a second from 20,000 users through client until the test
// ends: each request evaluates what failRate evaluates, and fails with the probability it
// returns, and its outcome is recorded for the flags' variants.
func serveTraffic(t *testing.T, client *sdk.Client, failRate func(sdk.Context) float64) {
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		contexts := make([]sdk.Context, 20000)
		for i := range contexts {
			contexts[i] = sdk.MustContext(fmt.Sprintf("user-%d", i), nil)
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for range 200 {
				ec := contexts[rng.IntN(len(contexts))]
				p := failRate(ec)
				client.RecordRequest(ctx, ec, time.Duration(50+rng.IntN(100))*time.Millisecond, rng.Float64() < p)
			}
		}
	})
	t.Cleanup(func() { stop(); wg.Wait() })
}

// waitRollout waits until a flag's rollout reaches status, failing on any other final one.
func waitRollout(t *testing.T, c *apiclient.Client, flag string, status domain.RolloutStatus) service.RolloutView {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := testenv.Must(c.GetRollout(context.Background(), "shop", flag, "production")).OK(t)
		if r.Status == status {
			return r
		}
		if !r.Live() || time.Now().After(deadline) {
			t.Fatalf("%s: rollout %s (%s) at %v%%, want %s; decisions %+v", flag, r.Status, r.Reason, r.Share, status, r.Decisions)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
