package main

import (
	"context"
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

var fastTicks = []string{"--telemetry-window", "1s", "--telemetry-lateness", "1s"}

// healthyTraffic sends serveTraffic's requests, with a 1 % error rate for every variant of
// fast-cart, through an SDK client of the server at url, until the test ends.
func healthyTraffic(t *testing.T, url, key string) {
	t.Helper()
	ctx := context.Background()
	client, err := sdk.New(ctx, sdk.Options{ServerURL: url, SDKKey: key, StartTimeout: 10 * time.Second, TelemetryInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	serveTraffic(t, client, func(ec sdk.Context) float64 {
		client.BoolValue(ctx, "fast-cart", false, ec)
		return 0.01
	})
}

// setUpShop creates the project, environment, flag and a server SDK key.
func setUpShop(t *testing.T, c *apiclient.Client) string {
	t.Helper()
	ctx := context.Background()
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "fast-cart", Type: snapshot.TypeBoolean})).OK(t)
	return testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "shop-service", domain.SDKKeyServer)).OK(t).Secret
}

var slowPlan = rollout.Plan{Steps: []float64{10, 30, 60, 100}, Tick: rollout.Duration(time.Second),
	MinSoak: rollout.Duration(3 * time.Second), StepCap: rollout.Duration(4 * time.Second)}

// waitShare waits until the rollout serves at least share.
func waitShare(t *testing.T, c *apiclient.Client, share float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := c.GetRollout(context.Background(), "shop", "fast-cart", "production")
		if err == nil && r.Share >= share {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rollout did not reach %v%%: %+v, %v", share, r, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkEachStepOnce checks that the completed rollout advanced exactly once into every step.
func checkEachStepOnce(t *testing.T, r service.RolloutView) {
	t.Helper()
	seen := map[float64]int{}
	for _, d := range r.Decisions {
		if d.Action == "advance" || d.Action == "completed" {
			seen[d.Share]++
		}
	}
	for _, share := range slowPlan.Steps[1:] {
		if seen[share] != 1 {
			t.Errorf("advanced into %v%% %d times, want once; decisions %+v", share, seen[share], r.Decisions)
		}
	}
}

// Two replicas on one PostgreSQL database: one ticks the rollout at a time (an advisory lock);
// when the one serving the API is killed mid-rollout, the other carries it to 100 %, and no
// step is applied twice.
func TestRolloutSurvivesItsReplica(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresSchema(t)
	token := newAdminToken()
	a := startServerWith(t, token, append([]string{"--database-url", dbURL}, fastTicks...)...)
	b := startServerWith(t, token, append([]string{"--database-url", dbURL}, fastTicks...)...)
	key := setUpShop(t, a.client(t))
	healthyTraffic(t, b.url, key)
	time.Sleep(2 * time.Second)
	testenv.Must(a.client(t).StartRollout(context.Background(), "shop", "fast-cart", "production", service.RolloutSpec{Plan: slowPlan})).OK(t)
	waitShare(t, b.client(t), 30)
	a.kill()
	r := waitRollout(t, b.client(t), "fast-cart", domain.RolloutCompleted)
	checkEachStepOnce(t, r)
}

// A server killed mid-rollout and restarted on the same data continues the rollout where it
// was, with no step applied twice.
func TestRolloutSurvivesARestart(t *testing.T) {
	t.Parallel()
	dir, token := t.TempDir(), newAdminToken()
	srv := startServerAt(t, dir, token, "127.0.0.1:0")
	args := append([]string{"--data-dir", dir, "--addr", srv.url[len("http://"):]}, fastTicks...)
	srv.kill()
	srv = startServerWith(t, token, args...)
	key := setUpShop(t, srv.client(t))
	healthyTraffic(t, srv.url, key)
	time.Sleep(2 * time.Second)
	testenv.Must(srv.client(t).StartRollout(context.Background(), "shop", "fast-cart", "production", service.RolloutSpec{Plan: slowPlan})).OK(t)
	waitShare(t, srv.client(t), 30)
	srv.kill()
	srv = startServerWith(t, token, args...)
	r := waitRollout(t, srv.client(t), "fast-cart", domain.RolloutCompleted)
	checkEachStepOnce(t, r)
}
