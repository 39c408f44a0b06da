package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/internal/ui"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

const gateDefinition = `key: checkout-slo
description: Checkout holds up under load
flag: new-checkout
events: [load_test.finished]
objectives:
  - {name: errors, metric: error_rate, fail: 0.05}
  - {name: p95, metric: latency_p95, warning: 100, fail: 1000}
`

func TestGatePages(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := testenv.NewClock(now)
	d := newDashboard(t, func(s *service.Options, u *ui.Options) { s.Now, u.Now = clock.Now, clock.Now })
	d.shop(t)
	ctx := context.Background()
	// Ten minutes of requests: 2 % fail, durations 100 to 199 ms.
	var aggs []domain.TelemetryAggregate
	for m := 1; m <= 10; m++ {
		durations := make([]float64, 100)
		for i := range durations {
			durations[i] = float64(100 + i)
		}
		aggs = append(aggs, testenv.Observations(domain.TelemetryKey{Project: "shop", Environment: "production", Flag: "new-checkout",
			Variant: "off", Version: 1, Metric: telemetry.RequestMetric, Window: now.Add(-time.Duration(m) * time.Minute), Resolution: time.Minute}, 2, durations...))
	}
	if err := d.store.SaveTelemetry(ctx, aggs, nil); err != nil {
		t.Fatal(err)
	}
	b := d.browser(t)
	b.login(d.token)
	p := b.get("/p/shop/gates?env=production")
	if p.status != http.StatusOK || !strings.Contains(p.body, "No gate in production yet.") || !strings.Contains(p.body, `id="new-gate-form"`) {
		t.Fatalf("gates page: %d\n%s", p.status, p.body)
	}
	create := func(definition string) page {
		t.Helper()
		b.get("/p/shop/gates?env=production")
		return b.post("/p/shop/gates?env=production", url.Values{"csrf": {b.csrf()}, "env": {"production"}, "definition": {definition}})
	}

	// A bad objective is shown with its path and the definition kept; so is text that is no gate.
	bad := strings.Replace(gateDefinition, "metric: latency_p95", "metric: latency_p42", 1)
	p = create(bad)
	if p.status != http.StatusBadRequest ||
		!regexp.MustCompile(`id="definition-error" role="alert"><code>objectives\[1\]\.metric</code>: &#34;latency_p42&#34; is not one of`).MatchString(p.body) ||
		!strings.Contains(p.body, "metric: latency_p42, warning: 100") {
		t.Errorf("a bad objective: %d\n%s", p.status, p.body)
	}
	if p := create("key: x\nthreshold: 3\n"); p.status != http.StatusBadRequest || !strings.Contains(p.body, `not a gate definition: json: unknown field &#34;threshold&#34;`) {
		t.Errorf("an unknown field: %d\n%s", p.status, p.body)
	}
	if gates := testenv.Must(d.svc.ListGates(ctx, "shop", "production")).OK(t); len(gates) != 0 {
		t.Fatalf("refused definitions stored gates: %+v", gates)
	}

	p = create(gateDefinition)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/p/shop/gates/checkout-slo?env=production&notice=") {
		t.Fatalf("a valid gate: %d to %q\n%s", p.status, p.location, p.body)
	}
	g := testenv.Must(d.svc.GetGate(ctx, "shop", "production", "checkout-slo")).OK(t)
	if g.Flag != "new-checkout" || len(g.Objectives) != 2 || g.Objectives[1].Direction != "max" {
		t.Errorf("created %+v", g.Gate)
	}
	list := b.get("/p/shop/gates?env=production")
	if !strings.Contains(list.body, `<tr id="gate-checkout-slo">`) || !strings.Contains(list.body, "never evaluated") || !strings.Contains(list.body, "<code>error_rate</code>, fail above 5.00 %") {
		t.Errorf("the gate list lacks the new gate:\n%s", list.body)
	}

	// Evaluate: a range that does not parse is shown at its field, and nothing is evaluated.
	evaluate := func(from, to string) page {
		t.Helper()
		b.get("/p/shop/gates/checkout-slo?env=production")
		return b.post("/p/shop/gates/checkout-slo/evaluate?env=production", url.Values{"csrf": {b.csrf()}, "env": {"production"}, "from": {from}, "to": {to}})
	}
	if p := evaluate("yesterday", "now"); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="from-error" role="alert">&#34;yesterday&#34; is not a time`) {
		t.Errorf("an unreadable from: %d\n%s", p.status, p.body)
	}
	if p := evaluate("now", "15m"); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="to-error" role="alert">must be after from`) {
		t.Errorf("a reversed range: %d\n%s", p.status, p.body)
	}
	if g := testenv.Must(d.svc.GetGate(ctx, "shop", "production", "checkout-slo")).OK(t); len(g.Evaluations) != 0 {
		t.Fatalf("refused ranges were evaluated: %+v", g.Evaluations)
	}
	p = evaluate("15m", "now")
	if p.status != http.StatusSeeOther || !strings.Contains(p.location, "notice=Gate+checkout-slo%3A+warning") {
		t.Fatalf("evaluating: %d to %q\n%s", p.status, p.location, p.body)
	}
	g = testenv.Must(d.svc.GetGate(ctx, "shop", "production", "checkout-slo")).OK(t)
	if len(g.Evaluations) != 1 || g.Evaluations[0].Trigger != "dashboard" || !g.Evaluations[0].From.Equal(now.Add(-15*time.Minute)) {
		t.Fatalf("evaluations %+v", g.Evaluations)
	}
	events := testenv.Must(d.svc.ListAudit(admin(), domain.AuditFilter{ResourceType: "gate", ResourceKey: "checkout-slo", Limit: 1})).OK(t)
	if events[0].Action != "gate.warning" || events[0].Actor.Kind != "token" {
		t.Errorf("audit of the evaluation: %+v", events[0])
	}

	// The history: the result, each objective's outcome and value, the trigger and range.
	p = b.get(p.location)
	history := p.body[strings.Index(p.body, `id="evaluations"`):]
	for _, want := range []string{
		`<span class="badge result-warning">warning</span>`,
		`<span class="badge result-pass">pass</span> <span class="value nowrap">2.00 %</span>`,
		`<span class="badge result-warning">warning</span> <span class="value nowrap">`,
		`<code>dashboard</code>`,
		`2026-03-02 08:45:00 → 09:00:00 UTC`,
	} {
		if !strings.Contains(history, want) {
			t.Errorf("the evaluation history lacks %s", want)
		}
	}
	if list := b.get("/p/shop/gates?env=production"); !strings.Contains(list.body, `<span class="badge result-warning">warning</span>`) {
		t.Error("the gate list does not show the last result")
	}

	b.get("/p/shop/gates/checkout-slo?env=production")
	p = b.post("/p/shop/gates/checkout-slo/delete?env=production", url.Values{"csrf": {b.csrf()}, "env": {"production"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/p/shop/gates?env=production&notice=") {
		t.Fatalf("deleting: %d to %q", p.status, p.location)
	}
	if _, err := d.svc.GetGate(ctx, "shop", "production", "checkout-slo"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("after deleting: %v", err)
	}
}

// TestRolloutAndGateRoutesNeedTheirRole checks every rollout and gate route: without a
// session pages send to the sign-in form and forms are refused; a viewer reads the pages but
// is refused the changes, which leave everything as it was.
func TestRolloutAndGateRoutesNeedTheirRole(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	ctx := context.Background()
	testenv.Must(d.svc.StartRollout(admin(), "shop", "new-checkout", "production", service.RolloutSpec{})).OK(t)
	testenv.Must(d.svc.CreateGate(admin(), domain.Gate{Project: "shop", Environment: "production", Key: "slo", Flag: "new-checkout",
		Objectives: []domain.Objective{{Name: "errors", Metric: "error_rate", Fail: new(0.05)}}})).OK(t)
	pages := []string{
		"/p/shop/rollouts?env=production",
		"/p/shop/flags/new-checkout/rollout?env=production",
		"/p/shop/gates?env=production",
		"/p/shop/gates/slo?env=production",
	}
	forms := []string{
		"/p/shop/flags/new-checkout/rollout?env=production",
		"/p/shop/flags/new-checkout/rollout/pause?env=production",
		"/p/shop/flags/new-checkout/rollout/abort?env=production",
		"/p/shop/gates?env=production",
		"/p/shop/gates/slo/evaluate?env=production",
		"/p/shop/gates/slo/delete?env=production",
	}

	anonymous := d.browser(t)
	for _, path := range pages {
		if p := anonymous.get(path); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login?next=") {
			t.Errorf("GET %s without a session: %d to %q, want the sign-in page", path, p.status, p.location)
		}
	}
	for _, path := range forms {
		if p := anonymous.post(path, url.Values{"env": {"production"}}); p.status != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %d, want 401", path, p.status)
		}
	}

	viewer, _ := d.user(t, "vic@example.com", domain.RoleViewer)
	for _, path := range pages {
		p := viewer.get(path)
		if p.status != http.StatusOK {
			t.Errorf("GET %s as a viewer: %d", path, p.status)
		}
		for _, control := range []string{`id="rollout-start"`, `id="pause-rollout"`, `id="new-gate-form"`, `id="evaluate-form"`, `id="delete-gate"`} {
			if strings.Contains(p.body, control) {
				t.Errorf("GET %s as a viewer offers %s", path, control)
			}
		}
	}
	form := url.Values{"csrf": {viewer.csrf()}, "env": {"production"}, "from": {"15m"}, "definition": {gateDefinition}, "steps": {"1, 100"}}
	for _, path := range forms {
		if p := viewer.post(path, form); p.status != http.StatusForbidden {
			t.Errorf("POST %s as a viewer: %d, want 403", path, p.status)
		}
	}
	if r := testenv.Must(d.svc.GetRollout(ctx, "shop", "new-checkout", "production")).OK(t); r.Status != domain.RolloutRunning || r.Version != 1 {
		t.Errorf("refused forms changed the rollout: %+v", r)
	}
	gates := testenv.Must(d.svc.ListGates(ctx, "shop", "production")).OK(t)
	if v := testenv.Must(d.svc.GetGate(ctx, "shop", "production", "slo")).OK(t); len(gates) != 1 || len(v.Evaluations) != 0 {
		t.Errorf("refused forms changed the gates: %+v, evaluations %+v", gates, v.Evaluations)
	}
}
