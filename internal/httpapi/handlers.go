package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// page is a list response. Next, when present, is the cursor of the next page (?after=);
// a full page always has one, so the last page may be empty.
type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

func writeList[T any](w http.ResponseWriter, items []T, next string) {
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, page[T]{Items: items, Next: next})
}

// pageOf reads ?limit= and ?after=.
func pageOf(r *http.Request) (domain.Page, error) {
	p := domain.Page{Limit: domain.DefaultPageLimit, After: r.URL.Query().Get("after")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > domain.MaxPageLimit {
			return p, invalidf("limit", "expected an integer from 1 to %d", domain.MaxPageLimit)
		}
		p.Limit = n
	}
	return p, nil
}

// nextKey returns the cursor after a page of keyed items.
func nextKey[T any](items []T, p domain.Page, key func(T) string) string {
	if len(items) < p.Limit || len(items) == 0 {
		return ""
	}
	return key(items[len(items)-1])
}

func boolQuery(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalidf(name, "expected true or false")
	}
	return b, nil
}

func setETag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", fmt.Sprintf(`"%d"`, version))
}

// baseVersion returns the version a write is based on: the If-Match header, else the body's
// version field. Versioned writes must carry one (428 otherwise), because a blind overwrite
// would silently undo a colleague's change; If-Match: * opts out explicitly.
func baseVersion(r *http.Request, bodyVersion int64, required bool) (int64, error) {
	h := r.Header.Get("If-Match")
	if h == "" {
		switch {
		case bodyVersion != 0:
			return bodyVersion, nil
		case required:
			return 0, &httpError{status: http.StatusPreconditionRequired, code: codePreconditionRequired,
				message: `send If-Match with the ETag you read (or a "version" field): the change must say which version it is based on`}
		}
		return service.AnyVersion, nil
	}
	if h == "*" {
		return service.AnyVersion, nil
	}
	v, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64)
	if err != nil || v < 1 || !strings.HasPrefix(h, `"`) || !strings.HasSuffix(h, `"`) {
		return 0, invalidf("If-Match", `expected an ETag such as "3", or *`)
	}
	if bodyVersion != 0 && bodyVersion != v {
		return 0, invalidf("version", "the body's version %d disagrees with If-Match %s", bodyVersion, h)
	}
	return v, nil
}

func created(w http.ResponseWriter, r *http.Request, key string, v any) {
	w.Header().Set("Location", strings.TrimSuffix(r.URL.Path, "/")+"/"+url.PathEscape(key))
	writeJSON(w, http.StatusCreated, v)
}

// Projects.

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	items, err := a.svc.ListProjects(r.Context(), p)
	if err != nil {
		return err
	}
	writeList(w, items, nextKey(items, p, func(p domain.Project) string { return p.Key }))
	return nil
}

