package domain

import (
	"context"
	"encoding/json"
	"time"
)

// RolloutStatus is where a guarded rollout stands.
type RolloutStatus string

const (
	RolloutRunning    RolloutStatus = "running"     // the autopilot decides at every tick
	RolloutPaused     RolloutStatus = "paused"      // waiting for a person (by request, data health or escalation)
	RolloutCompleted  RolloutStatus = "completed"   // the treatment reached 100 %
	RolloutRolledBack RolloutStatus = "rolled_back" // everyone is back on the control
)

// Rollout is a guarded, progressive rollout of a flag's treatment variant in one environment,
// against its control variant. While it runs, the flag's default serve is the rollout's split
// and its configuration is monitored, so SDKs report outcomes per variant.
type Rollout struct {
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Flag        string `json:"flag"`
	Treatment   string `json:"treatment"`
	Control     string `json:"control"`
	// Plan is the rollout plan (rollout.Plan in JSON), defaults filled in.
	Plan   json.RawMessage `json:"plan"`
	Status RolloutStatus   `json:"status"`
	// Reason says why the status last changed ("advance:evidence", "critical:error_rate",
	// "paused by alice", ...).
	Reason string `json:"reason"`
	// Step indexes the plan's steps; Share is its treatment percentage.
	Step  int     `json:"step"`
	Share float64 `json:"share"`
	// ConfigVersion is the flag configuration version that serves the current step: only
	// telemetry of that version is evidence for it.
	ConfigVersion int64 `json:"configVersion"`
	// State is the decision engine's state (rollout.State in JSON), from which it continues
	// after a restart; Observed is the start of the last telemetry window it took.
	State     json.RawMessage `json:"-"`
	Observed  time.Time       `json:"observed"`
	StartedAt time.Time       `json:"startedAt"`
	UpdatedAt time.Time       `json:"updatedAt"`
	// Version counts the rollout's changes; writes are conditional on it.
	Version int64 `json:"version"`
}

// Live reports whether the rollout still controls its flag.
func (r Rollout) Live() bool { return r.Status == RolloutRunning || r.Status == RolloutPaused }

// RolloutDecision is one decision about a rollout, by the autopilot or a person, with the
// evidence it rested on.
type RolloutDecision struct {
	ID          int64     `json:"id"`
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	Flag        string    `json:"flag"`
	Time        time.Time `json:"time"`
	Actor       Actor     `json:"actor"`
	Action      string    `json:"action"`
	Reason      string    `json:"reason"`
	Step        int       `json:"step"`
	Share       float64   `json:"share"`
	// Evidence is the engine's per-guardrail evidence (rollout.Evidence list in JSON).
	Evidence json.RawMessage `json:"evidence,omitempty"`
}

// RolloutStore keeps rollouts and their decisions; its writes belong to a Tx.
type RolloutStore interface {
	// GetRollout returns the rollout of a flag in an environment, the latest if several ran.
	GetRollout(ctx context.Context, project, flag, env string) (Rollout, error)
	// ListLiveRollouts returns the running and paused rollouts of every project.
	ListLiveRollouts(ctx context.Context) ([]Rollout, error)
	// ListRollouts returns the rollouts of an environment, one per flag (its latest), most
	// recently started first.
	ListRollouts(ctx context.Context, project, env string) ([]Rollout, error)
	// ListRolloutDecisions returns a rollout's decisions, newest first, at most limit.
	ListRolloutDecisions(ctx context.Context, project, flag, env string, limit int) ([]RolloutDecision, error)
}

// RolloutWriter changes rollouts, in a transaction.
type RolloutWriter interface {
	// PutRollout creates (baseVersion 0; it replaces a rollout that is no longer live) or
	// updates (baseVersion n > 0, CodeConflict when the stored version differs) a rollout.
	PutRollout(ctx context.Context, r Rollout, baseVersion int64) error
	// AppendRolloutDecision stores d, setting its ID.
	AppendRolloutDecision(ctx context.Context, d *RolloutDecision) error
}
