package apiclient

import (
	"context"
	"net/http"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

func gatesPath(project, env string, rest ...string) []string {
	return append([]string{"projects", project, "environments", env, "gates"}, rest...)
}

// CreateGate creates a release gate in g.Project and g.Environment.
func (c *Client) CreateGate(ctx context.Context, g domain.Gate) (domain.Gate, error) {
	return call[domain.Gate](ctx, c, request{method: http.MethodPost, path: gatesPath(g.Project, g.Environment), body: g})
}

// ListGates returns an environment's release gates.
func (c *Client) ListGates(ctx context.Context, project, env string) ([]domain.Gate, error) {
	return items[domain.Gate](ctx, c, request{method: http.MethodGet, path: gatesPath(project, env)})
}

// GetGate returns a gate with its latest evaluations.
func (c *Client) GetGate(ctx context.Context, project, env, key string) (service.GateView, error) {
	return call[service.GateView](ctx, c, request{method: http.MethodGet, path: gatesPath(project, env, key)})
}

// EvaluateGate evaluates a gate over [from, to).
func (c *Client) EvaluateGate(ctx context.Context, project, env, key string, from, to time.Time) (domain.GateEvaluation, error) {
	body := struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	}{from, to}
	return call[domain.GateEvaluation](ctx, c, request{method: http.MethodPost, path: gatesPath(project, env, key, "evaluate"), body: body})
}

// PostEvent reports an event; the gates listening to it are evaluated.
func (c *Client) PostEvent(ctx context.Context, ev service.Event) ([]domain.GateEvaluation, error) {
	return items[domain.GateEvaluation](ctx, c, request{method: http.MethodPost, path: []string{"events"}, body: ev})
}
