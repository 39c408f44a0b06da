package service_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// An experiment's conversion guardrail keeps its own level and minimum detectable effect from
// the request to the stored plan the autopilot restores; out-of-range values are refused with
// the field named, and nothing is stored.
func TestRolloutPlanCarriesAGuardrailsLevelAndMDE(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	ed := as(domain.RoleEditor)
	must[domain.Flag](t)(f.svc.CreateFlag(ed, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean}))
	experiment := func(alpha, mde float64) service.RolloutSpec {
		return service.RolloutSpec{Plan: rollout.Plan{Steps: []float64{50, 100},
			Guardrails: []rollout.Guardrail{{Metric: rollout.ErrorRate}, {Metric: rollout.Conversion, Event: "checkout", Alpha: alpha, MDE: mde}}}}
	}

	for _, tc := range []struct {
		alpha, mde float64
		field      string
	}{{0.5, 0.03, "guardrails[1].alpha"}, {0.05, 1.2, "guardrails[1].mde"}} {
		_, err := f.svc.StartRollout(ed, "shop", "new-checkout", "production", experiment(tc.alpha, tc.mde))
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != "plan."+tc.field {
			t.Errorf("alpha %v, mde %v: err = %v, want invalid naming %s", tc.alpha, tc.mde, err, tc.field)
		}
	}
	if _, err := f.svc.GetRollout(admin, "shop", "new-checkout", "production"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("a refused plan left a rollout behind: %v", err)
	}

	r := must[domain.Rollout](t)(f.svc.StartRollout(ed, "shop", "new-checkout", "production", experiment(0.05, 0.03)))
	engine, err := service.EngineOf(r)
	if err != nil {
		t.Fatal(err)
	}
	g := engine.Plan().Guardrails[1]
	if g.Alpha != 0.05 || g.MDE != 0.03 {
		t.Errorf("restored conversion guardrail = %+v, want alpha 0.05 and mde 0.03", g)
	}
}

func TestStartRolloutNamesThePlanFieldAtFault(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	must[domain.Flag](t)(f.svc.CreateFlag(admin, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean}))
	for _, tc := range []struct {
		plan  rollout.Plan
		field string
	}{
		{rollout.Plan{Steps: []float64{5, 1, 100}}, "plan.steps[1]"},
		{rollout.Plan{MinSoak: rollout.Duration(time.Second), Tick: rollout.Duration(time.Minute)}, "plan.minSoak"},
		{rollout.Plan{Guardrails: []rollout.Guardrail{{Metric: rollout.ErrorRate, Tolerance: 0.6}}}, "plan.guardrails[0].margin"},
	} {
		_, err := f.svc.StartRollout(admin, "shop", "new-checkout", "production", service.RolloutSpec{Plan: tc.plan})
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != tc.field {
			t.Errorf("plan %+v: %v, want an invalid %s", tc.plan, err, tc.field)
		}
	}
	if _, err := f.svc.GetRollout(admin, "shop", "new-checkout", "production"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("after refused starts: %v, want no rollout stored", err)
	}
}

func TestListRolloutsLiveFirstWithTheirLastDecision(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	for _, key := range []string{"a", "b", "c", "d"} {
		must[domain.Flag](t)(f.svc.CreateFlag(admin, domain.Flag{Project: "shop", Key: key, Type: snapshot.TypeBoolean}))
	}
	start := func(flag, env string) {
		t.Helper()
		must[domain.Rollout](t)(f.svc.StartRollout(admin, "shop", flag, env, service.RolloutSpec{}))
		f.clock.Advance(time.Minute)
	}
	control := func(flag string, action service.RolloutAction) {
		t.Helper()
		must[domain.Rollout](t)(f.svc.ControlRollout(admin, "shop", flag, "production", action))
		f.clock.Advance(time.Minute)
	}
	// a: aborted, then started again and running; b: aborted; c: paused; d: ended earlier than b.
	start("a", "production")
	control("a", service.AbortRollout)
	start("d", "production")
	control("d", service.AbortRollout)
	start("b", "production")
	start("c", "production")
	control("b", service.AbortRollout)
	control("c", service.PauseRollout)
	start("a", "production")
	start("a", "staging")

	list := must[[]service.RolloutSummary](t)(f.svc.ListRollouts(admin, "shop", "production", 10))
	var got []string
	for _, r := range list {
		last := "none"
		if r.LastDecision != nil {
			last = r.LastDecision.Action
		}
		got = append(got, r.Flag+" "+string(r.Status)+" "+last)
	}
	want := []string{"a running started", "c paused paused", "b rolled_back aborted", "d rolled_back aborted"}
	if !slices.Equal(got, want) {
		t.Fatalf("ListRollouts = %v, want %v", got, want)
	}
	// The restarted rollout's last decision is its own start, not the earlier rollout's abort.
	if d := list[0].LastDecision; d.Reason != "started" || d.Time.Before(list[0].StartedAt) {
		t.Errorf("last decision of the restarted rollout: %+v", d)
	}

	list = must[[]service.RolloutSummary](t)(f.svc.ListRollouts(admin, "shop", "production", 1))
	if len(list) != 3 || list[2].Flag != "b" {
		t.Errorf("with one ended rollout: %+v, want a, c and the latest ended, b", list)
	}
	if _, err := f.svc.ListRollouts(admin, "shop", "nope", 10); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("an unknown environment: %v, want not found", err)
	}
}
