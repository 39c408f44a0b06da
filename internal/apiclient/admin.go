package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

// CreatedSDKKey is a new SDK key with its secret, which the server shows only this once.
type CreatedSDKKey struct {
	domain.SDKKey
	Secret string `json:"secret"`
}

// ListSDKKeys returns an environment's SDK keys, without their secrets.
func (c *Client) ListSDKKeys(ctx context.Context, project, env string) ([]domain.SDKKey, error) {
	return items[domain.SDKKey](ctx, c, request{method: http.MethodGet, path: []string{"projects", project, "environments", env, "keys"}})
}

// CreateSDKKey creates an SDK key for an environment. kind is domain.SDKKeyServer (the default
// when empty) or domain.SDKKeyClient.
func (c *Client) CreateSDKKey(ctx context.Context, project, env, name string, kind domain.SDKKeyKind) (CreatedSDKKey, error) {
	body := struct {
		Name string            `json:"name"`
		Kind domain.SDKKeyKind `json:"kind,omitempty"`
	}{name, kind}
	return call[CreatedSDKKey](ctx, c, request{method: http.MethodPost, path: []string{"projects", project, "environments", env, "keys"}, body: body})
}

// DeleteSDKKey deletes an environment's SDK key by its id; services using it are cut off.
func (c *Client) DeleteSDKKey(ctx context.Context, project, env, id string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: []string{"projects", project, "environments", env, "keys", id}}, nil)
	return err
}

// CreatedToken is a new admin token with its secret, which the server shows only this once.
type CreatedToken struct {
	domain.Token
	Secret string `json:"secret"`
}

// ListTokens returns the admin tokens, without their secrets.
func (c *Client) ListTokens(ctx context.Context) ([]domain.Token, error) {
	return items[domain.Token](ctx, c, request{method: http.MethodGet, path: []string{"tokens"}})
}

// CreateToken creates an admin token with a role.
func (c *Client) CreateToken(ctx context.Context, name string, role domain.Role) (CreatedToken, error) {
	body := struct {
		Name string      `json:"name"`
		Role domain.Role `json:"role"`
	}{name, role}
	return call[CreatedToken](ctx, c, request{method: http.MethodPost, path: []string{"tokens"}, body: body})
}

// DeleteToken deletes an admin token; requests with it fail from then on.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: []string{"tokens", id}}, nil)
	return err
}

// CreatedWebhook is a new webhook with its signing secret, which the server shows only this
// once.
type CreatedWebhook struct {
	domain.Webhook
	Secret string `json:"secret"`
}

// ListWebhooks returns the webhooks, without their secrets.
func (c *Client) ListWebhooks(ctx context.Context) ([]domain.Webhook, error) {
	return items[domain.Webhook](ctx, c, request{method: http.MethodGet, path: []string{"webhooks"}})
}

// CreateWebhook subscribes a URL to events.
func (c *Client) CreateWebhook(ctx context.Context, spec service.WebhookSpec) (CreatedWebhook, error) {
	return call[CreatedWebhook](ctx, c, request{method: http.MethodPost, path: []string{"webhooks"}, body: spec})
}

// GetWebhook returns a webhook, without its secret.
func (c *Client) GetWebhook(ctx context.Context, id string) (domain.Webhook, error) {
	return call[domain.Webhook](ctx, c, request{method: http.MethodGet, path: []string{"webhooks", id}})
}

// DeleteWebhook deletes a webhook with its deliveries.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: []string{"webhooks", id}}, nil)
	return err
}

// ListDeliveries returns a webhook's latest deliveries, newest first: up to limit of them (0
// means the server's default of 100).
func (c *Client) ListDeliveries(ctx context.Context, webhookID string, limit int) ([]domain.Delivery, error) {
	return items[domain.Delivery](ctx, c, request{method: http.MethodGet, path: []string{"webhooks", webhookID, "deliveries"},
		query: PageQuery{Limit: limit}.values()})
}

// AuditQuery selects audit events. Empty fields select everything.
type AuditQuery struct {
	Project      string
	Environment  string
	ResourceType string // project, environment, flag, segment, sdk_key, token, user, webhook
	ResourceKey  string
	ActorKind    string // token, user, autopilot, system
	ActorID      string
	Since        time.Time // events at or after
	Until        time.Time // events before
	Limit        int       // page size; 0 means the server's default of 100, at most 1000
	After        string    // the Next cursor of the previous page
}

func (q AuditQuery) values() url.Values {
	v := PageQuery{Limit: q.Limit, After: q.After}.values()
	set(v, "project", q.Project)
	set(v, "environment", q.Environment)
	set(v, "resourceType", q.ResourceType)
	set(v, "resourceKey", q.ResourceKey)
	set(v, "actorKind", q.ActorKind)
	set(v, "actorId", q.ActorID)
	for name, t := range map[string]time.Time{"since": q.Since, "until": q.Until} {
		if !t.IsZero() {
			v.Set(name, t.UTC().Format(time.RFC3339Nano))
		}
	}
	return v
}

// ListAudit returns a page of the audit events q selects, newest first.
func (c *Client) ListAudit(ctx context.Context, q AuditQuery) (Page[domain.AuditEvent], error) {
	return call[Page[domain.AuditEvent]](ctx, c, request{method: http.MethodGet, path: []string{"audit"}, query: q.values()})
}
