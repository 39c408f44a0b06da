package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// RolloutSpec is what a person asks for when starting a guarded rollout.
type RolloutSpec struct {
	// Treatment and Control are the variants compared; for boolean flags they default to
	// "on" and "off".
	Treatment string `json:"treatment,omitempty"`
	Control   string `json:"control,omitempty"`
	// Plan is the rollout plan; omitted fields take the autopilot's defaults.
	Plan rollout.Plan `json:"plan"`
}

// RolloutView is a rollout with its latest decisions, newest first.
type RolloutView struct {
	domain.Rollout
	Decisions []domain.RolloutDecision `json:"decisions"`
}

// RolloutAction is what a person can do to a live rollout.
type RolloutAction string

const (
	PauseRollout   RolloutAction = "pause"
	ResumeRollout  RolloutAction = "resume"
	AdvanceRollout RolloutAction = "advance"
	AbortRollout   RolloutAction = "abort" // roll back to the control
)

// GetRollout returns the rollout of a flag in an environment.
func (s *Service) GetRollout(ctx context.Context, project, flag, env string) (domain.Rollout, error) {
	return s.store.GetRollout(ctx, project, flag, env)
}

// RolloutSummary is a rollout with its latest decision, nil when it has none yet.
type RolloutSummary struct {
	domain.Rollout
	LastDecision *domain.RolloutDecision `json:"lastDecision,omitempty"`
}

// ListRollouts returns an environment's rollouts, one per flag that had any: the live ones, then
// at most ended of those that have ended, each group newest first.
func (s *Service) ListRollouts(ctx context.Context, project, env string, ended int) ([]RolloutSummary, error) {
	if _, err := s.store.GetEnvironment(ctx, project, env); err != nil {
		return nil, err
	}
	all, err := s.store.ListRollouts(ctx, project, env)
	if err != nil {
		return nil, err
	}
	// Live ones first; the store's order (newest first) holds within each group.
	slices.SortStableFunc(all, func(a, b domain.Rollout) int {
		switch {
		case a.Live() == b.Live():
			return 0
		case a.Live():
			return -1
		}
		return 1
	})
	out := make([]RolloutSummary, 0, len(all))
	for _, r := range all {
		if !r.Live() {
			if ended == 0 {
				break
			}
			ended--
		}
		sum := RolloutSummary{Rollout: r}
		last, err := s.store.ListRolloutDecisions(ctx, project, r.Flag, env, 1)
		if err != nil {
			return nil, err
		}
		// Decisions are kept by flag and environment: the latest may be an earlier rollout's.
		if len(last) == 1 && !last[0].Time.Before(r.StartedAt) {
			sum.LastDecision = &last[0]
		}
		out = append(out, sum)
	}
	return out, nil
}

// ListRolloutDecisions returns a rollout's decisions, newest first.
func (s *Service) ListRolloutDecisions(ctx context.Context, project, flag, env string, limit int) ([]domain.RolloutDecision, error) {
	if _, err := s.store.GetRollout(ctx, project, flag, env); err != nil {
		return nil, err
	}
	return s.store.ListRolloutDecisions(ctx, project, flag, env, limit)
}

// StartRollout starts a guarded rollout: the flag is turned on, monitored, and serves the
// treatment to the first step's share by default (rules keep serving whom they target), and
// the autopilot decides from the next tick.
func (s *Service) StartRollout(ctx context.Context, project, flag, env string, spec RolloutSpec) (domain.Rollout, error) {
	var out domain.Rollout
	err := s.write(ctx, domain.RoleEditor, func(t *txn) error {
		f, err := t.GetFlag(t.ctx, project, flag)
		if err != nil {
			return err
		}
		if spec.Treatment == "" && spec.Control == "" && f.Type == snapshot.TypeBoolean {
			spec.Treatment, spec.Control = "on", "off"
		}
		for _, v := range [...]struct{ field, name string }{{"treatment", spec.Treatment}, {"control", spec.Control}} {
			if f.Variants.Index(v.name) < 0 {
				return domain.FieldErrorf(v.field, "%q is not a variant of %s (expected one of its variants)", v.name, flag)
			}
		}
		if spec.Treatment == spec.Control {
			return domain.FieldErrorf("control", "must differ from the treatment %q", spec.Treatment)
		}
		plan := spec.Plan.WithDefaults()
		engine, err := rollout.New(plan, t.now)
		var pe *rollout.PlanError
		if errors.As(err, &pe) {
			return domain.FieldErrorf("plan."+pe.Field, "%s", pe.Message)
		}
		if err != nil {
			return err
		}
		if cur, err := t.GetRollout(t.ctx, project, flag, env); err == nil && cur.Live() {
			return domain.Errorf(domain.CodeConflict, "a rollout of %s in %s is already %s; abort it first", flag, env, cur.Status)
		} else if err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
			return err
		}
		cfg, err := t.serveShare(project, flag, env, spec.Treatment, spec.Control, engine.Share())
		if err != nil {
			return err
		}
		planJSON, _ := json.Marshal(plan) // plain data
		r := domain.Rollout{
			Project: project, Environment: env, Flag: flag, Treatment: spec.Treatment, Control: spec.Control,
			Plan: planJSON, Status: domain.RolloutRunning, Reason: "started", Share: engine.Share(),
			ConfigVersion: cfg.Version, StartedAt: t.now,
		}
		out, err = t.saveRollout(r, 0, engine, "rollout.started", nil)
		return err
	})
	return out, err
}

