package apiclient

import (
	"context"
	"net/http"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

func rolloutPath(project, flag, env string, action ...string) []string {
	return append(append(configPath(project, flag, env), "rollout"), action...)
}

// GetRollout returns a flag's rollout in an environment with its latest decisions.
func (c *Client) GetRollout(ctx context.Context, project, flag, env string) (service.RolloutView, error) {
	var out service.RolloutView
	_, err := c.do(ctx, request{method: http.MethodGet, path: rolloutPath(project, flag, env)}, &out)
	return out, err
}

// StartRollout starts a guarded rollout of a flag in an environment.
func (c *Client) StartRollout(ctx context.Context, project, flag, env string, spec service.RolloutSpec) (domain.Rollout, error) {
	var out domain.Rollout
	_, err := c.do(ctx, request{method: http.MethodPost, path: rolloutPath(project, flag, env), body: spec}, &out)
	return out, err
}

// ControlRollout pauses, resumes, advances or aborts a live rollout.
func (c *Client) ControlRollout(ctx context.Context, project, flag, env string, action service.RolloutAction) (domain.Rollout, error) {
	var out domain.Rollout
	_, err := c.do(ctx, request{method: http.MethodPost, path: rolloutPath(project, flag, env, string(action))}, &out)
	return out, err
}
