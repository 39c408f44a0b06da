package domain

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Project groups environments, flags and segments.
type Project struct {
	Key         string    `json:"key"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Environment is a deployment stage of a project (production, staging, …) with its own flag
// configurations and SDK keys.
type Environment struct {
	Project   string    `json:"project"`
	Key       string    `json:"key"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// Lifecycle says whether a flag is meant to be removed once released.
const (
	LifecycleTemporary = "temporary"
	LifecyclePermanent = "permanent"
)

// Flag is a flag's definition, shared by all environments of its project.
type Flag struct {
	Project         string            `json:"project"`
	Key             string            `json:"key"`
	Type            snapshot.FlagType `json:"type"`
	Variants        snapshot.Variants `json:"variants"`
	Description     string            `json:"description,omitempty"`
	Tags            []string          `json:"tags,omitempty"`
	Owner           string            `json:"owner,omitempty"`
	Lifecycle       string            `json:"lifecycle,omitempty"`
	ExpectedRemoval string            `json:"expectedRemoval,omitempty"`
	// Version counts changes of the definition; writes carry the version they were based on.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// FlagConfig is a flag's configuration in one environment.
type FlagConfig struct {
	Project     string `json:"project"`
	Flag        string `json:"flag"`
	Environment string `json:"environment"`
	snapshot.Config
	// Version counts changes of this configuration; it is the ETag of the resource.
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Segment is a project's reusable audience.
type Segment struct {
	Project string `json:"project"`
	snapshot.Segment
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Role is what an admin token or user may do: viewers read, editors change flags, segments and
// rollouts, admins also manage projects, environments, keys, tokens and webhooks.
type Role string

const (
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleAdmin  Role = "admin"
)

// Allows reports whether r includes the rights of need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() && need.rank() > 0 }

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Token is an admin API token. Only a hash of the secret is stored.
type Token struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Hash is the SHA-256 of the secret; never serialised.
	Hash []byte `json:"-"`
	// Prefix is the secret's first characters, to recognise it in lists.
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy,omitempty"`
}

// SDKKeyKind separates keys of server-side SDKs, which may read whole configurations, from keys
// of client-side (browser, mobile) SDKs, which may only evaluate.
type SDKKeyKind string

const (
	SDKKeyServer SDKKeyKind = "server"
	SDKKeyClient SDKKeyKind = "client"
)

// SDKKey authenticates an SDK to one environment. Only a hash of the secret is stored.
type SDKKey struct {
	ID          string     `json:"id"`
	Project     string     `json:"project"`
	Environment string     `json:"environment"`
	Name        string     `json:"name"`
	Kind        SDKKeyKind `json:"kind"`
	Hash        []byte     `json:"-"`
	Prefix      string     `json:"prefix"`
	CreatedAt   time.Time  `json:"createdAt"`
}

// Actor kinds of the audit log.
const (
	ActorToken     = "token"
	ActorUser      = "user"
	ActorAutopilot = "autopilot"
	ActorSystem    = "system"
)

// Actor is who made a change.
type Actor struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// AuditEvent records one change: who, what (the resource with its state before and after),
// when, and why.
type AuditEvent struct {
	ID           int64           `json:"id"`
	Time         time.Time       `json:"time"`
	Actor        Actor           `json:"actor"`
	Action       string          `json:"action"` // e.g. flag.created, flag.config.updated
	Project      string          `json:"project,omitempty"`
	Environment  string          `json:"environment,omitempty"`
	ResourceType string          `json:"resourceType"` // project, environment, flag, segment, …
	ResourceKey  string          `json:"resourceKey"`
	Before       json.RawMessage `json:"before,omitempty"`
	After        json.RawMessage `json:"after,omitempty"`
	Comment      string          `json:"comment,omitempty"`
}

// Webhook payload formats.
const (
	WebhookFormatJSON  = "json"
	WebhookFormatSlack = "slack"
)

// Webhook is a subscription: events whose type matches one of Events are POSTed to URL, signed
// with Secret. Event patterns are exact types (flag.changed) or prefixes (rollout.*).
type Webhook struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Format string   `json:"format"`
	// Secret signs payloads (HMAC-SHA256). The server must be able to sign, so it is stored as
	// is; it is shown once, when the webhook is created, and never returned again.
	Secret      string    `json:"-"`
	Description string    `json:"description,omitempty"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // gave up after the last retry
)

// Delivery is one event on its way to one webhook: the outbox row and its delivery log.
type Delivery struct {
	ID            int64           `json:"id"`
	WebhookID     string          `json:"webhookId"`
	EventType     string          `json:"eventType"`
	Payload       json.RawMessage `json:"payload"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt time.Time       `json:"nextAttemptAt"`
	LastStatus    int             `json:"lastStatus,omitempty"` // HTTP status of the last attempt
	LastError     string          `json:"lastError,omitempty"`
	CreatedAt     time.Time       `json:"createdAt"`
	DeliveredAt   *time.Time      `json:"deliveredAt,omitempty"`
}

// WebhookEvent is the body of a webhook delivery: one audited change.
type WebhookEvent struct {
	ID          string          `json:"id"` // the audit event's id
	Type        string          `json:"type"`
	Action      string          `json:"action"`
	Time        time.Time       `json:"time"`
	Actor       Actor           `json:"actor"`
	Project     string          `json:"project,omitempty"`
	Environment string          `json:"environment,omitempty"`
	Resource    EventResource   `json:"resource"`
	Before      json.RawMessage `json:"before"`
	After       json.RawMessage `json:"after"`
	Comment     string          `json:"comment,omitempty"`
}

// EventResource names the changed resource.
type EventResource struct {
	Type string `json:"type"`
	Key  string `json:"key"`
}

// NewWebhookEvent builds the webhook event of type eventType for an audit event.
func NewWebhookEvent(eventType string, e AuditEvent) WebhookEvent {
	return WebhookEvent{
		ID: strconv.FormatInt(e.ID, 10), Type: eventType, Action: e.Action, Time: e.Time, Actor: e.Actor,
		Project: e.Project, Environment: e.Environment,
		Resource: EventResource{Type: e.ResourceType, Key: e.ResourceKey},
		Before:   e.Before, After: e.After, Comment: e.Comment,
	}
}
