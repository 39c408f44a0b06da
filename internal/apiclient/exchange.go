package apiclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
)

// Import creates or updates the segments, flags and configurations of a flag file in a
// project, all or nothing. The file's environments must exist already. Problems come back as
// an *Error whose Field and Details name flag-file paths (and lines, for YAML).
func (c *Client) Import(ctx context.Context, project string, file []byte, format flagfile.Format) (service.ImportSummary, error) {
	contentType := "application/yaml"
	if format == flagfile.FormatJSON {
		contentType = "application/json"
	}
	return call[service.ImportSummary](ctx, c, request{method: http.MethodPut, path: []string{"projects", project, "import"},
		raw: file, contentType: contentType})
}

// Export returns a project as a flag file in format.
func (c *Client) Export(ctx context.Context, project string, format flagfile.Format) ([]byte, error) {
	name := "yaml"
	if format == flagfile.FormatJSON {
		name = "json"
	}
	var file []byte
	_, err := c.do(ctx, request{method: http.MethodGet, path: []string{"projects", project, "export"}, query: url.Values{"format": {name}}}, &file)
	return file, err
}
