package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
)

func testRollouts(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	update(t, s, func(tx domain.Tx) error {
		if err := tx.CreateProject(ctx, newProject("shop")); err != nil {
			return err
		}
		if err := tx.CreateEnvironment(ctx, newEnv("shop", "prod")); err != nil {
			return err
		}
		if err := tx.CreateFlag(ctx, newFlag("shop", "f")); err != nil {
			return err
		}
		return tx.PutFlagConfig(ctx, newConfig("shop", "f", "prod"), 0)
	})
	r := domain.Rollout{
		Project: "shop", Environment: "prod", Flag: "f", Treatment: "zeta", Control: "alpha",
		Plan: json.RawMessage(`{"steps":[1,100]}`), Status: domain.RolloutRunning, Reason: "started", Share: 1,
		ConfigVersion: 2, State: json.RawMessage(`{"step":0}`), Observed: t0.Add(time.Minute), StartedAt: t0, UpdatedAt: t0,
	}
	put := func(r domain.Rollout, base int64) error {
		return try(t, s, func(tx domain.Tx) error { return tx.PutRollout(ctx, r, base) })
	}
	wantCode(t, "GetRollout before any", errOf(s.GetRollout(ctx, "shop", "f", "prod")), domain.CodeNotFound)
	check(t, put(r, 0))
	wantCode(t, "a second live rollout", put(r, 0), domain.CodeConflict)
	got, err := s.GetRollout(ctx, "shop", "f", "prod")
	check(t, err)
	r.Version = 1
	equal(t, "GetRollout", got, r)

	next := r
	next.Step, next.Share, next.Status, next.State = 1, 100, domain.RolloutCompleted, json.RawMessage(`{"step":1}`)
	wantCode(t, "an update based on a stale version", put(next, 7), domain.CodeConflict)
	check(t, put(next, 1))
	got, err = s.GetRollout(ctx, "shop", "f", "prod")
	check(t, err)
	if got.Version != 2 || got.Status != domain.RolloutCompleted || string(got.State) != `{"step":1}` {
		t.Errorf("after the update: %+v", got)
	}
	live, err := s.ListLiveRollouts(ctx)
	check(t, err)
	if len(live) != 0 {
		t.Errorf("ListLiveRollouts = %+v, want none once completed", live)
	}
	check(t, put(r, 0)) // a finished rollout gives way to a new one
	live, err = s.ListLiveRollouts(ctx)
	check(t, err)
	if len(live) != 1 || live[0].Version != 1 {
		t.Errorf("ListLiveRollouts = %+v, want the new rollout", live)
	}

	for i, action := range []string{"start", "advance", "rollback"} {
		d := &domain.RolloutDecision{Project: "shop", Environment: "prod", Flag: "f", Time: t0.Add(time.Duration(i) * time.Minute),
			Actor: domain.Actor{Kind: "autopilot", ID: "autopilot", Name: "autopilot"}, Action: action, Reason: "r" + action, Step: i, Share: 1}
		if action == "rollback" {
			d.Evidence = json.RawMessage(`[{"metric":"error_rate","logECritical":6.1}]`)
		}
		check(t, try(t, s, func(tx domain.Tx) error { return tx.AppendRolloutDecision(ctx, d) }))
		if d.ID == 0 {
			t.Errorf("decision %s has no id", action)
		}
	}
	ds, err := s.ListRolloutDecisions(ctx, "shop", "f", "prod", 2)
	check(t, err)
	if len(ds) != 2 || ds[0].Action != "rollback" || ds[1].Action != "advance" || ds[0].Actor.Kind != "autopilot" ||
		string(ds[0].Evidence) != `[{"metric":"error_rate","logECritical":6.1}]` || ds[1].Evidence != nil {
		t.Errorf("ListRolloutDecisions = %+v, want the two newest with their evidence", ds)
	}

	// ListRollouts: an environment's rollouts, one per flag, most recently started first.
	update(t, s, func(tx domain.Tx) error {
		for _, f := range []string{"g", "h"} {
			if err := tx.CreateFlag(ctx, newFlag("shop", f)); err != nil {
				return err
			}
			if err := tx.PutFlagConfig(ctx, newConfig("shop", f, "prod"), 0); err != nil {
				return err
			}
		}
		if err := tx.CreateEnvironment(ctx, newEnv("shop", "staging")); err != nil {
			return err
		}
		return tx.PutFlagConfig(ctx, newConfig("shop", "g", "staging"), 0)
	})
	ended := r
	ended.Flag, ended.Status, ended.StartedAt = "g", domain.RolloutRolledBack, t0.Add(time.Hour)
	check(t, put(ended, 0))
	older := r
	older.Flag, older.StartedAt = "h", t0.Add(-time.Hour)
	check(t, put(older, 0))
	elsewhere := r
	elsewhere.Flag, elsewhere.Environment, elsewhere.StartedAt = "g", "staging", t0.Add(2*time.Hour)
	check(t, put(elsewhere, 0))
	list, err := s.ListRollouts(ctx, "shop", "prod")
	check(t, err)
	equal(t, "ListRollouts flags", keys(list, func(r domain.Rollout) string { return r.Flag + " " + string(r.Status) }),
		[]string{"g rolled_back", "f running", "h running"})
	if list, err := s.ListRollouts(ctx, "shop", "nope"); err != nil || len(list) != 0 {
		t.Errorf("ListRollouts of an environment without any = %+v, %v; want none", list, err)
	}

	check(t, try(t, s, func(tx domain.Tx) error { return tx.DeleteFlag(ctx, "shop", "f") }))
	wantCode(t, "GetRollout of a deleted flag", errOf(s.GetRollout(ctx, "shop", "f", "prod")), domain.CodeNotFound)
}