func (a *API) createProject(w http.ResponseWriter, r *http.Request) error {
	var in domain.Project
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	out, err := a.svc.CreateProject(r.Context(), in)
	if err != nil {
		return err
	}
	created(w, r, out.Key, out)
	return nil
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request) error {
	out, err := a.svc.GetProject(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) updateProject(w http.ResponseWriter, r *http.Request) error {
	var in domain.Project
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Key = r.PathValue("project")
	out, err := a.svc.UpdateProject(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteProject(w http.ResponseWriter, r *http.Request) error {
	force, err := boolQuery(r, "force")
	if err != nil {
		return err
	}
	if err := a.svc.DeleteProject(r.Context(), r.PathValue("project"), force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Environments.

func (a *API) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	items, err := a.svc.ListEnvironments(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	writeList(w, items, "")
	return nil
}

func (a *API) createEnvironment(w http.ResponseWriter, r *http.Request) error {
	var in domain.Environment
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Project = r.PathValue("project")
	out, err := a.svc.CreateEnvironment(r.Context(), in)
	if err != nil {
		return err
	}
	created(w, r, out.Key, out)
	return nil
}

func (a *API) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	out, err := a.svc.GetEnvironment(r.Context(), r.PathValue("project"), r.PathValue("env"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteEnvironment(w http.ResponseWriter, r *http.Request) error {
	force, err := boolQuery(r, "force")
	if err != nil {
		return err
	}
	if err := a.svc.DeleteEnvironment(r.Context(), r.PathValue("project"), r.PathValue("env"), force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Flags.

func (a *API) listFlags(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	items, err := a.svc.ListFlags(r.Context(), r.PathValue("project"), domain.FlagFilter{Page: p, Tag: q.Get("tag"), Query: q.Get("q")})
	if err != nil {
		return err
	}
	writeList(w, items, nextKey(items, p, func(f domain.Flag) string { return f.Key }))
	return nil
}

func (a *API) createFlag(w http.ResponseWriter, r *http.Request) error {
	var in domain.Flag
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Project = r.PathValue("project")
	out, err := a.svc.CreateFlag(r.Context(), in)
	if err != nil {
		return err
	}
	setETag(w, out.Version)
	created(w, r, out.Key, out)
	return nil
}

func (a *API) getFlag(w http.ResponseWriter, r *http.Request) error {
	out, err := a.svc.GetFlag(r.Context(), r.PathValue("project"), r.PathValue("flag"))
	if err != nil {
		return err
	}
	setETag(w, out.Version)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) updateFlag(w http.ResponseWriter, r *http.Request) error {
	var in domain.Flag
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	base, err := baseVersion(r, in.Version, true)
	if err != nil {
		return err
	}
	in.Project, in.Key = r.PathValue("project"), r.PathValue("flag")
	out, err := a.svc.UpdateFlag(r.Context(), in, base)
	if err != nil {
		return err
	}
	setETag(w, out.Version)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteFlag(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.DeleteFlag(r.Context(), r.PathValue("project"), r.PathValue("flag")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Flag configurations.

func (a *API) getFlagConfig(w http.ResponseWriter, r *http.Request) error {
	out, err := a.svc.GetFlagConfig(r.Context(), r.PathValue("project"), r.PathValue("flag"), r.PathValue("env"))
	if err != nil {
		return err
	}
	setETag(w, out.Version)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// putFlagConfig takes the configuration as GET returns it; the read-only fields (project,
// flag, environment, updatedAt) are ignored, so a client can edit what it read and send it back.
func (a *API) putFlagConfig(w http.ResponseWriter, r *http.Request) error {
	var in domain.FlagConfig
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	base, err := baseVersion(r, in.Version, true)
	if err != nil {
		return err
	}
	out, err := a.svc.PutFlagConfig(r.Context(), r.PathValue("project"), r.PathValue("flag"), r.PathValue("env"), in.Config, base)
	if err != nil {
		return err
	}
	setETag(w, out.Version)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// toggleBody turns a flag on or off. It is the kill switch, so If-Match is optional.
type toggleBody struct {
	Enabled *bool `json:"enabled"`
}

func (a *API) toggleFlag(w http.ResponseWriter, r *http.Request) error {
	var in toggleBody
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Enabled == nil {
		return invalidf("enabled", "required")
	}
	base, err := baseVersion(r, 0, false)
	if err != nil {
		return err
	}
	out, err := a.svc.ToggleFlag(r.Context(), r.PathValue("project"), r.PathValue("flag"), r.PathValue("env"), *in.Enabled, base)
	if err != nil {
		return err
	}
	setETag(w, out.Version)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Segments.

func (a *API) listSegments(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	items, err := a.svc.ListSegments(r.Context(), r.PathValue("project"), p)
	if err != nil {
		return err
	}
	writeList(w, items, nextKey(items, p, func(s domain.Segment) string { return s.Key }))
	return nil
}

func (a *API) createSegment(w http.ResponseWriter, r *http.Request) error {
	var in domain.Segment
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Project = r.PathValue("project")
	out, err := a.svc.CreateSegment(r.Context(), in)
	if err != nil {
		return err
	}
	setETag(w, out.Version)
	created(w, r, out.Key, out)
	return nil
}

func (a *API) getSegment(w http.ResponseWriter, r *http.Request) error {
	out, err := a.svc.GetSegment(r.Context(), r.PathValue("project"), r.PathValue("segment"))
	if err != nil {
		return err
	}
	setETag(w, out.Version)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) updateSegment(w http.ResponseWriter, r *http.Request) error {
	var in domain.Segment
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	base, err := baseVersion(r, in.Version, true)
	if err != nil {
		return err
	}
	in.Project, in.Key = r.PathValue("project"), r.PathValue("segment")
	out, err := a.svc.UpdateSegment(r.Context(), in, base)
	if err != nil {
		return err
	}
	setETag(w, out.Version)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.DeleteSegment(r.Context(), r.PathValue("project"), r.PathValue("segment")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SDK keys.

type sdkKeyBody struct {
	Name string            `json:"name"`
	Kind domain.SDKKeyKind `json:"kind,omitempty"` // server (default) or client
}

// createdSDKKey is the only response that carries the key's secret.
type createdSDKKey struct {
	domain.SDKKey
	Secret string `json:"secret"`
}

func (a *API) listSDKKeys(w http.ResponseWriter, r *http.Request) error {
	items, err := a.svc.ListSDKKeys(r.Context(), r.PathValue("project"), r.PathValue("env"))
	if err != nil {
		return err
	}
	writeList(w, items, "")
	return nil
}

func (a *API) createSDKKey(w http.ResponseWriter, r *http.Request) error {
	var in sdkKeyBody
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	k, secret, err := a.svc.CreateSDKKey(r.Context(), r.PathValue("project"), r.PathValue("env"), in.Name, in.Kind)
	if err != nil {
		return err
	}
	created(w, r, k.ID, createdSDKKey{SDKKey: k, Secret: secret})
	return nil
}

func (a *API) deleteSDKKey(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.DeleteSDKKey(r.Context(), r.PathValue("project"), r.PathValue("env"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Import and export.

// flagFileTypes are the media types of flag files; JSON is JSON, the rest YAML.
var flagFileTypes = []string{"application/yaml", "application/x-yaml", "text/yaml", "application/json"}

func (a *API) importFlags(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(r, flagFileTypes...)
	if err != nil {
		return err
	}
	format := flagfile.FormatYAML
	if mediaType(r) == "application/json" {
		format = flagfile.FormatJSON
	}
	doc, err := flagfile.Parse(data, format)
	if err != nil {
		var ve snapshot.ValidationError
		if errors.As(err, &ve) {
			return err
		}
		return invalidf("", "%v", err)
	}
	sum, err := a.svc.Import(r.Context(), r.PathValue("project"), doc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

func (a *API) exportFlags(w http.ResponseWriter, r *http.Request) error {
	format, mt := flagfile.FormatYAML, "application/yaml"
	switch r.URL.Query().Get("format") {
	case "", "yaml":
	case "json":
		format, mt = flagfile.FormatJSON, "application/json"
	default:
		return invalidf("format", "expected yaml or json")
	}
	doc, err := a.svc.Export(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	body, err := flagfile.Marshal(doc, format)
	if err != nil {
		return fmt.Errorf("marshal export: %w", err)
	}
	w.Header().Set("Content-Type", mt)
	w.Write(body)
	return nil
}

// Audit.

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	f := domain.AuditFilter{
		Project: q.Get("project"), Environment: q.Get("environment"),
		ResourceType: q.Get("resourceType"), ResourceKey: q.Get("resourceKey"),
		ActorKind: q.Get("actorKind"), ActorID: q.Get("actorId"), Limit: p.Limit,
	}
	if p.After != "" {
		if f.BeforeID, err = strconv.ParseInt(p.After, 10, 64); err != nil || f.BeforeID < 1 {
			return invalidf("after", "expected the next cursor of a previous page")
		}
	}
	for name, t := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if s := q.Get(name); s != "" {
			if *t, err = time.Parse(time.RFC3339, s); err != nil {
				return invalidf(name, "expected an RFC 3339 time such as 2026-01-02T15:04:05Z")
			}
		}
	}
	items, err := a.svc.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, items, nextKey(items, p, func(e domain.AuditEvent) string { return strconv.FormatInt(e.ID, 10) }))
	return nil
}

// Webhooks.

// createdWebhook is the only response that carries the webhook's signing secret.
type createdWebhook struct {
	domain.Webhook
	Secret string `json:"secret"`
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	items, err := a.svc.ListWebhooks(r.Context())
	if err != nil {
		return err
	}
	writeList(w, items, "")
	return nil
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in service.WebhookSpec
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	hook, secret, err := a.svc.CreateWebhook(r.Context(), in)
	if err != nil {
		return err
	}
	created(w, r, hook.ID, createdWebhook{Webhook: hook, Secret: secret})
	return nil
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request) error {
	out, err := a.svc.GetWebhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	var in service.WebhookSpec
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	out, err := a.svc.UpdateWebhook(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	items, err := a.svc.ListDeliveries(r.Context(), r.PathValue("id"), p.Limit)
	if err != nil {
		return err
	}
	writeList(w, items, "")
	return nil
}

// Tokens.

type tokenBody struct {
	Name string      `json:"name"`
	Role domain.Role `json:"role"`
}

// createdToken is the only response that carries the token's secret.
type createdToken struct {
	domain.Token
	Secret string `json:"secret"`
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	items, err := a.svc.ListTokens(r.Context())
	if err != nil {
		return err
	}
	writeList(w, items, "")
	return nil
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	var in tokenBody
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, secret, err := a.svc.CreateToken(r.Context(), in.Name, in.Role)
	if err != nil {
		return err
	}
	created(w, r, t.ID, createdToken{Token: t, Secret: secret})
	return nil
}

func (a *API) getToken(w http.ResponseWriter, r *http.Request) error {
	out, err := a.svc.GetToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteToken(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.DeleteToken(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
