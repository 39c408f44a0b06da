package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// The release-gate scenario: an event such as "load test finished" evaluates a gate
// over its window; bad telemetry fails it (and rolls the guarded flag back), good telemetry
// passes it, and `flagpilot gate evaluate` exits accordingly for CI pipelines.
func TestGateEvaluatedByAnEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startServerWith(t, newAdminToken(), append([]string{"--data-dir", t.TempDir()}, fastTicks...)...)
	c := srv.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-search", Type: snapshot.TypeBoolean})).OK(t)
	cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-search", "production")).OK(t)
	testenv.Must(c.PutFlagConfig(ctx, "shop", "new-search", "production",
		snapshot.Config{Enabled: true, Monitor: true, Default: snapshot.Serve{Variant: "on"}}, cfg.Version)).OK(t)
	key := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "search", domain.SDKKeyServer)).OK(t).Secret

	env := []string{"FLAGPILOT_URL=" + srv.url, "FLAGPILOT_TOKEN=" + srv.token, "FLAGPILOT_PROJECT=shop", "FLAGPILOT_ENV=production"}
	gateFile := filepath.Join(t.TempDir(), "gate.yaml")
	testenv.Must(0, os.WriteFile(gateFile, []byte(`key: search-slo
flag: new-search
rollbackOnFail: true
events: [load_test.finished]
objectives:
  - {name: errors, metric: error_rate, warning: 0.015, fail: 0.02}
  - {name: tail latency, metric: latency_p99, fail: 1000}
`), 0o600)).OK(t)
	if stdout, stderr, code := runBinaryEnv(t, env, "gate", "create", gateFile); code != exitOK || !strings.Contains(stdout, "search-slo") {
		t.Fatalf("gate create: exit %d\n%s%s", code, stdout, stderr)
	}
	fail := 0.02
	if _, err := c.CreateGate(ctx, domain.Gate{Project: "shop", Environment: "production", Key: "broken", Flag: "new-search",
		Objectives: []domain.Objective{{Name: "x", Metric: "cpu", Fail: &fail}}}); err == nil || !strings.Contains(err.Error(), "objectives[0].metric") {
		t.Errorf("a gate with an unknown metric: %v, want an error naming objectives[0].metric", err)
	}

	// loadTest sends 2,000 requests over about two seconds, one in failEvery failing, and
	// returns the window they fall in.
	loadTest := func(failEvery int) (time.Time, time.Time) {
		// Start on a fresh one-second window, so that no earlier test's telemetry shares it.
		from := time.Now().Truncate(time.Second).Add(time.Second)
		time.Sleep(time.Until(from))
		client, err := sdk.New(ctx, sdk.Options{ServerURL: srv.url, SDKKey: key, StartTimeout: 10 * time.Second, TelemetryInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, 6))
		for i := range 2000 {
			ec := sdk.MustContext(fmt.Sprintf("user-%d", i%500), nil)
			client.BoolValue(ctx, "new-search", false, ec)
			client.RecordRequest(ctx, ec, time.Duration(50+rng.IntN(200))*time.Millisecond, i%failEvery == 0)
			if i%100 == 99 {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if err := client.Close(); err != nil {
			t.Fatal(err)
		}
		return from, time.Now().Truncate(time.Second).Add(time.Second)
	}

	from, to := loadTest(17) // 5.9 % errors
	evs := testenv.Must(c.PostEvent(ctx, service.Event{Type: "load_test.finished", Project: "shop", Environment: "production", From: from, To: to})).OK(t)
	if len(evs) != 1 || evs[0].Result != domain.GateFail || !evs[0].RolledBack || evs[0].Objectives[0].Result != domain.GateFail {
		t.Fatalf("evaluation of bad telemetry: %+v, want a failure that rolled the flag back", evs)
	}
	if cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-search", "production")).OK(t); cfg.Enabled {
		t.Error("the failed gate left its flag on")
	}
	stdout, stderr, code := runBinaryEnv(t, env, "gate", "evaluate", "search-slo", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339))
	if code != exitFail || !strings.Contains(stdout, "fail") {
		t.Errorf("gate evaluate on bad telemetry: exit %d, want 1\n%s%s", code, stdout, stderr)
	}

	from, to = loadTest(500) // 0.2 %
	evs = testenv.Must(c.PostEvent(ctx, service.Event{Type: "load_test.finished", Project: "shop", Environment: "production", From: from, To: to})).OK(t)
	if len(evs) != 1 || evs[0].Result != domain.GatePass {
		t.Fatalf("evaluation of good telemetry: %+v, want a pass", evs)
	}
	stdout, stderr, code = runBinaryEnv(t, env, "gate", "evaluate", "search-slo", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339))
	if code != exitOK || !strings.Contains(stdout, "pass") {
		t.Errorf("gate evaluate on good telemetry: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	from, to = loadTest(57) // 1.75 %: above the warning, below the failure
	stdout, stderr, code = runBinaryEnv(t, env, "gate", "evaluate", "search-slo", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339))
	if code != 2 || !strings.Contains(stdout, "warning") {
		t.Errorf("gate evaluate between the thresholds: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	view := testenv.Must(c.GetGate(ctx, "shop", "production", "search-slo")).OK(t)
	if len(view.Evaluations) != 5 {
		t.Errorf("%d evaluations stored, want 5", len(view.Evaluations))
	}
}