// populateAutopilot adds a rollout of shop/f1 in prod with a decision, and a gate with an
// evaluation, to a project that populateProject made.
func populateAutopilot(ctx context.Context, tx domain.Tx) error {
	r := domain.Rollout{Project: "shop", Environment: "prod", Flag: "f1", Treatment: "zeta", Control: "alpha",
		Plan: json.RawMessage(`{"steps":[1,100]}`), Status: domain.RolloutRunning, Reason: "started", Share: 1,
		ConfigVersion: 2, State: json.RawMessage(`{"step":0}`), StartedAt: t0, UpdatedAt: t0}
	if err := tx.PutRollout(ctx, r, 0); err != nil {
		return err
	}
	actor := domain.Actor{Kind: "autopilot", ID: "autopilot", Name: "autopilot"}
	if err := tx.AppendRolloutDecision(ctx, &domain.RolloutDecision{Project: "shop", Environment: "prod", Flag: "f1",
		Time: t0, Actor: actor, Action: "hold", Reason: "warning:error_rate", Share: 1, Evidence: json.RawMessage(`[{"metric":"error_rate"}]`)}); err != nil {
		return err
	}
	limit := 0.02
	if err := tx.CreateGate(ctx, domain.Gate{Project: "shop", Environment: "prod", Key: "slo", Flag: "f1", Events: []string{"deploy.done"},
		Objectives: []domain.Objective{{Name: "errors", Metric: "error_rate", Direction: "max", Fail: &limit}}, Version: 1, CreatedAt: t0}); err != nil {
		return err
	}
	value := 0.01
	return tx.AppendGateEvaluation(ctx, &domain.GateEvaluation{Project: "shop", Environment: "prod", Gate: "slo", Time: t0,
		From: t0.Add(-time.Hour), To: t0, Trigger: "deploy.done", Actor: actor, Result: domain.GatePass,
		Objectives: []domain.Checked{{Name: "errors", Metric: "error_rate", Value: &value, Result: domain.GatePass, Fail: &limit}}})
}

func errOf[T any](_ T, err error) error { return err }
