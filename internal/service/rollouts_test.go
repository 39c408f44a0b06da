package service_test

import (
	"errors"
	"strings"
	"testing"

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
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid || !strings.Contains(de.Message, tc.field) {
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
