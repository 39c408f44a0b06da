package domain

import (
	"context"
	"encoding/json"
	"time"
)

// Page selects a slice of a list ordered by key: up to Limit items whose key sorts after After.
type Page struct {
	Limit int
	After string
}

// MaxPageLimit bounds Page.Limit; DefaultPageLimit applies when it is zero.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// FlagFilter selects flags of a project.
type FlagFilter struct {
	Page
	// Tag keeps flags carrying this tag.
	Tag string
	// Query keeps flags whose key, description or owner contains it, case-insensitively.
	Query string
}

// AuditFilter selects audit events, newest (highest id) first. Limit follows Page's rules:
// 0 means DefaultPageLimit, and it is capped at MaxPageLimit.
type AuditFilter struct {
	Project     string
	Environment string
	// ResourceType and ResourceKey select one resource, e.g. ("flag", "new-checkout").
	ResourceType string
	ResourceKey  string
	ActorKind    string
	ActorID      string
	Since, Until time.Time // Until is exclusive; zero means unbounded
	// BeforeID continues a listing: only events with a smaller id.
	BeforeID int64
	Limit    int
}

// Reader reads the server's state. Get methods return a CodeNotFound error when the item does
// not exist; List methods return items ordered by key (audit: newest first).
type Reader interface {
	RolloutStore
	GateStore
	UserStore

	GetProject(ctx context.Context, key string) (Project, error)
	ListProjects(ctx context.Context, page Page) ([]Project, error)

	GetEnvironment(ctx context.Context, project, key string) (Environment, error)
	ListEnvironments(ctx context.Context, project string) ([]Environment, error)

	GetFlag(ctx context.Context, project, key string) (Flag, error)
	ListFlags(ctx context.Context, project string, filter FlagFilter) ([]Flag, error)

	GetFlagConfig(ctx context.Context, project, flag, env string) (FlagConfig, error)
	// ListFlagConfigs returns the configurations of every flag of a project in env.
	ListFlagConfigs(ctx context.Context, project, env string) ([]FlagConfig, error)
	// ListFlagConfigsOfFlag returns a flag's configurations in every environment.
	ListFlagConfigsOfFlag(ctx context.Context, project, flag string) ([]FlagConfig, error)

	GetSegment(ctx context.Context, project, key string) (Segment, error)
	ListSegments(ctx context.Context, project string, page Page) ([]Segment, error)

	ListAudit(ctx context.Context, filter AuditFilter) ([]AuditEvent, error)

	GetToken(ctx context.Context, id string) (Token, error)
	GetTokenByHash(ctx context.Context, hash []byte) (Token, error)
	ListTokens(ctx context.Context) ([]Token, error)

	GetSDKKey(ctx context.Context, id string) (SDKKey, error)
	GetSDKKeyByHash(ctx context.Context, hash []byte) (SDKKey, error)
	ListSDKKeys(ctx context.Context, project, env string) ([]SDKKey, error)

	GetWebhook(ctx context.Context, id string) (Webhook, error)
	ListWebhooks(ctx context.Context) ([]Webhook, error)
	// ListDeliveries returns a webhook's deliveries, newest first; limit follows Page's rules.
	ListDeliveries(ctx context.Context, webhookID string, limit int) ([]Delivery, error)
	// DueDeliveries returns pending deliveries whose next attempt is at or before now, in the
	// order they were enqueued; limit follows Page's rules.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
}

// Tx is a write transaction: its reads see its own writes, and all its writes commit together
// or not at all. Create methods return CodeConflict when the item exists and CodeNotFound when
// its parent (project, environment, flag, webhook) does not; Update and Delete methods return
// CodeNotFound when the item does not exist. Update methods replace every field but CreatedAt.
// After a method returns an error the transaction may go on, though the caller usually returns
// the error. Versioned updates take the version the change
// was based on and return CodeConflict when the stored version differs; the store sets the new
// version to the old one plus one.
type Tx interface {
	Reader
	RolloutWriter
	GateWriter
	UserWriter

	CreateProject(ctx context.Context, p Project) error
	UpdateProject(ctx context.Context, p Project) error
	// DeleteProject removes a project with everything in it.
	DeleteProject(ctx context.Context, key string) error

	CreateEnvironment(ctx context.Context, e Environment) error
	// DeleteEnvironment removes an environment with its flag configurations and SDK keys.
	DeleteEnvironment(ctx context.Context, project, key string) error

	CreateFlag(ctx context.Context, f Flag) error
	UpdateFlag(ctx context.Context, f Flag, baseVersion int64) error
	// DeleteFlag removes a flag with its configurations.
	DeleteFlag(ctx context.Context, project, key string) error

	// PutFlagConfig creates (baseVersion 0, CodeConflict if it exists) or replaces (baseVersion
	// n > 0, CodeNotFound if it does not exist) a configuration.
	PutFlagConfig(ctx context.Context, c FlagConfig, baseVersion int64) error

	CreateSegment(ctx context.Context, s Segment) error
	UpdateSegment(ctx context.Context, s Segment, baseVersion int64) error
	DeleteSegment(ctx context.Context, project, key string) error

	CreateToken(ctx context.Context, t Token) error
	// DeleteToken removes a token with the dashboard sessions it started.
	DeleteToken(ctx context.Context, id string) error

	CreateSDKKey(ctx context.Context, k SDKKey) error
	DeleteSDKKey(ctx context.Context, id string) error

	// AppendAudit stores an event and sets its ID. The log is append-only: nothing updates or
	// deletes events, except deleting a project, which keeps them.
	AppendAudit(ctx context.Context, e *AuditEvent) error

	CreateWebhook(ctx context.Context, w Webhook) error
	// UpdateWebhook replaces the webhook, Secret included: read it first to keep the secret.
	UpdateWebhook(ctx context.Context, w Webhook) error
	// DeleteWebhook removes a webhook with its deliveries.
	DeleteWebhook(ctx context.Context, id string) error

	// EnqueueDelivery stores a delivery with status pending, whatever d.Status says, and sets
	// its ID.
	EnqueueDelivery(ctx context.Context, d *Delivery) error
	// UpdateDelivery records an attempt: status, attempts, next attempt, last status and error.
	UpdateDelivery(ctx context.Context, d Delivery) error
}

