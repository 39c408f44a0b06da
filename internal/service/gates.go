package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/gate"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Event is something that happened outside Flagpilot and asks for evaluations, such as a load
// test that finished: every gate of the environment listening to its type is evaluated over
// [From, To).
type Event struct {
	Type        string    `json:"type"`
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
}

// GateView is a gate with its latest evaluations, newest first.
type GateView struct {
	domain.Gate
	Evaluations []domain.GateEvaluation `json:"evaluations"`
}

const (
	// maxGateRange bounds an evaluation's window.
	maxGateRange = 31 * 24 * time.Hour
	// Learned thresholds use at most this many earlier passing evaluations, at most
	// learnedHorizon old.
	maxLearned     = 20
	learnedHorizon = 30 * 24 * time.Hour
)

// CreateGate creates a release gate in an environment.
func (s *Service) CreateGate(ctx context.Context, g domain.Gate) (domain.Gate, error) {
	var p snapshot.Problems
	p.CheckKey("key", g.Key)
	for i, e := range g.Events {
		if e == "" || len(e) > 100 {
			p.Addf(fmt.Sprintf("events[%d]", i), "expected an event type such as load_test.finished")
		}
	}
	if err := invalid(&p); err != nil {
		return domain.Gate{}, err
	}
	for i := range g.Objectives {
		if g.Objectives[i].Direction == "" {
			g.Objectives[i].Direction = gate.DefaultDirection(g.Objectives[i].Metric)
		}
	}
	if err := gate.Validate(g); err != nil {
		return domain.Gate{}, err
	}
	err := s.write(ctx, domain.RoleEditor, func(t *txn) error {
		if _, err := t.GetFlag(t.ctx, g.Project, g.Flag); err != nil {
			if domain.ErrorCode(err) == domain.CodeNotFound {
				return domain.FieldErrorf("flag", "%q is not a flag of %s", g.Flag, g.Project)
			}
			return err
		}
		g.Version, g.CreatedAt = 1, t.now
		if err := t.CreateGate(t.ctx, g); err != nil {
			return err
		}
		return t.record(change{action: "gate.created", project: g.Project, environment: g.Environment,
			resourceType: "gate", resourceKey: g.Key, after: g})
	})
	return g, err
}

// DeleteGate deletes a gate with its evaluations.
func (s *Service) DeleteGate(ctx context.Context, project, env, key string) error {
	return s.write(ctx, domain.RoleEditor, func(t *txn) error {
		before, err := t.GetGate(t.ctx, project, env, key)
		if err != nil {
			return err
		}
		if err := t.DeleteGate(t.ctx, project, env, key); err != nil {
			return err
		}
		return t.record(change{action: "gate.deleted", project: project, environment: env,
			resourceType: "gate", resourceKey: key, before: before})
	})
}

// ListGates returns an environment's gates.
func (s *Service) ListGates(ctx context.Context, project, env string) ([]domain.Gate, error) {
	if _, err := s.store.GetEnvironment(ctx, project, env); err != nil {
		return nil, err
	}
	return s.store.ListGates(ctx, project, env)
}

// GetGate returns a gate with its latest evaluations.
func (s *Service) GetGate(ctx context.Context, project, env, key string) (GateView, error) {
	g, err := s.store.GetGate(ctx, project, env, key)
	if err != nil {
		return GateView{}, err
	}
	evs, err := s.store.ListGateEvaluations(ctx, project, env, key, 100)
	return GateView{Gate: g, Evaluations: evs}, err
}

