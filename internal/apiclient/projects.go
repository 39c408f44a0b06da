package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// ListProjects returns a page of projects, ordered by key.
func (c *Client) ListProjects(ctx context.Context, q PageQuery) (Page[domain.Project], error) {
	return call[Page[domain.Project]](ctx, c, request{method: http.MethodGet, path: []string{"projects"}, query: q.values()})
}

// GetProject returns a project.
func (c *Client) GetProject(ctx context.Context, key string) (domain.Project, error) {
	return call[domain.Project](ctx, c, request{method: http.MethodGet, path: []string{"projects", key}})
}

// CreateProject creates a project from p's key, name (default: the key) and description.
func (c *Client) CreateProject(ctx context.Context, p domain.Project) (domain.Project, error) {
	return call[domain.Project](ctx, c, request{method: http.MethodPost, path: []string{"projects"}, body: p})
}

// DeleteProject deletes a project with everything in it. The server refuses while the project
// has SDK keys, unless force is set.
func (c *Client) DeleteProject(ctx context.Context, key string, force bool) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: []string{"projects", key}, query: forceQuery(force)}, nil)
	return err
}

// forceQuery asks a deletion to go ahead although SDK keys are in use.
func forceQuery(force bool) url.Values {
	if !force {
		return nil
	}
	return url.Values{"force": {strconv.FormatBool(force)}}
}

// ListEnvironments returns a project's environments.
func (c *Client) ListEnvironments(ctx context.Context, project string) ([]domain.Environment, error) {
	return items[domain.Environment](ctx, c, request{method: http.MethodGet, path: []string{"projects", project, "environments"}})
}

// CreateEnvironment creates environment e in project e.Project. Every flag gets a disabled
// configuration there.
func (c *Client) CreateEnvironment(ctx context.Context, e domain.Environment) (domain.Environment, error) {
	return call[domain.Environment](ctx, c, request{method: http.MethodPost, path: []string{"projects", e.Project, "environments"}, body: e})
}

// DeleteEnvironment deletes an environment with its configurations. The server refuses while
// it has SDK keys, unless force is set.
func (c *Client) DeleteEnvironment(ctx context.Context, project, key string, force bool) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: []string{"projects", project, "environments", key}, query: forceQuery(force)}, nil)
	return err
}