// ControlRollout applies a person's action to a live rollout. The autopilot sees the new
// state at its next tick and respects it: a paused rollout waits, an advanced one soaks again,
// an aborted one is over.
func (s *Service) ControlRollout(ctx context.Context, project, flag, env string, action RolloutAction) (domain.Rollout, error) {
	var out domain.Rollout
	err := s.write(ctx, domain.RoleEditor, func(t *txn) error {
		r, engine, err := t.liveRollout(project, flag, env)
		if err != nil {
			return err
		}
		base := r.Version
		switch action {
		case PauseRollout:
			if r.Status != domain.RolloutRunning {
				return domain.Errorf(domain.CodeConflict, "the rollout is %s, not running", r.Status)
			}
			r.Status, r.Reason = domain.RolloutPaused, "paused by "+t.actor.Name
			out, err = t.saveRollout(r, base, engine, "rollout.paused", nil)
		case ResumeRollout:
			if r.Status != domain.RolloutPaused {
				return domain.Errorf(domain.CodeConflict, "the rollout is %s, not paused", r.Status)
			}
			r.Status, r.Reason = domain.RolloutRunning, "resumed by "+t.actor.Name
			out, err = t.saveRollout(r, base, engine, "rollout.resumed", nil)
		case AdvanceRollout:
			out, err = t.advance(r, engine, "advanced by "+t.actor.Name, nil)
		case AbortRollout:
			out, err = t.rollBack(r, engine, "aborted by "+t.actor.Name, "rollout.aborted", nil)
		default:
			return domain.FieldErrorf("action", "%q is not one of pause, resume, advance, abort", action)
		}
		return err
	})
	return out, err
}

// ApplyDecision stores what the autopilot decided for a rollout at a tick: its new engine
// state and, when the decision changes something, the change itself, audited with actor
// "autopilot" and the evidence. It refuses (CodeConflict) when the rollout changed since r was
// read, so a person's override always wins over a decision made on stale state.
func (s *Service) ApplyDecision(ctx context.Context, r domain.Rollout, engine *rollout.Engine, d rollout.Decision) (domain.Rollout, error) {
	var out domain.Rollout
	err := s.writeAs(ctx, auth.Autopilot(), func(t *txn) error {
		cur, err := t.GetRollout(t.ctx, r.Project, r.Flag, r.Environment)
		if err != nil {
			return err
		}
		if cur.Version != r.Version || cur.Status != domain.RolloutRunning {
			return domain.Errorf(domain.CodeConflict, "the rollout changed since the tick began")
		}
		evidence, _ := json.Marshal(d.Evidence) // plain data
		dec := &domain.RolloutDecision{Action: string(d.Action), Reason: d.Reason, Evidence: evidence}
		t.comment = d.String()
		switch d.Action {
		case rollout.Advance:
			out, err = t.advance(r, engine, d.Reason, dec)
		case rollout.Rollback:
			out, err = t.rollBack(r, engine, d.Reason, "rollout.rolled_back", dec)
		case rollout.Pause:
			r.Status, r.Reason = domain.RolloutPaused, d.Reason
			out, err = t.saveRollout(r, r.Version, engine, "rollout.paused", dec)
		default:
			// Continue, hold and freeze keep the step. A change of reason (a warning begins or
			// ends, an incident freezes the step) is logged and announced; the ticks in between
			// only advance the engine's state.
			event := ""
			if d.Reason != r.Reason && d.Action != rollout.Continue {
				event = "rollout.held"
			} else {
				dec = nil
			}
			r.Reason = d.Reason
			out, err = t.saveRollout(r, r.Version, engine, event, dec)
		}
		return err
	})
	return out, err
}