// HandleEvent evaluates every gate of the event's environment that listens to its type.
func (s *Service) HandleEvent(ctx context.Context, ev Event) ([]domain.GateEvaluation, error) {
	if ev.Type == "" {
		return nil, domain.FieldErrorf("type", "required, such as load_test.finished")
	}
	gates, err := s.ListGates(ctx, ev.Project, ev.Environment)
	if err != nil {
		return nil, err
	}
	out := []domain.GateEvaluation{}
	for _, g := range gates {
		if !slices.Contains(g.Events, ev.Type) {
			continue
		}
		e, err := s.EvaluateGate(ctx, ev.Project, ev.Environment, g.Key, ev.From, ev.To, ev.Type)
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

// EvaluateGate evaluates a gate over [from, to), stores and audits the result (announced as
// gate.passed, gate.warning or gate.failed), and on failure rolls the guarded flag back when
// the gate says so: a live rollout is aborted, otherwise the flag is turned off.
func (s *Service) EvaluateGate(ctx context.Context, project, env, key string, from, to time.Time, trigger string) (domain.GateEvaluation, error) {
	switch {
	case from.IsZero() || to.IsZero():
		return domain.GateEvaluation{}, domain.FieldErrorf("from", "from and to are required")
	case !from.Before(to):
		return domain.GateEvaluation{}, domain.FieldErrorf("to", "must be after from")
	case to.Sub(from) > maxGateRange:
		return domain.GateEvaluation{}, domain.FieldErrorf("from", "the window is longer than %v", maxGateRange)
	case s.telemetry == nil:
		return domain.GateEvaluation{}, fmt.Errorf("no telemetry store")
	}
	g, err := s.store.GetGate(ctx, project, env, key)
	if err != nil {
		return domain.GateEvaluation{}, err
	}
	aggs, err := s.telemetry.ListTelemetry(ctx, domain.TelemetryFilter{Project: project, Environment: env,
		Flags: []string{g.Flag}, From: from, To: to})
	if err != nil {
		return domain.GateEvaluation{}, err
	}
	past, err := s.store.ListGateEvaluations(ctx, project, env, key, domain.MaxPageLimit)
	if err != nil {
		return domain.GateEvaluation{}, err
	}
	e := domain.GateEvaluation{Project: project, Environment: env, Gate: key, From: from.UTC(), To: to.UTC(), Trigger: trigger}
	for _, o := range g.Objectives {
		v, ok, err := gate.Measure(o, aggs, from, to)
		if err != nil {
			return domain.GateEvaluation{}, err
		}
		e.Objectives = append(e.Objectives, gate.Check(o, v, ok, learnedValues(past, o.Name, s.now())))
	}
	e.Result = gate.Overall(e.Objectives)
	err = s.write(ctx, domain.RoleEditor, func(t *txn) error {
		e.Time, e.Actor = t.now, t.actor
		if e.Result == domain.GateFail && g.RollbackOnFail {
			rolledBack, err := t.rollBackFlag(project, g.Flag, env, "gate "+key+" failed")
			if err != nil {
				return err
			}
			e.RolledBack = rolledBack
		}
		if err := t.AppendGateEvaluation(t.ctx, &e); err != nil {
			return err
		}
		t.comment = gateSummary(e)
		return t.record(change{action: "gate." + gateVerb(e.Result), project: project, environment: env,
			resourceType: "gate", resourceKey: key, after: e})
	})
	return e, err
}

// rollBackFlag aborts the flag's live rollout, or turns the flag off when none runs. It
// reports whether anything changed.
func (t *txn) rollBackFlag(project, flag, env, reason string) (bool, error) {
	r, err := t.GetRollout(t.ctx, project, flag, env)
	if err == nil && r.Live() {
		engine, err := EngineOf(r)
		if err != nil {
			return false, err
		}
		_, err = t.rollBack(r, engine, reason, "rollout.rolled_back", nil)
		return err == nil, err
	}
	if err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
		return false, err
	}
	before, err := t.GetFlagConfig(t.ctx, project, flag, env)
	if err != nil || !before.Enabled {
		return false, err
	}
	_, err = t.putConfig(project, flag, env, func(c snapshot.Config) snapshot.Config {
		c.Enabled = false
		return c
	}, AnyVersion)
	return err == nil, err
}

// learnedValues are an objective's values in the gate's recent passing evaluations.
func learnedValues(past []domain.GateEvaluation, objective string, now time.Time) []float64 {
	var out []float64
	for _, e := range past {
		if e.Result != domain.GatePass || now.Sub(e.Time) > learnedHorizon || len(out) == maxLearned {
			continue
		}
		for _, c := range e.Objectives {
			if c.Name == objective && c.Value != nil {
				out = append(out, *c.Value)
			}
		}
	}
	return out
}

func gateVerb(r domain.GateResult) string {
	switch r {
	case domain.GatePass:
		return "passed"
	case domain.GateWarning:
		return "warning"
	}
	return "failed"
}

// gateSummary says what an evaluation found, for the audit log and chat.
func gateSummary(e domain.GateEvaluation) string {
	parts := make([]string, 0, len(e.Objectives))
	for _, c := range e.Objectives {
		s := c.Name + " " + string(c.Result)
		if c.Value != nil {
			s += fmt.Sprintf(" (%.4g", *c.Value)
			if c.Fail != nil {
				s += fmt.Sprintf("; fail beyond %.4g", *c.Fail)
			}
			s += ")"
		}
		parts = append(parts, s)
	}
	out := fmt.Sprintf("gate %s %s over %s–%s: %s", e.Gate, e.Result, e.From.Format(time.RFC3339), e.To.Format(time.RFC3339), strings.Join(parts, ", "))
	if e.RolledBack {
		out += "; the flag was rolled back"
	}
	return out
}
