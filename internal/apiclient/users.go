package apiclient

import (
	"context"
	"net/http"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

// ListUsers returns the dashboard users, without their password hashes.
func (c *Client) ListUsers(ctx context.Context) ([]domain.User, error) {
	return items[domain.User](ctx, c, request{method: http.MethodGet, path: []string{"users"}})
}

// CreateUser creates a dashboard user who signs in with spec's e-mail address and password.
func (c *Client) CreateUser(ctx context.Context, spec service.UserSpec) (domain.User, error) {
	return call[domain.User](ctx, c, request{method: http.MethodPost, path: []string{"users"}, body: spec})
}

// GetUser returns a dashboard user by its id.
func (c *Client) GetUser(ctx context.Context, id string) (domain.User, error) {
	return call[domain.User](ctx, c, request{method: http.MethodGet, path: []string{"users", id}})
}

// UpdateUser changes a user's name, role, or both; nil leaves one as it is.
func (c *Client) UpdateUser(ctx context.Context, id string, name *string, role *domain.Role) (domain.User, error) {
	body := struct {
		Name *string      `json:"name,omitempty"`
		Role *domain.Role `json:"role,omitempty"`
	}{name, role}
	return call[domain.User](ctx, c, request{method: http.MethodPut, path: []string{"users", id}, body: body})
}

// DeleteUser deletes a dashboard user and ends its sessions.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: []string{"users", id}}, nil)
	return err
}

// SetPassword sets a user's password and ends its sessions.
func (c *Client) SetPassword(ctx context.Context, id, password string) error {
	body := struct {
		Password string `json:"password"`
	}{password}
	_, err := c.do(ctx, request{method: http.MethodPut, path: []string{"users", id, "password"}, body: body}, nil)
	return err
}
