package sqlstore

import (
	"context"

	"github.com/flagpilot/flagpilot/internal/domain"
)

const gateCols = `project, environment, key, description, flag, rollback_on_fail, events, objectives, version, created_at`

func scanGate(s scanner) (g domain.Gate, err error) {
	err = s.Scan(&g.Project, &g.Environment, &g.Key, &g.Description, &g.Flag, &g.RollbackOnFail,
		jsonColumn{&g.Events}, jsonColumn{&g.Objectives}, &g.Version, &g.CreatedAt)
	return g, err
}

func (r reader) GetGate(ctx context.Context, project, env, key string) (domain.Gate, error) {
	return get(ctx, r.q, scanGate, domain.NotFound("gate", project+"/"+env+"/"+key),
		`SELECT `+gateCols+` FROM gates WHERE project = $1 AND environment = $2 AND key = $3`, project, env, key)
}

func (r reader) ListGates(ctx context.Context, project, env string) ([]domain.Gate, error) {
	return list(ctx, r.q, scanGate, `SELECT `+gateCols+` FROM gates WHERE project = $1 AND environment = $2
		ORDER BY key`, project, env)
}

const gateEvaluationCols = `id, project, environment, gate, time, from_time, to_time, trigger_event, actor, result, objectives, rolled_back`

func scanGateEvaluation(s scanner) (e domain.GateEvaluation, err error) {
	err = s.Scan(&e.ID, &e.Project, &e.Environment, &e.Gate, &e.Time, &e.From, &e.To, &e.Trigger,
		jsonColumn{&e.Actor}, &e.Result, jsonColumn{&e.Objectives}, &e.RolledBack)
	return e, err
}

func (r reader) ListGateEvaluations(ctx context.Context, project, env, gate string, limit int) ([]domain.GateEvaluation, error) {
	return list(ctx, r.q, scanGateEvaluation, `SELECT `+gateEvaluationCols+` FROM gate_evaluations
		WHERE project = $1 AND environment = $2 AND gate = $3 ORDER BY id DESC LIMIT $4`,
		project, env, gate, pageLimit(limit))
}

func (w *writer) CreateGate(ctx context.Context, g domain.Gate) error {
	if _, err := w.GetEnvironment(ctx, g.Project, g.Environment); err != nil {
		return err
	}
	return w.insertGate(ctx, g, 1)
}

func (w *writer) insertGate(ctx context.Context, g domain.Gate, version int64) error {
	return w.insert(ctx, "gate", g.Project+"/"+g.Environment+"/"+g.Key, "gates", gateCols,
		g.Project, g.Environment, g.Key, g.Description, g.Flag, g.RollbackOnFail, jsonValue{g.Events},
		jsonValue{g.Objectives}, version, ts(g.CreatedAt))
}

func (w *writer) DeleteGate(ctx context.Context, project, env, key string) error {
	n, err := w.tx.Exec(ctx, `DELETE FROM gates WHERE project = $1 AND environment = $2 AND key = $3`, project, env, key)
	return changed(n, err, "gate", project+"/"+env+"/"+key)
}

func (w *writer) AppendGateEvaluation(ctx context.Context, e *domain.GateEvaluation) error {
	return w.insertGateEvaluation(ctx, e, false)
}

func (w *writer) insertGateEvaluation(ctx context.Context, e *domain.GateEvaluation, keepID bool) error {
	return w.insertWithID(ctx, "gate_evaluations", gateEvaluationCols, &e.ID, keepID,
		e.Project, e.Environment, e.Gate, ts(e.Time), ts(e.From), ts(e.To), e.Trigger, jsonValue{e.Actor},
		e.Result, jsonValue{e.Objectives}, e.RolledBack)
}
