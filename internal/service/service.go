// Package service is the only place that changes Flagpilot's state. The management API, flag
// file import, and later the autopilot all call it, so every change is authorised, validated,
// written to the audit log and queued for webhooks in the transaction that makes it, and
// announced to snapshot builders after it commits.
package service

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
)

// Options configures a Service. Every field is optional.
type Options struct {
	// Now returns the current time; it defaults to time.Now.
	Now func() time.Time
	// Logger receives one line per committed change; it defaults to discarding.
	Logger *slog.Logger
	// OnChange is called after a commit that changed what SDKs of project see in env: flags,
	// configurations, segments, or the environment itself. env "" means every environment.
	OnChange func(project, env string)
	// OnDeliveries is called after a commit that queued webhook deliveries, so the dispatcher
	// can send them at once instead of at its next poll.
	OnDeliveries func()
	// Telemetry is where gate evaluations read their measurements.
	Telemetry domain.TelemetryStore
}

// Service applies changes to a store.
type Service struct {
	store        domain.Store
	now          func() time.Time
	log          *slog.Logger
	onChange     func(project, env string)
	onDeliveries func()
	telemetry    domain.TelemetryStore
}

// New returns a Service writing to store.
func New(store domain.Store, opts Options) *Service {
	s := &Service{store: store, now: opts.Now, log: opts.Logger, onChange: opts.OnChange, onDeliveries: opts.OnDeliveries, telemetry: opts.Telemetry}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s
}

type commentKey struct{}

// WithComment returns a context whose changes are recorded with comment, the "why" of the
// audit log.
func WithComment(ctx context.Context, comment string) context.Context {
	return context.WithValue(ctx, commentKey{}, comment)
}

func commentFrom(ctx context.Context) string {
	c, _ := ctx.Value(commentKey{}).(string)
	return c
}

// authorize returns the context's principal when its role includes need. Transports check roles
// too (the HTTP route table); checking here as well keeps every other caller honest.
func authorize(ctx context.Context, need domain.Role) (auth.Principal, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return auth.Principal{}, domain.Errorf(domain.CodeUnauthorized, "no authenticated principal")
	}
	if p.Kind == auth.KindSDK || !p.Role.Allows(need) {
		return auth.Principal{}, domain.Errorf(domain.CodeForbidden, "this change requires the %s role", need)
	}
	return p, nil
}

// change describes one audited change.
type change struct {
	action       string // e.g. flag.config.updated
	project      string
	environment  string
	resourceType string // project, environment, flag, segment, sdk_key, token, webhook
	resourceKey  string
	before       any // nil when the resource did not exist
	after        any // nil when it no longer exists
}

// txn is a write transaction that records changes.
type txn struct {
	domain.Tx
	ctx     context.Context
	now     time.Time
	actor   domain.Actor
	comment string

	webhooks []domain.Webhook // enabled webhooks, loaded on first use
	loaded   bool
	events   []domain.AuditEvent
	queued   int // deliveries enqueued
}

// write runs fn in one transaction as the context's principal, which must have role need. After
// the commit it logs the recorded changes and announces those SDKs can see.
func (s *Service) write(ctx context.Context, need domain.Role, fn func(t *txn) error) error {
	p, err := authorize(ctx, need)
	if err != nil {
		return err
	}
	return s.writeAs(ctx, p, fn)
}

func (s *Service) writeAs(ctx context.Context, p auth.Principal, fn func(t *txn) error) error {
	var t *txn
	err := s.store.Update(ctx, func(tx domain.Tx) error {
		// A fresh txn per attempt, in case a store retries fn. Times are cut to the
		// microseconds stores keep, so what a change returns equals what is read back later.
		now := s.now().UTC().Truncate(time.Microsecond)
		t = &txn{Tx: tx, ctx: ctx, now: now, actor: p.Actor(), comment: commentFrom(ctx)}
		return fn(t)
	})
	if err != nil {
		return err
	}
	if t.queued > 0 && s.onDeliveries != nil {
		s.onDeliveries()
	}
	announced := map[[2]string]bool{}
	for _, e := range t.events {
		s.log.InfoContext(ctx, "change", "action", e.Action, "project", e.Project, "environment", e.Environment,
			"resource_type", e.ResourceType, "resource_key", e.ResourceKey, "actor_kind", e.Actor.Kind, "actor_id", e.Actor.ID, "audit_id", e.ID)
		if !visibleToSDKs(e.ResourceType) || s.onChange == nil {
			continue
		}
		// Definitions and segments are recorded without an environment: they reach every one.
		k := [2]string{e.Project, e.Environment}
		if !announced[k] && !announced[[2]string{k[0], ""}] {
			announced[k] = true
			s.onChange(k[0], k[1])
		}
	}
	return nil
}

func visibleToSDKs(resourceType string) bool {
	switch resourceType {
	case "project", "environment", "flag", "segment":
		return true
	}
	return false
}

// record appends the audit event of c and queues a delivery for every enabled webhook that
// subscribed to its event type, in the transaction.
func (t *txn) record(c change) error {
	before, err := marshalState(c.before)
	if err != nil {
		return err
	}
	after, err := marshalState(c.after)
	if err != nil {
		return err
	}
	e := domain.AuditEvent{
		Time: t.now, Actor: t.actor, Action: c.action, Project: c.project, Environment: c.environment,
		ResourceType: c.resourceType, ResourceKey: c.resourceKey, Before: before, After: after, Comment: t.comment,
	}
	if err := t.AppendAudit(t.ctx, &e); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	t.events = append(t.events, e)
	typ := EventType(c.resourceType, c.action)
	if typ == "" {
		return nil
	}
	if !t.loaded {
		hooks, err := t.ListWebhooks(t.ctx)
		if err != nil {
			return fmt.Errorf("list webhooks: %w", err)
		}
		for _, h := range hooks {
			if h.Enabled {
				t.webhooks = append(t.webhooks, h)
			}
		}
		t.loaded = true
	}
	var payload json.RawMessage
	for _, h := range t.webhooks {
		if !Subscribed(h.Events, typ) {
			continue
		}
		if payload == nil {
			if payload, err = json.Marshal(domain.NewWebhookEvent(typ, e)); err != nil {
				return fmt.Errorf("marshal event: %w", err)
			}
		}
		d := domain.Delivery{WebhookID: h.ID, EventType: typ, Payload: payload, Status: domain.DeliveryPending, NextAttemptAt: t.now, CreatedAt: t.now}
		if err := t.EnqueueDelivery(t.ctx, &d); err != nil {
			return fmt.Errorf("enqueue delivery: %w", err)
		}
		t.queued++
	}
	return nil
}

func marshalState(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal audit state: %w", err)
	}
	return b, nil
}

// newID returns a random identifier for tokens, SDK keys and webhooks.
func newID() string { return strings.ToLower(rand.Text()) }
