package sqlstore

import (
	"context"
	"encoding/json"

	"github.com/flagpilot/flagpilot/internal/domain"
)

const rolloutCols = `project, environment, flag, treatment, control, plan, status, reason, step, share,
	config_version, state, observed, started_at, updated_at, version`

func scanRollout(s scanner) (r domain.Rollout, err error) {
	err = s.Scan(&r.Project, &r.Environment, &r.Flag, &r.Treatment, &r.Control, rawColumn{&r.Plan}, &r.Status,
		&r.Reason, &r.Step, &r.Share, &r.ConfigVersion, rawColumn{&r.State}, &r.Observed, &r.StartedAt,
		&r.UpdatedAt, &r.Version)
	return r, err
}

func (r reader) GetRollout(ctx context.Context, project, flag, env string) (domain.Rollout, error) {
	return get(ctx, r.q, scanRollout, domain.NotFound("rollout", project+"/"+flag+"/"+env),
		`SELECT `+rolloutCols+` FROM rollouts WHERE project = $1 AND flag = $2 AND environment = $3`,
		project, flag, env)
}

func (r reader) ListLiveRollouts(ctx context.Context) ([]domain.Rollout, error) {
	return list(ctx, r.q, scanRollout, `SELECT `+rolloutCols+` FROM rollouts
		WHERE status IN ($1, $2) ORDER BY project, environment, flag`, domain.RolloutRunning, domain.RolloutPaused)
}

func (r reader) ListRollouts(ctx context.Context, project, env string) ([]domain.Rollout, error) {
	return list(ctx, r.q, scanRollout, `SELECT `+rolloutCols+` FROM rollouts
		WHERE project = $1 AND environment = $2 ORDER BY started_at DESC, flag`, project, env)
}

const decisionCols = `id, project, environment, flag, time, actor, action, reason, step, share, evidence`

func scanDecision(s scanner) (d domain.RolloutDecision, err error) {
	var evidence json.RawMessage
	err = s.Scan(&d.ID, &d.Project, &d.Environment, &d.Flag, &d.Time, jsonColumn{&d.Actor}, &d.Action,
		&d.Reason, &d.Step, &d.Share, rawColumn{&evidence})
	if string(evidence) != "null" {
		d.Evidence = evidence
	}
	return d, err
}

func (r reader) ListRolloutDecisions(ctx context.Context, project, flag, env string, limit int) ([]domain.RolloutDecision, error) {
	return list(ctx, r.q, scanDecision, `SELECT `+decisionCols+` FROM rollout_decisions
		WHERE project = $1 AND flag = $2 AND environment = $3 ORDER BY id DESC LIMIT $4`,
		project, flag, env, pageLimit(limit))
}

func (w *writer) PutRollout(ctx context.Context, r domain.Rollout, baseVersion int64) error {
	key := r.Project + "/" + r.Flag + "/" + r.Environment
	if baseVersion == 0 {
		// A finished rollout gives way to a new one; a live one does not.
		if _, err := w.tx.Exec(ctx, `DELETE FROM rollouts WHERE project = $1 AND flag = $2 AND environment = $3
			AND status NOT IN ($4, $5)`, r.Project, r.Flag, r.Environment, domain.RolloutRunning, domain.RolloutPaused); err != nil {
			return err
		}
		return w.insertRollout(ctx, r, 1)
	}
	n, err := w.tx.Exec(ctx, `UPDATE rollouts SET status = $4, reason = $5, step = $6, share = $7,
		config_version = $8, state = $9, observed = $10, updated_at = $11, version = $12
		WHERE project = $1 AND flag = $2 AND environment = $3 AND version = $13`,
		r.Project, r.Flag, r.Environment, r.Status, r.Reason, r.Step, r.Share, r.ConfigVersion, string(r.State),
		ts(r.Observed), ts(r.UpdatedAt), baseVersion+1, baseVersion)
	return w.versioned(ctx, n, err, "rollout", key, baseVersion,
		`SELECT version FROM rollouts WHERE project = $1 AND flag = $2 AND environment = $3`, r.Project, r.Flag, r.Environment)
}

func (w *writer) insertRollout(ctx context.Context, r domain.Rollout, version int64) error {
	return w.insert(ctx, "live rollout", r.Project+"/"+r.Flag+"/"+r.Environment, "rollouts", rolloutCols,
		r.Project, r.Environment, r.Flag, r.Treatment, r.Control, string(r.Plan), r.Status, r.Reason, r.Step,
		r.Share, r.ConfigVersion, string(r.State), ts(r.Observed), ts(r.StartedAt), ts(r.UpdatedAt), version)
}

func (w *writer) AppendRolloutDecision(ctx context.Context, d *domain.RolloutDecision) error {
	return w.insertDecision(ctx, d, false)
}

// insertDecision stores d with a generated id, or with its own (keepID, for restores).
func (w *writer) insertDecision(ctx context.Context, d *domain.RolloutDecision, keepID bool) error {
	evidence := string(d.Evidence)
	if d.Evidence == nil {
		evidence = "null"
	}
	return w.insertWithID(ctx, "rollout_decisions", decisionCols, &d.ID, keepID,
		d.Project, d.Environment, d.Flag, ts(d.Time), jsonValue{d.Actor}, d.Action, d.Reason, d.Step, d.Share, evidence)
}

// dumpAutopilot reads the rollouts, gates and their histories into d.
func (r reader) dumpAutopilot(ctx context.Context, d *domain.Dump) error {
	rollouts, err := list(ctx, r.q, scanRollout, `SELECT `+rolloutCols+` FROM rollouts ORDER BY project, flag, environment`)
	if err != nil {
		return err
	}
	for _, ro := range rollouts {
		d.Rollouts = append(d.Rollouts, domain.DumpedRollout{Rollout: ro, State: ro.State})
	}
	if d.RolloutDecisions, err = list(ctx, r.q, scanDecision, `SELECT `+decisionCols+` FROM rollout_decisions ORDER BY id`); err != nil {
		return err
	}
	if d.Gates, err = list(ctx, r.q, scanGate, `SELECT `+gateCols+` FROM gates ORDER BY project, environment, key`); err != nil {
		return err
	}
	d.GateEvaluations, err = list(ctx, r.q, scanGateEvaluation, `SELECT `+gateEvaluationCols+` FROM gate_evaluations ORDER BY id`)
	return err
}

// restoreAutopilot writes what dumpAutopilot read, keeping versions and ids.
func (w *writer) restoreAutopilot(ctx context.Context, d *domain.Dump) error {
	for _, ro := range d.Rollouts {
		ro.Rollout.State = ro.State
		if err := w.insertRollout(ctx, ro.Rollout, ro.Version); err != nil {
			return err
		}
	}
	for _, dec := range d.RolloutDecisions {
		if err := w.insertDecision(ctx, &dec, true); err != nil {
			return err
		}
	}
	for _, g := range d.Gates {
		if err := w.insertGate(ctx, g, g.Version); err != nil {
			return err
		}
	}
	for _, e := range d.GateEvaluations {
		if err := w.insertGateEvaluation(ctx, &e, true); err != nil {
			return err
		}
	}
	return nil
}