// liveRollout loads a live rollout with its engine.
func (t *txn) liveRollout(project, flag, env string) (domain.Rollout, *rollout.Engine, error) {
	r, err := t.GetRollout(t.ctx, project, flag, env)
	if err != nil {
		return r, nil, err
	}
	if !r.Live() {
		return r, nil, domain.Errorf(domain.CodeConflict, "the rollout of %s in %s is %s", flag, env, r.Status)
	}
	engine, err := EngineOf(r)
	return r, engine, err
}

// EngineOf restores a rollout's decision engine from its stored plan and state.
func EngineOf(r domain.Rollout) (*rollout.Engine, error) {
	var plan rollout.Plan
	var st rollout.State
	if err := json.Unmarshal(r.Plan, &plan); err != nil {
		return nil, fmt.Errorf("rollout plan: %w", err)
	}
	if err := json.Unmarshal(r.State, &st); err != nil {
		return nil, fmt.Errorf("rollout state: %w", err)
	}
	return rollout.Restore(plan, st)
}

// advance moves to the next step and serves its share; the last step completes the rollout.
func (t *txn) advance(r domain.Rollout, engine *rollout.Engine, reason string, dec *domain.RolloutDecision) (domain.Rollout, error) {
	if err := engine.AdvanceStep(t.now); err != nil {
		return r, domain.Errorf(domain.CodeConflict, "%v", err)
	}
	cfg, err := t.serveShare(r.Project, r.Flag, r.Environment, r.Treatment, r.Control, engine.Share())
	if err != nil {
		return r, err
	}
	base := r.Version
	r.Step, r.Share, r.ConfigVersion, r.Reason = engine.Step(), engine.Share(), cfg.Version, reason
	event := "rollout.advanced"
	if engine.Share() >= 100 {
		r.Status, event = domain.RolloutCompleted, "rollout.completed"
	}
	return t.saveRollout(r, base, engine, event, dec)
}

// rollBack serves the control to everyone the rollout reached and ends it.
func (t *txn) rollBack(r domain.Rollout, engine *rollout.Engine, reason, event string, dec *domain.RolloutDecision) (domain.Rollout, error) {
	engine.End()
	cfg, err := t.putConfig(r.Project, r.Flag, r.Environment, func(c snapshot.Config) snapshot.Config {
		c.Default = snapshot.Serve{Variant: r.Control}
		return c
	}, AnyVersion)
	if err != nil {
		return r, err
	}
	base := r.Version
	r.Status, r.Reason, r.Share, r.ConfigVersion = domain.RolloutRolledBack, reason, 0, cfg.Version
	return t.saveRollout(r, base, engine, event, dec)
}

// serveShare sets the flag's default serve to the rollout's split, the treatment first so that
// raising its weight keeps everyone who already has it, and monitors the flag.
func (t *txn) serveShare(project, flag, env, treatment, control string, share float64) (domain.FlagConfig, error) {
	return t.putConfig(project, flag, env, func(c snapshot.Config) snapshot.Config {
		c.Enabled, c.Monitor = true, true
		c.Default = snapshot.Serve{Rollout: &snapshot.Rollout{Weights: snapshot.Weights{
			{Variant: treatment, Percent: share}, {Variant: control, Percent: 100 - share}}}}
		return c
	}, AnyVersion)
}

// saveRollout stores r with the engine's state (creating it when base is 0), logs dec when
// given, and audits event when it is not empty.
func (t *txn) saveRollout(r domain.Rollout, base int64, engine *rollout.Engine, event string, dec *domain.RolloutDecision) (domain.Rollout, error) {
	before := r
	if base > 0 {
		var err error
		if before, err = t.GetRollout(t.ctx, r.Project, r.Flag, r.Environment); err != nil {
			return r, err
		}
	}
	state, err := json.Marshal(engine.State())
	if err != nil {
		return r, fmt.Errorf("rollout state: %w", err)
	}
	r.State, r.UpdatedAt = state, t.now
	if err := t.PutRollout(t.ctx, r, base); err != nil {
		return r, err
	}
	r.Version = base + 1
	if dec == nil && event != "" {
		dec = &domain.RolloutDecision{Action: event[len("rollout."):], Reason: r.Reason}
	}
	if dec != nil {
		dec.Project, dec.Environment, dec.Flag, dec.Time, dec.Actor = r.Project, r.Environment, r.Flag, t.now, t.actor
		dec.Step, dec.Share = r.Step, r.Share
		if err := t.AppendRolloutDecision(t.ctx, dec); err != nil {
			return r, err
		}
	}
	if event == "" {
		return r, nil
	}
	var prior any
	if base > 0 {
		prior = before
	}
	return r, t.record(change{action: event, project: r.Project, environment: r.Environment,
		resourceType: "rollout", resourceKey: r.Flag, before: prior, after: r})
}
