package service

import (
	"context"
	"net/url"
	"slices"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// WebhookSpec is what a webhook's owner chooses; the rest of domain.Webhook is the server's.
type WebhookSpec struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Format      string   `json:"format,omitempty"` // json (default) or slack
	Description string   `json:"description,omitempty"`
	// Enabled defaults to true on creation and to the current state on update.
	Enabled *bool `json:"enabled,omitempty"`
}

func (w *WebhookSpec) check() error {
	var p snapshot.Problems
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.Addf("url", "expected an absolute http or https URL")
	}
	if len(w.Events) == 0 {
		p.Addf("events", "subscribe to at least one event type, such as flag.changed or rollout.*")
	}
	for i, e := range w.Events {
		if !validPattern(e) {
			p.Addf(snapshot.Index("events", i), "unknown event type %q (expected one of %v, a family such as rollout.*, or *)", e, EventTypes)
		}
	}
	switch w.Format {
	case "":
		w.Format = domain.WebhookFormatJSON
	case domain.WebhookFormatJSON, domain.WebhookFormatSlack:
	default:
		p.Addf("format", "unknown format %q (expected json or slack)", w.Format)
	}
	checkText(&p, "description", w.Description, maxDescription)
	return invalid(&p)
}

// ListWebhooks returns every webhook (never their secrets).
func (s *Service) ListWebhooks(ctx context.Context) ([]domain.Webhook, error) {
	return s.store.ListWebhooks(ctx)
}

// GetWebhook returns a webhook.
func (s *Service) GetWebhook(ctx context.Context, id string) (domain.Webhook, error) {
	return s.store.GetWebhook(ctx, id)
}

// ListDeliveries returns a webhook's latest deliveries, newest first.
func (s *Service) ListDeliveries(ctx context.Context, id string, limit int) ([]domain.Delivery, error) {
	if _, err := s.store.GetWebhook(ctx, id); err != nil {
		return nil, err
	}
	return s.store.ListDeliveries(ctx, id, clampPage(domain.Page{Limit: limit}).Limit)
}

// CreateWebhook creates a webhook and returns its signing secret, which is shown only now.
func (s *Service) CreateWebhook(ctx context.Context, spec WebhookSpec) (domain.Webhook, string, error) {
	if err := spec.check(); err != nil {
		return domain.Webhook{}, "", err
	}
	var out domain.Webhook
	err := s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		out = domain.Webhook{ID: newID(), URL: spec.URL, Events: spec.Events, Format: spec.Format,
			Secret: newWebhookSecret(), Description: spec.Description, Enabled: spec.Enabled == nil || *spec.Enabled, CreatedAt: t.now}
		if err := t.CreateWebhook(t.ctx, out); err != nil {
			return err
		}
		return t.record(change{action: "webhook.created", resourceType: "webhook", resourceKey: out.ID, after: out})
	})
	if err != nil {
		return domain.Webhook{}, "", err
	}
	return out, out.Secret, nil
}

// newWebhookSecret returns a signing secret. It is not an API credential, so it has its own
// prefix and no hash: the server needs it in clear to sign.
func newWebhookSecret() string { return "whsec_" + newID() + newID() }

// UpdateWebhook replaces a webhook's settings; its secret stays.
func (s *Service) UpdateWebhook(ctx context.Context, id string, spec WebhookSpec) (domain.Webhook, error) {
	if err := spec.check(); err != nil {
		return domain.Webhook{}, err
	}
	var out domain.Webhook
	err := s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		before, err := t.GetWebhook(t.ctx, id)
		if err != nil {
			return err
		}
		out = before
		out.URL, out.Events, out.Format, out.Description = spec.URL, spec.Events, spec.Format, spec.Description
		if spec.Enabled != nil {
			out.Enabled = *spec.Enabled
		}
		if out.URL == before.URL && slices.Equal(out.Events, before.Events) && out.Format == before.Format &&
			out.Description == before.Description && out.Enabled == before.Enabled {
			return nil
		}
		if err := t.UpdateWebhook(t.ctx, out); err != nil {
			return err
		}
		return t.record(change{action: "webhook.updated", resourceType: "webhook", resourceKey: id, before: before, after: out})
	})
	return out, err
}

// DeleteWebhook deletes a webhook.
func (s *Service) DeleteWebhook(ctx context.Context, id string) error {
	return s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		before, err := t.GetWebhook(t.ctx, id)
		if err != nil {
			return err
		}
		if err := t.DeleteWebhook(t.ctx, id); err != nil {
			return err
		}
		return t.record(change{action: "webhook.deleted", resourceType: "webhook", resourceKey: id, before: before})
	})
}
