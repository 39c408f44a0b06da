package ui_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/autopilot"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/internal/ui"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

const rolloutPage = "/p/shop/flags/new-checkout/rollout?env=production"

// noRollout fails the test when new-checkout has a rollout in production.
func (d *dashboard) noRollout(t *testing.T) {
	t.Helper()
	if r, err := d.svc.GetRollout(context.Background(), "shop", "new-checkout", "production"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("a rollout was stored: %+v, %v", r, err)
	}
}

func TestStartARolloutFromTheForm(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	b := d.browser(t)
	b.login(d.token)

	p := b.get(rolloutPage)
	if p.status != http.StatusOK {
		t.Fatalf("rollout page: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{`<form method="post" action="/p/shop/flags/new-checkout/rollout?env=production#start" id="rollout-start"`,
		`id="start-rollout"`, `name="steps" value="1, 5, 20, 50, 100"`, `<option selected>on</option>`, `name="guardrail.latency" value="true" checked`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the start form lacks %s", want)
		}
	}
	start := func(edit func(form map[string][]string)) page {
		t.Helper()
		form := formOf(t, b.last, "rollout-start")
		edit(form)
		return b.post("/p/shop/flags/new-checkout/rollout?env=production", form)
	}

	// Errors are shown at their fields, what was typed is kept, and nothing is stored.
	for _, tc := range []struct {
		name   string
		edit   func(map[string][]string)
		fields map[string]string // field → part of its error
	}{
		{"unreadable steps and soak", func(f map[string][]string) { f["steps"] = []string{"1, 5, x"}; f["minSoak"] = []string{"soon"} },
			map[string]string{"steps": `&#34;x&#34; is not a number`, "minSoak": `&#34;soon&#34; is not a duration`}},
		{"decreasing steps", func(f map[string][]string) { f["steps"] = []string{"5, 1, 100"} },
			map[string]string{"steps": "1 does not increase on the previous step 5"}},
		{"soak shorter than the tick", func(f map[string][]string) { f["minSoak"] = []string{"1s"}; f["tick"] = []string{"1m"} },
			map[string]string{"minSoak": "1s is shorter than the tick 1m0s"}},
		{"tolerance beyond the margin", func(f map[string][]string) { f["tolerance.latency"] = []string{"30"} },
			map[string]string{"tolerance.latency": "0.2 must exceed the tolerance 0.3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.get(rolloutPage)
			p := start(tc.edit)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="start-error"`) {
				t.Fatalf("%d\n%s", p.status, p.body)
			}
			for field, msg := range tc.fields {
				if !regexp.MustCompile(`id="` + regexp.QuoteMeta(field) + `-error" role="alert">[^<]*` + regexp.QuoteMeta(msg)).MatchString(p.body) {
					t.Errorf("no error %q at field %s", msg, field)
				}
			}
			if tc.name == "unreadable steps and soak" && !strings.Contains(p.body, `name="steps" value="1, 5, x"`) {
				t.Error("the steps as typed are not shown again")
			}
			d.noRollout(t)
		})
	}

	b.get(rolloutPage)
	p = start(func(f map[string][]string) {
		f["steps"], f["minSoak"], f["stepCap"], f["tick"] = []string{"10, 50, 100"}, []string{"3s"}, []string{"6s"}, []string{"1s"}
		f["tolerance.error_rate"] = []string{"5"}
		delete(f, "guardrail.latency")
		f["inconclusive"] = []string{"wait"}
		f["comment"] = []string{"ship the new checkout"}
	})
	if p.status != http.StatusSeeOther || p.location != "/p/shop/flags/new-checkout/rollout?env=production&notice=Rollout+of+new-checkout+in+production+started" {
		t.Fatalf("a valid start: %d to %q\n%s", p.status, p.location, p.body)
	}
	r := testenv.Must(d.svc.GetRollout(context.Background(), "shop", "new-checkout", "production")).OK(t)
	plan := testenv.Must(service.EngineOf(r)).OK(t).Plan()
	if r.Status != domain.RolloutRunning || r.Share != 10 || r.Treatment != "on" || r.Control != "off" ||
		!slices.Equal(plan.Steps, []float64{10, 50, 100}) || plan.MinSoak.D() != 3*time.Second || plan.Tick.D() != time.Second ||
		plan.Inconclusive != rollout.WaitWhenInconclusive || len(plan.Guardrails) != 1 || plan.Guardrails[0].Tolerance != 0.05 {
		t.Errorf("started %+v with plan %+v", r, plan)
	}
	events := testenv.Must(d.svc.ListAudit(admin(), domain.AuditFilter{ResourceType: "rollout", ResourceKey: "new-checkout"})).OK(t)
	if len(events) != 1 || events[0].Action != "rollout.started" || events[0].Comment != "ship the new checkout" {
		t.Errorf("audit of the start: %+v", events)
	}

	p = b.get(p.location)
	for _, want := range []string{`<span class="badge rollout-running">running</span>`, `<li class="now" aria-current="step">10 %`,
		`<section id="rollout-live" class="rollout" data-refresh="2"`, `id="pause-rollout"`, `<li class="decision action-started">`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page of the running rollout lacks %s", want)
		}
	}
	if strings.Contains(p.body, `id="rollout-start"`) {
		t.Error("a live rollout's page offers to start another")
	}
}

func TestRolloutControlsAreAuditedAsThePerson(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	ann, _ := d.user(t, "ann@example.com", domain.RoleEditor)
	vic, _ := d.user(t, "vic@example.com", domain.RoleViewer)
	ctx := context.Background()
	plan := rollout.Plan{Steps: []float64{10, 50, 100}}
	testenv.Must(d.svc.StartRollout(admin(), "shop", "new-checkout", "production", service.RolloutSpec{Plan: plan})).OK(t)

	control := func(action string) page {
		t.Helper()
		ann.get(rolloutPage)
		return ann.post("/p/shop/flags/new-checkout/rollout/"+action+"?env=production", map[string][]string{"csrf": {ann.csrf()}, "env": {"production"}})
	}
	for _, step := range []struct {
		action, event string
		status        domain.RolloutStatus
		share         float64
		button        string // the button the page then offers
	}{
		{"pause", "rollout.paused", domain.RolloutPaused, 10, `id="resume-rollout"`},
		{"resume", "rollout.resumed", domain.RolloutRunning, 10, `id="pause-rollout"`},
		{"advance", "rollout.advanced", domain.RolloutRunning, 50, `id="pause-rollout"`},
		{"abort", "rollout.aborted", domain.RolloutRolledBack, 0, `id="rollout-start"`},
	} {
		p := control(step.action)
		if p.status != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", step.action, p.status, p.body)
		}
		r := testenv.Must(d.svc.GetRollout(ctx, "shop", "new-checkout", "production")).OK(t)
		if r.Status != step.status || r.Share != step.share {
			t.Errorf("after %s: %s at %v %%, want %s at %v %%", step.action, r.Status, r.Share, step.status, step.share)
		}
		events := testenv.Must(d.svc.ListAudit(admin(), domain.AuditFilter{ResourceType: "rollout", ResourceKey: "new-checkout", Limit: 1})).OK(t)
		if e := events[0]; e.Action != step.event || e.Actor.Kind != string(auth.KindUser) || e.Actor.Name != "ann@example.com" {
			t.Errorf("after %s the audit log's latest event is %s by %+v, want %s by Ann", step.action, e.Action, e.Actor, step.event)
		}
		if page := ann.get(p.location); !strings.Contains(page.body, step.button) {
			t.Errorf("after %s the page lacks %s", step.action, step.button)
		}
	}
	if p := ann.get(rolloutPage); !strings.Contains(p.body, `<li class="decision action-aborted">`) || !strings.Contains(p.body, "Aborted by ann@example.com.") {
		t.Errorf("the decision log lacks Ann's abort:\n%s", p.body)
	}
	if p := control("pause"); p.status != http.StatusConflict {
		t.Errorf("pausing an ended rollout: %d, want 409", p.status)
	}
	if p := control("explode"); p.status != http.StatusNotFound {
		t.Errorf("an unknown action: %d, want 404", p.status)
	}

	// A viewer reads the page without its controls, and is refused the actions.
	testenv.Must(d.svc.StartRollout(admin(), "shop", "new-checkout", "production", service.RolloutSpec{Plan: plan})).OK(t)
	before := testenv.Must(d.svc.GetRollout(ctx, "shop", "new-checkout", "production")).OK(t)
	p := vic.get(rolloutPage)
	if p.status != http.StatusOK || strings.Contains(p.body, `id="pause-rollout"`) || strings.Contains(p.body, `id="abort-rollout"`) {
		t.Errorf("the viewer's page: %d, with controls:\n%s", p.status, p.body)
	}
	for _, action := range []string{"pause", "advance", "abort"} {
		if p := vic.post("/p/shop/flags/new-checkout/rollout/"+action+"?env=production", map[string][]string{"csrf": {vic.csrf()}, "env": {"production"}}); p.status != http.StatusForbidden {
			t.Errorf("a viewer's %s: %d, want 403", action, p.status)
		}
	}
	if after := testenv.Must(d.svc.GetRollout(ctx, "shop", "new-checkout", "production")).OK(t); after.Version != before.Version || after.Status != domain.RolloutRunning {
		t.Errorf("a viewer changed the rollout: %+v", after)
	}
}

// TestRolloutPageShowsTheGuardrailsAndDecisions drives a rollout with the autopilot over
// one-second telemetry windows: healthy long enough to advance, then with ten times the
// control's errors until it is rolled back. The page charts both arms by the second, marks the
// decisions, draws the error rate's tolerance, and logs every decision in words with its code.
func TestRolloutPageShowsTheGuardrailsAndDecisions(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := testenv.NewClock(t0.Add(-time.Minute))
	d := newDashboard(t, func(s *service.Options, u *ui.Options) {
		s.Now, u.Now, u.Window = clock.Now, clock.Now, time.Second
	})
	d.shop(t)
	ctx := context.Background()
	pilot := autopilot.New(d.store, d.store, d.svc, autopilot.Options{Window: time.Second, Now: clock.Now})
	// requests writes one second of request outcomes, 1,000 in all: errors per mille of each
	// arm's, on the configuration version serving then.
	requests := func(window time.Time, version int64, share float64, treatmentErrors, controlErrors int) {
		t.Helper()
		key := func(variant string) domain.TelemetryKey {
			return domain.TelemetryKey{Project: "shop", Environment: "production", Flag: "new-checkout", Variant: variant,
				Version: version, Metric: telemetry.RequestMetric, Window: window, Resolution: time.Second}
		}
		var aggs []domain.TelemetryAggregate
		for _, arm := range []struct {
			variant string
			n       int
			perMil  int
		}{{"on", int(share * 10), treatmentErrors}, {"off", 1000 - int(share*10), controlErrors}} {
			if arm.n == 0 {
				continue
			}
			durations := make([]float64, arm.n)
			for i := range durations {
				durations[i] = float64(80 + i%40)
			}
			aggs = append(aggs, testenv.Observations(key(arm.variant), int64(arm.n*arm.perMil/1000), durations...))
		}
		if err := d.store.SaveTelemetry(ctx, aggs, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A minute before the rollout, everyone on the control calibrates the error rate.
	for w := t0.Add(-time.Minute); w.Before(t0.Add(-time.Second)); w = w.Add(time.Second) {
		requests(w, 1, 0, 0, 10)
	}
	clock.Set(t0)
	plan := rollout.Plan{Steps: []float64{10, 50, 100}, Tick: rollout.Duration(time.Second), MinSoak: rollout.Duration(3 * time.Second),
		StepCap: rollout.Duration(5 * time.Second), Guardrails: []rollout.Guardrail{{Metric: rollout.ErrorRate, Tolerance: 0.1}, {Metric: rollout.Latency}}}
	testenv.Must(d.svc.StartRollout(admin(), "shop", "new-checkout", "production", service.RolloutSpec{Plan: plan})).OK(t)
	for tick := 1; ; tick++ {
		r := testenv.Must(d.svc.GetRollout(ctx, "shop", "new-checkout", "production")).OK(t)
		if !r.Live() {
			break
		}
		if tick > 120 {
			t.Fatalf("after two minutes the rollout is still %s at %v %%", r.Status, r.Share)
		}
		treatmentErrors := 10
		if r.Share >= 50 {
			treatmentErrors = 100
		}
		requests(clock.Now().Add(-time.Second), r.ConfigVersion, r.Share, treatmentErrors, 10)
		if err := pilot.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	r := testenv.Must(d.svc.GetRollout(ctx, "shop", "new-checkout", "production")).OK(t)
	if r.Status != domain.RolloutRolledBack || r.Reason != "critical:error_rate" {
		t.Fatalf("the rollout ended %s (%s), want rolled back on the error rate", r.Status, r.Reason)
	}

	b := d.browser(t)
	b.login(d.token)
	p := b.get(rolloutPage)
	if p.status != http.StatusOK {
		t.Fatalf("rollout page: %d\n%s", p.status, p.body)
	}
	charts := regexp.MustCompile(`(?s)<figure class="chart"><figcaption>([^<]*)</figcaption>(.*?)</figure>`).FindAllStringSubmatch(p.body, -1)
	if len(charts) != 2 || !strings.HasPrefix(charts[0][1], "Error rate") || !strings.HasPrefix(charts[1][1], "p95 latency") {
		t.Fatalf("charts %q, want the error rate's and the latency's", charts)
	}
	errorChart := charts[0][2]
	for _, want := range []string{`class="series treatment"`, `class="series control"`, `<g class="marker rollback">`,
		`advance → 50 %`, `<g class="threshold ">`, `tolerance: control +10 %`} {
		if !strings.Contains(errorChart, want) {
			t.Errorf("the error-rate chart lacks %s", want)
		}
	}
	// The rollout lasted seconds, so its points are seconds apart: one per window.
	points := strings.Count(errorChart, "<title>treatment (on) · ")
	if span := int(r.UpdatedAt.Sub(r.StartedAt).Seconds()); points < span-2 || points > span+1 {
		t.Errorf("the treatment's error rate has %d points over a %d s rollout, want one a second", points, span)
	}
	if !strings.Contains(charts[1][2], `<g class="marker rollback">`) || !strings.Contains(charts[1][2], `class="series treatment"`) {
		t.Error("the latency chart lacks the treatment's series or the rollback")
	}

	decisions := regexp.MustCompile(`<li class="decision action-([a-z_]+)">`).FindAllStringSubmatch(p.body, -1)
	var actions []string
	for _, m := range decisions {
		actions = append(actions, m[1])
	}
	if len(actions) < 3 || actions[0] != "rollback" || actions[len(actions)-1] != "started" || !slices.Contains(actions, "advance") {
		t.Errorf("decision log %v, want the rollback first, an advance and the start last", actions)
	}
	for _, want := range []string{
		`<span class="badge rollout-rolled_back">rolled back</span>`,
		`<li class="stopped">50 %`,
		`The treatment&#39;s error rate is proven worse than the control&#39;s beyond the tolerance, so it was rolled back.</span> <code class="reason-code">critical:error_rate</code>`,
		`by <span class="actor actor-autopilot">the autopilot</span>`,
		`<table class="list evidence" id="evidence">`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(p.body, "data-refresh") {
		t.Error("an ended rollout's page refreshes itself")
	}

	list := b.get("/p/shop/rollouts?env=production")
	ended := list.body[strings.Index(list.body, `id="ended-rollouts"`):]
	if list.status != http.StatusOK || !strings.Contains(ended, `href="/p/shop/flags/new-checkout/rollout?env=production"`) ||
		!strings.Contains(ended, `<td class="last-decision action-rollback">`) || !strings.Contains(ended, "critical:error_rate") {
		t.Errorf("the rollouts page does not list the ended rollout with its last decision:\n%s", list.body)
	}
	if !strings.Contains(list.body, "No rollout is running in production") {
		t.Error("the rollouts page lists a live rollout")
	}
}