// Store is a transactional store of the server's state.
type Store interface {
	Reader
	// Update runs fn in a write transaction, committing when fn returns nil.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// SchemaVersion returns the applied and the latest known migration numbers.
	SchemaVersion(ctx context.Context) (applied, latest int, err error)
	// Dump reads everything in one consistent read, for backups.
	Dump(ctx context.Context) (*Dump, error)
	// Restore loads a dump into an empty store, refusing (CodeConflict) a store that holds
	// anything; ids continue after the restored ones.
	Restore(ctx context.Context, d *Dump) error
	Close() error
}

// ChangeFeed carries change announcements between the server processes that share a store, so
// that a change committed through one reaches the SDKs of every one. A store used by a single
// process (SQLite) has none: the local announcement suffices.
type ChangeFeed interface {
	// Publish announces that what SDKs of project see in env changed; env "" means every
	// environment. Every listener of the feed, the publisher's own included, receives it.
	Publish(ctx context.Context, project, env string) error
	// Listen calls changed for every announcement until ctx ends, reconnecting when the feed is
	// lost. Announcements made while it was disconnected are lost with it, so resync is called
	// on every (re)connection, before any announcement, to say that anything may have changed.
	Listen(ctx context.Context, changed func(project, env string), resync func()) error
}

// Dump is a backend-neutral copy of a store's state, so a backup of one backend restores into
// either.
type Dump struct {
	Format      int           `json:"format"`
	TakenAt     time.Time     `json:"takenAt"`
	Projects    []Project     `json:"projects"`
	Envs        []Environment `json:"environments"`
	Flags       []Flag        `json:"flags"`
	FlagConfigs []FlagConfig  `json:"flagConfigs"`
	Segments    []Segment     `json:"segments"`
	Tokens      []DumpedToken `json:"tokens"`
	SDKKeys     []DumpedKey   `json:"sdkKeys"`
	Audit       []AuditEvent  `json:"audit"`
	Webhooks    []DumpedHook  `json:"webhooks"`
	Deliveries  []Delivery    `json:"deliveries"`
	// Rollouts, their decisions, gates and gate evaluations; absent from older dumps.
	Rollouts         []DumpedRollout   `json:"rollouts,omitempty"`
	RolloutDecisions []RolloutDecision `json:"rolloutDecisions,omitempty"`
	Gates            []Gate            `json:"gates,omitempty"`
	GateEvaluations  []GateEvaluation  `json:"gateEvaluations,omitempty"`
	// Dashboard users, absent from older dumps. Sessions are not kept: a restored server
	// starts with everyone signed out.
	Users []DumpedUser `json:"users,omitempty"`
}

// DumpFormat is the current Dump.Format.
const DumpFormat = 1

// DumpedToken is a Token with its hash, which a backup must keep.
type DumpedToken struct {
	Token
	Hash []byte `json:"hash"`
}

// DumpedKey is an SDKKey with its hash.
type DumpedKey struct {
	SDKKey
	Hash []byte `json:"hash"`
}

// DumpedHook is a Webhook with its signing secret.
// DumpedRollout is a Rollout with its engine state, which a backup must keep.
type DumpedRollout struct {
	Rollout
	State json.RawMessage `json:"state"`
}

type DumpedHook struct {
	Webhook
	Secret string `json:"secret"`
}

// AllFlags returns every flag of a project, reading page after page.
func AllFlags(ctx context.Context, r Reader, project string) ([]Flag, error) {
	return allPages(func(p Page) ([]Flag, error) {
		return r.ListFlags(ctx, project, FlagFilter{Page: p})
	}, func(f Flag) string { return f.Key })
}

// AllSegments returns every segment of a project, reading page after page.
func AllSegments(ctx context.Context, r Reader, project string) ([]Segment, error) {
	return allPages(func(p Page) ([]Segment, error) {
		return r.ListSegments(ctx, project, p)
	}, func(s Segment) string { return s.Key })
}

// allPages collects every page of a list ordered by key.
func allPages[T any](list func(Page) ([]T, error), keyOf func(T) string) ([]T, error) {
	var out []T
	page := Page{Limit: MaxPageLimit}
	for {
		items, err := list(page)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(items) < page.Limit {
			return out, nil
		}
		page.After = keyOf(items[len(items)-1])
	}
}
