package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk"
)

// newBrowser starts a headless Chromium, Debian's package, for the test, with a profile of its
// own and nothing that reaches outside this machine.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("the browser tests need Chromium: apt-get install chromium (.ci/run installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// do runs browser actions, failing the test with what the page shows when one fails.
func do(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\nthe page says:\n%s", step, err, body)
	}
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("reading %s: %v", css, err)
	}
	return s
}

// The dashboard in a real browser against the real binary: sign in with the bootstrap token,
// create a flag, give it a rule with an invalid regex and see the error at its field, fix it,
// turn the flag on, start a guarded rollout, and watch the autopilot roll it back on the
// regression the SDK's traffic shows, in the decision timeline.
func TestDashboardInABrowser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startServerWith(t, newAdminToken(), "--data-dir", t.TempDir(), "--telemetry-window", "1s", "--telemetry-lateness", "1s")
	c := srv.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop", Name: "Shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	key := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "shop-service", domain.SDKKeyServer)).OK(t)
	client, err := sdk.New(ctx, sdk.Options{ServerURL: srv.url, SDKKey: key.Secret, StartTimeout: 10 * time.Second, TelemetryInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	// Users who get the new search fail five times as often.
	serveTraffic(t, client, func(ec sdk.Context) float64 {
		if client.BoolValue(ctx, "buggy-search", false, ec) {
			return 0.05
		}
		return 0.01
	})

	b := newBrowser(t)
	do(t, b, "sign in with the admin token",
		chromedp.Navigate(srv.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.Click(chromedp.CSS(".token-login summary")),
		chromedp.SendKeys(chromedp.CSS("#token"), srv.token),
		chromedp.Click(chromedp.CSS(".token-login button")),
		chromedp.WaitVisible(chromedp.CSS("#new-flag-form")))

	do(t, b, "create a flag",
		chromedp.SendKeys(chromedp.CSS("#f-key"), "buggy-search"),
		chromedp.SendKeys(chromedp.CSS("#f-desc"), "Search with the new ranking"),
		chromedp.SendKeys(chromedp.CSS("#f-tags"), "search"),
		chromedp.Click(chromedp.CSS("#new-flag-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#flag-envs")))
	if notice := text(t, b, ".notice"); !strings.Contains(notice, "buggy-search created") {
		t.Errorf("after creating: %q", notice)
	}

	do(t, b, "add a rule with an invalid regex",
		chromedp.Click(chromedp.CSS(`#env-production a[href*="/targeting"]`)),
		chromedp.WaitVisible(chromedp.CSS("#add-rule")),
		chromedp.Click(chromedp.CSS("#add-rule")),
		chromedp.WaitVisible(chromedp.CSS(`[name="rules.0.clauses.0.attribute"]`)),
		chromedp.SendKeys(chromedp.CSS(`[name="rules.0.name"]`), "staff"),
		chromedp.SendKeys(chromedp.CSS(`[name="rules.0.clauses.0.attribute"]`), "email"),
		chromedp.SetValue(chromedp.CSS(`[name="rules.0.clauses.0.op"]`), "matches"),
		chromedp.SendKeys(chromedp.CSS(`[name="rules.0.clauses.0.values"]`), "(@mycompany\\.com$"),
		chromedp.SendKeys(chromedp.CSS("#comment"), "staff first"),
		chromedp.Click(chromedp.CSS("#save-targeting")),
		chromedp.WaitVisible(chromedp.CSS("#targeting-error")))
	fieldErr := text(t, b, `[id="rules.0.clauses.0.values-error"]`)
	if !strings.Contains(fieldErr, "invalid regular expression") {
		t.Errorf("the values field shows %q, want the regex error", fieldErr)
	}
	if cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "buggy-search", "production")).OK(t); len(cfg.Rules) != 0 {
		t.Fatalf("the invalid rule was stored: %+v", cfg.Rules)
	}

	do(t, b, "fix the regex and save",
		chromedp.SetValue(chromedp.CSS(`[name="rules.0.clauses.0.values"]`), "@mycompany\\.com$"),
		chromedp.Click(chromedp.CSS("#save-targeting")),
		chromedp.WaitVisible(chromedp.CSS("#flag-envs")))
	if cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "buggy-search", "production")).OK(t); len(cfg.Rules) != 1 || cfg.Rules[0].Clauses[0].Values[0] != `@mycompany\.com$` {
		t.Fatalf("saved rules %+v", cfg.Rules)
	}

	do(t, b, "turn the flag on",
		chromedp.Click(chromedp.CSS("#env-production button.toggle")),
		chromedp.WaitVisible(chromedp.CSS("#env-production .badge.on")))

	do(t, b, "start a guarded rollout",
		chromedp.Click(chromedp.CSS(`#env-production a[href*="/rollout"]`)),
		chromedp.WaitVisible(chromedp.CSS("#rollout-start")),
		chromedp.SetValue(chromedp.CSS(`#rollout-start [name="steps"]`), "10, 50, 100"),
		chromedp.SetValue(chromedp.CSS(`#rollout-start [name="minSoak"]`), "3s"),
		chromedp.SetValue(chromedp.CSS(`#rollout-start [name="stepCap"]`), "6s"),
		chromedp.SetValue(chromedp.CSS(`#rollout-start [name="tick"]`), "1s"),
		chromedp.Click(chromedp.CSS("#start-rollout")),
		chromedp.WaitVisible(chromedp.CSS(".rollout-running")))
	if r := testenv.Must(c.GetRollout(ctx, "shop", "buggy-search", "production")).OK(t); r.Share != 10 || r.Decisions[0].Actor.Kind != "token" {
		t.Errorf("started rollout %+v, want 10 %% by the signed-in token", r)
	}

	// The page refreshes itself: the autopilot's rollback appears in the timeline.
	do(t, b, "see the rollback in the timeline",
		chromedp.WaitVisible(chromedp.CSS("#decisions li.action-rollback")))
	entry := text(t, b, "#decisions li.action-rollback")
	if !strings.Contains(entry, "autopilot") || !strings.Contains(entry, "error_rate") {
		t.Errorf("the rollback entry reads %q, want the autopilot and the error rate", entry)
	}

	// The flag's history and the audit log tell the same story, the autopilot's rollback last.
	for _, page := range []string{"/p/shop/flags/buggy-search?env=production", "/p/shop/audit?env=production"} {
		do(t, b, "open "+page, chromedp.Navigate(srv.url+page), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if history := text(t, b, "main"); !strings.Contains(history, "autopilot") || !strings.Contains(history, "staff first") {
			t.Errorf("%s lacks the autopilot's rollback or the comment of the targeting change:\n%s", page, history)
		}
	}
}
