package apiclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// FlagQuery selects flags of a project. Empty fields select everything.
type FlagQuery struct {
	Tag string // flags carrying this tag
	// Query keeps flags whose key, description or owner contains it, ignoring case.
	Query string
	Limit int    // page size; 0 means the server's default of 100, at most 1000
	After string // the Next cursor of the previous page
}

func (q FlagQuery) values() url.Values {
	v := PageQuery{Limit: q.Limit, After: q.After}.values()
	set(v, "tag", q.Tag)
	set(v, "q", q.Query)
	return v
}

// ListFlags returns a page of a project's flags, ordered by key.
func (c *Client) ListFlags(ctx context.Context, project string, q FlagQuery) (Page[domain.Flag], error) {
	return call[Page[domain.Flag]](ctx, c, request{method: http.MethodGet, path: []string{"projects", project, "flags"}, query: q.values()})
}

// AllFlags returns every flag q selects, following the pages from q.After to the end.
func (c *Client) AllFlags(ctx context.Context, project string, q FlagQuery) ([]domain.Flag, error) {
	return collect(q.After, func(after string) (Page[domain.Flag], error) {
		q.After = after
		return c.ListFlags(ctx, project, q)
	})
}

// GetFlag returns a flag's definition.
func (c *Client) GetFlag(ctx context.Context, project, key string) (domain.Flag, error) {
	return call[domain.Flag](ctx, c, request{method: http.MethodGet, path: []string{"projects", project, "flags", key}})
}

// CreateFlag creates flag f in project f.Project. It starts disabled in every environment.
func (c *Client) CreateFlag(ctx context.Context, f domain.Flag) (domain.Flag, error) {
	return call[domain.Flag](ctx, c, request{method: http.MethodPost, path: []string{"projects", f.Project, "flags"}, body: f})
}

// UpdateFlag replaces the definition of flag f.Key in project f.Project, provided it is still at
// version (the server answers a conflict otherwise). f.Version is ignored.
func (c *Client) UpdateFlag(ctx context.Context, f domain.Flag, version int64) (domain.Flag, error) {
	f.Version = 0 // version is the one that counts; a different one in the body would be refused
	return call[domain.Flag](ctx, c, request{method: http.MethodPut, path: []string{"projects", f.Project, "flags", f.Key}, body: f, ifMatch: version})
}

// DeleteFlag deletes a flag with its configurations.
func (c *Client) DeleteFlag(ctx context.Context, project, key string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: []string{"projects", project, "flags", key}}, nil)
	return err
}

func configPath(project, flag, env string) []string {
	return []string{"projects", project, "flags", flag, "environments", env}
}

// configCall sends a request for a configuration and takes its version from the ETag, the
// value If-Match compares with.
func (c *Client) configCall(ctx context.Context, req request) (domain.FlagConfig, error) {
	var cfg domain.FlagConfig
	h, err := c.do(ctx, req, &cfg)
	if err != nil {
		return domain.FlagConfig{}, err
	}
	cfg.Version, err = versionOf(h)
	return cfg, err
}

// GetFlagConfig returns a flag's configuration in an environment. Its Version is the ETag:
// pass it to PutFlagConfig or ToggleFlag to change what was read.
func (c *Client) GetFlagConfig(ctx context.Context, project, flag, env string) (domain.FlagConfig, error) {
	return c.configCall(ctx, request{method: http.MethodGet, path: configPath(project, flag, env)})
}

// PutFlagConfig replaces a flag's configuration in an environment, provided it is still at
// version (sent as If-Match; the server answers a conflict otherwise).
func (c *Client) PutFlagConfig(ctx context.Context, project, flag, env string, cfg snapshot.Config, version int64) (domain.FlagConfig, error) {
	return c.configCall(ctx, request{method: http.MethodPut, path: configPath(project, flag, env), body: cfg, ifMatch: version})
}

// ToggleFlag turns a flag on or off in an environment, keeping the rest of its configuration.
// It is the kill switch, so version is optional: 0 applies the change to whatever is current.
func (c *Client) ToggleFlag(ctx context.Context, project, flag, env string, enabled bool, version int64) (domain.FlagConfig, error) {
	body := struct {
		Enabled bool `json:"enabled"`
	}{enabled}
	return c.configCall(ctx, request{method: http.MethodPatch, path: configPath(project, flag, env), body: body, ifMatch: version})
}

// ListSegments returns a page of a project's segments, ordered by key.
func (c *Client) ListSegments(ctx context.Context, project string, q PageQuery) (Page[domain.Segment], error) {
	return call[Page[domain.Segment]](ctx, c, request{method: http.MethodGet, path: []string{"projects", project, "segments"}, query: q.values()})
}

// AllSegments returns every segment of a project.
func (c *Client) AllSegments(ctx context.Context, project string) ([]domain.Segment, error) {
	return collect("", func(after string) (Page[domain.Segment], error) {
		return c.ListSegments(ctx, project, PageQuery{After: after})
	})
}

// GetSegment returns a segment.
func (c *Client) GetSegment(ctx context.Context, project, key string) (domain.Segment, error) {
	return call[domain.Segment](ctx, c, request{method: http.MethodGet, path: []string{"projects", project, "segments", key}})
}

// CreateSegment creates segment s in project s.Project.
func (c *Client) CreateSegment(ctx context.Context, s domain.Segment) (domain.Segment, error) {
	return call[domain.Segment](ctx, c, request{method: http.MethodPost, path: []string{"projects", s.Project, "segments"}, body: s})
}

// UpdateSegment replaces segment s.Key of project s.Project, provided it is still at version.
// s.Version is ignored.
func (c *Client) UpdateSegment(ctx context.Context, s domain.Segment, version int64) (domain.Segment, error) {
	s.Version = 0 // as in UpdateFlag
	return call[domain.Segment](ctx, c, request{method: http.MethodPut, path: []string{"projects", s.Project, "segments", s.Key}, body: s, ifMatch: version})
}

// DeleteSegment deletes a segment. The server refuses while rules use it.
func (c *Client) DeleteSegment(ctx context.Context, project, key string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: []string{"projects", project, "segments", key}}, nil)
	return err
}
