package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// The audit log, newest first: a project's (its flags, segments, environments, keys,
// rollouts and gates) and the whole server's, where tokens, users and webhooks, which belong to
// no project, are found too.

const (
	auditPerPage = 50
	// auditScanLimit bounds the events one page reads when a text filter leaves most out; the
	// page then offers to go on further back.
	auditScanLimit = 5000
	auditScanBatch = 500
)

// Resource types and actor kinds the filters offer.
var (
	projectResourceTypes = []string{"flag", "segment", "environment", "sdk_key", "rollout", "gate", "project"}
	serverResourceTypes  = []string{"token", "user", "webhook"}
	actorKinds           = []string{domain.ActorUser, domain.ActorToken, domain.ActorAutopilot, domain.ActorSystem}
)

type auditPage struct {
	// ServerWide is set on the server's log, where events of every project are shown.
	ServerWide bool
	Filter     auditFilter
	Types      []string
	ActorKinds []string
	Entries    []historyEntry
	// Older continues the listing before this event id; 0 on the last page.
	Older int64
}

// auditFilter is the filter form as sent.
type auditFilter struct {
	Project, Environment, Type, Actor, Text string
	Before                                  int64
	// Env is the environment the page's switcher shows, kept by the paging links.
	Env string
}

// PageHref links to the page of events before the event before (the newest with 0), with
// the same filters.
func (p auditPage) PageHref(before int64) string {
	f := p.Filter
	v := url.Values{}
	for name, value := range map[string]string{"environment": f.Environment, "type": f.Type, "actor": f.Actor, "q": f.Text, "env": f.Env} {
		if value != "" {
			v.Set(name, value)
		}
	}
	if p.ServerWide && f.Project != "" {
		v.Set("project", f.Project)
	}
	if before > 0 {
		v.Set("before", strconv.FormatInt(before, 10))
	}
	return "?" + v.Encode()
}

func (u *UI) projectAudit(w http.ResponseWriter, r *http.Request) error {
	pd, err := u.projectPage(r, "audit", "Audit log")
	if err != nil {
		return err
	}
	f, err := readAuditFilter(r)
	if err != nil {
		return err
	}
	f.Project, f.Env = pd.Project, pd.Env
	return u.showAudit(w, r, pd, auditPage{Filter: f, Types: projectResourceTypes})
}

func (u *UI) serverAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := readAuditFilter(r)
	if err != nil {
		return err
	}
	projects, err := u.svc.ListProjects(r.Context(), domain.Page{Limit: domain.MaxPageLimit})
	if err != nil {
		return err
	}
	pd := pageData{Title: "Audit log", Nav: "server-audit", Projects: projects}
	types := append(append([]string{}, serverResourceTypes...), projectResourceTypes...)
	return u.showAudit(w, r, pd, auditPage{ServerWide: true, Filter: f, Types: types})
}

func readAuditFilter(r *http.Request) (auditFilter, error) {
	q := r.URL.Query()
	f := auditFilter{Project: q.Get("project"), Environment: q.Get("environment"), Type: q.Get("type"),
		Actor: q.Get("actor"), Text: strings.TrimSpace(q.Get("q"))}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return f, domain.FieldErrorf("before", "expected the id of an audit event, a positive whole number; got %q", s)
		}
		f.Before = n
	}
	return f, nil
}

func (u *UI) showAudit(w http.ResponseWriter, r *http.Request, pd pageData, body auditPage) error {
	body.ActorKinds = actorKinds
	f := body.Filter
	events, older, err := u.readAudit(r.Context(), domain.AuditFilter{Project: f.Project, Environment: f.Environment,
		ResourceType: f.Type, ActorKind: f.Actor, BeforeID: f.Before}, f.Text)
	if err != nil {
		return err
	}
	body.Older = older
	for _, e := range events {
		body.Entries = append(body.Entries, historyEntry{Event: e, Diff: diffJSON(e.Before, e.After)})
	}
	u.render(w, r, http.StatusOK, "audit", pd, body)
	return nil
}

// readAudit reads a page of events that f selects and that contain text (ignoring case), and
// the id to continue before, 0 when there is nothing further back.
func (u *UI) readAudit(ctx context.Context, f domain.AuditFilter, text string) ([]domain.AuditEvent, int64, error) {
	if text == "" {
		f.Limit = auditPerPage + 1
		events, err := u.svc.ListAudit(ctx, f)
		if err != nil {
			return nil, 0, err
		}
		var older int64
		if len(events) > auditPerPage {
			events = events[:auditPerPage]
			older = events[auditPerPage-1].ID
		}
		for i := range events {
			events[i] = maskCredentials(events[i])
		}
		return events, older, nil
	}
	needle := []byte(strings.ToLower(text))
	f.Limit = auditScanBatch
	var out []domain.AuditEvent
	for scanned := 0; ; {
		events, err := u.svc.ListAudit(ctx, f)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range events {
			if e = maskCredentials(e); mentions(e, needle) {
				out = append(out, e)
				if len(out) == auditPerPage {
					return out, e.ID, nil
				}
			}
		}
		scanned += len(events)
		if len(events) < f.Limit {
			return out, 0, nil
		}
		f.BeforeID = events[len(events)-1].ID
		if scanned >= auditScanLimit {
			return out, f.BeforeID, nil
		}
	}
}

// mentions reports whether an event's words or states contain needle, which is in lower case.
func mentions(e domain.AuditEvent, needle []byte) bool {
	for _, s := range []string{e.Action, e.ResourceType, e.ResourceKey, e.Actor.Name, e.Actor.ID, e.Comment, e.Project, e.Environment} {
		if bytes.Contains(bytes.ToLower([]byte(s)), needle) {
			return true
		}
	}
	return bytes.Contains(bytes.ToLower(e.Before), needle) || bytes.Contains(bytes.ToLower(e.After), needle)
}

// ResourceHref links to the page of the changed resource, when it has one that still makes
// sense after the change; "" otherwise.
func (h historyEntry) ResourceHref() string {
	e := h.Event
	if strings.HasSuffix(e.Action, ".deleted") {
		return ""
	}
	project := "/p/" + url.PathEscape(e.Project)
	withEnv := ""
	if e.Environment != "" {
		withEnv = "?env=" + url.QueryEscape(e.Environment)
	}
	switch e.ResourceType {
	case "flag", "rollout":
		return project + "/flags/" + url.PathEscape(e.ResourceKey) + withEnv
	case "segment":
		return project + "/segments/" + url.PathEscape(e.ResourceKey)
	case "environment":
		return project + "/environments"
	case "sdk_key":
		return project + "/keys" + withEnv
	case "webhook":
		return "/webhooks/" + url.PathEscape(e.ResourceKey)
	case "user":
		return "/users#user-" + url.PathEscape(e.ResourceKey)
	}
	return ""
}

// maskCredentials masks the credentials of a webhook's URL in the states an event recorded, as
// the webhook pages do.
func maskCredentials(e domain.AuditEvent) domain.AuditEvent {
	if e.ResourceType != "webhook" {
		return e
	}
	mask := func(state json.RawMessage) json.RawMessage {
		var fields map[string]any
		if len(state) == 0 || json.Unmarshal(state, &fields) != nil {
			return state
		}
		if u, ok := fields["url"].(string); ok {
			fields["url"] = maskURL(u)
		}
		masked, err := json.Marshal(fields)
		if err != nil {
			return state
		}
		return masked
	}
	e.Before, e.After = mask(e.Before), mask(e.After)
	return e
}
