package domain

import (
	"context"
	"time"
)

// Gate is a release gate: objectives over an environment's telemetry, evaluated over a time
// window when an event such as "load_test.finished" arrives or on request, answering pass,
// warning or fail (the Site Reliability Guardian workflow).
type Gate struct {
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Key         string `json:"key"`
	Description string `json:"description,omitempty"`
	// Flag is the flag the gate guards: objectives read its telemetry, and a failed evaluation
	// rolls it back when RollbackOnFail is set.
	Flag           string `json:"flag"`
	RollbackOnFail bool   `json:"rollbackOnFail,omitempty"`
	// Events are the event types that evaluate the gate, such as "load_test.finished".
	Events     []string    `json:"events,omitempty"`
	Objectives []Objective `json:"objectives"`
	Version    int64       `json:"version"`
	CreatedAt  time.Time   `json:"createdAt"`
}

// Objective is one check of a gate.
type Objective struct {
	Name string `json:"name"`
	// Metric is error_rate, latency_p50, latency_p95, latency_p99, throughput (requests per
	// second) or metric:<name> (the mean of a tracked metric).
	Metric string `json:"metric"`
	// Variant restricts the objective to one variant of the flag; empty means all its traffic.
	Variant string `json:"variant,omitempty"`
	// Direction is "max" when values above the thresholds are bad (errors, latency), "min"
	// when values below are (throughput, conversions).
	Direction string `json:"direction"`
	// Warning and Fail are the static thresholds; either may be omitted.
	Warning *float64 `json:"warning,omitempty"`
	Fail    *float64 `json:"fail,omitempty"`
	// Adaptive adds thresholds learned from the gate's earlier passing evaluations; the
	// stricter of static and learned applies.
	Adaptive bool `json:"adaptive,omitempty"`
}

// GateResult is the outcome of an evaluation or of one objective.
type GateResult string

const (
	GatePass    GateResult = "pass"
	GateWarning GateResult = "warning"
	GateFail    GateResult = "fail"
	// GateNoData marks an objective without telemetry in the window; it fails the gate.
	GateNoData GateResult = "no_data"
)

// GateEvaluation is one evaluation of a gate over [From, To).
type GateEvaluation struct {
	ID          int64      `json:"id"`
	Project     string     `json:"project"`
	Environment string     `json:"environment"`
	Gate        string     `json:"gate"`
	Time        time.Time  `json:"time"`
	From        time.Time  `json:"from"`
	To          time.Time  `json:"to"`
	Trigger     string     `json:"trigger"`
	Actor       Actor      `json:"actor"`
	Result      GateResult `json:"result"`
	Objectives  []Checked  `json:"objectives"`
	RolledBack  bool       `json:"rolledBack,omitempty"`
}

// Checked is one objective's outcome in an evaluation.
type Checked struct {
	Name   string     `json:"name"`
	Metric string     `json:"metric"`
	Value  *float64   `json:"value,omitempty"`
	Result GateResult `json:"result"`
	// Warning and Fail are the thresholds that applied, static or learned.
	Warning *float64 `json:"warning,omitempty"`
	Fail    *float64 `json:"fail,omitempty"`
	// Learned says the thresholds came from this many earlier passing evaluations.
	Learned int `json:"learned,omitempty"`
}

// GateStore reads gates and their evaluations.
type GateStore interface {
	GetGate(ctx context.Context, project, env, key string) (Gate, error)
	ListGates(ctx context.Context, project, env string) ([]Gate, error)
	// ListGateEvaluations returns a gate's evaluations, newest first, at most limit.
	ListGateEvaluations(ctx context.Context, project, env, gate string, limit int) ([]GateEvaluation, error)
}

// GateWriter changes gates, in a transaction.
type GateWriter interface {
	CreateGate(ctx context.Context, g Gate) error
	DeleteGate(ctx context.Context, project, env, key string) error
	// AppendGateEvaluation stores e, setting its ID.
	AppendGateEvaluation(ctx context.Context, e *GateEvaluation) error
}
