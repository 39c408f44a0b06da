package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

// Webhooks are the server's (they belong to no project) and only admins manage them. A
// webhook's signing secret is shown once, on the page that answers its creation, and never
// again; its URL is shown with its credentials masked, and the edit form leaves it out.

// deliveriesShown is how many recent deliveries a webhook's page lists.
const deliveriesShown = 50

type webhooksPage struct {
	Rows []webhookRow
	Form webhookForm
	// EventChoices are the event patterns offered as checkboxes.
	EventChoices []string
	fieldProblems
}

type webhookRow struct {
	Hook domain.Webhook
	// URL is the webhook's URL with its credentials masked.
	URL string
}

// webhookForm is the create or edit form as sent. Events holds the checked patterns; Other
// the patterns typed besides, comma-separated.
type webhookForm struct {
	URL, Format, Description, Other string
	Events                          []string
	Enabled                         bool
}

// Checked reports whether the form subscribes to pattern.
func (f webhookForm) Checked(pattern string) bool { return slices.Contains(f.Events, pattern) }

// eventChoices lists every event type, each family of several types (rollout.*) before its
// members, and everything (*) first.
func eventChoices() []string {
	choices := []string{"*"}
	for i, t := range service.EventTypes {
		family, _, _ := strings.Cut(t, ".")
		prev := ""
		if i > 0 {
			prev, _, _ = strings.Cut(service.EventTypes[i-1], ".")
		}
		if family != prev && i+1 < len(service.EventTypes) && strings.HasPrefix(service.EventTypes[i+1], family+".") {
			choices = append(choices, family+".*")
		}
		choices = append(choices, t)
	}
	return choices
}

func (u *UI) webhooks(w http.ResponseWriter, r *http.Request) error {
	return u.showWebhooks(w, r, http.StatusOK, webhooksPage{Form: webhookForm{Format: domain.WebhookFormatJSON, Enabled: true}})
}

func (u *UI) showWebhooks(w http.ResponseWriter, r *http.Request, status int, body webhooksPage) error {
	hooks, err := u.svc.ListWebhooks(r.Context())
	if err != nil {
		return err
	}
	for _, h := range hooks {
		body.Rows = append(body.Rows, webhookRow{Hook: h, URL: maskURL(h.URL)})
	}
	body.EventChoices = eventChoices()
	u.render(w, r, status, "webhooks", pageData{Title: "Webhooks", Nav: "webhooks"}, body)
	return nil
}

func parseWebhookForm(r *http.Request) webhookForm {
	f := webhookForm{URL: strings.TrimSpace(r.PostFormValue("url")), Format: r.PostFormValue("format"),
		Description: strings.TrimSpace(r.PostFormValue("description")), Other: r.PostFormValue("other"),
		Enabled: r.PostFormValue("enabled") == "true"}
	for _, e := range append(r.PostForm["events"], splitList(f.Other)...) {
		if !slices.Contains(f.Events, e) {
			f.Events = append(f.Events, e)
		}
	}
	return f
}

func (f webhookForm) spec() service.WebhookSpec {
	return service.WebhookSpec{URL: f.URL, Events: f.Events, Format: f.Format, Description: f.Description, Enabled: &f.Enabled}
}

type webhookCreatedPage struct {
	Hook   domain.Webhook
	URL    string
	Secret string
}

// createWebhook creates a webhook and answers with the page that shows its secret, the only
// time it is shown: the secret cannot go through a redirect's URL.
func (u *UI) createWebhook(w http.ResponseWriter, r *http.Request) error {
	form := parseWebhookForm(r)
	form.Other = strings.Join(otherPatterns(form.Events), ", ")
	h, secret, err := u.svc.CreateWebhook(r.Context(), form.spec())
	if err != nil {
		body := webhooksPage{Form: form}
		if !body.saveFailed(err, err.Error()) {
			return err
		}
		return u.showWebhooks(w, r, statusOf(err), body)
	}
	u.render(w, r, http.StatusCreated, "webhook-created", pageData{Title: "Webhook created", Nav: "webhooks"},
		webhookCreatedPage{Hook: h, URL: maskURL(h.URL), Secret: secret})
	return nil
}

// otherPatterns are the patterns among events that are not offered as checkboxes.
func otherPatterns(events []string) []string {
	choices := eventChoices()
	var out []string
	for _, e := range events {
		if !slices.Contains(choices, e) {
			out = append(out, e)
		}
	}
	return out
}

type webhookPage struct {
	Hook         domain.Webhook
	URL          string
	Form         webhookForm
	EventChoices []string
	Deliveries   []domain.Delivery
	fieldProblems
}

func (u *UI) webhook(w http.ResponseWriter, r *http.Request) error {
	h, err := u.svc.GetWebhook(r.Context(), r.PathValue("webhook"))
	if err != nil {
		return err
	}
	form := webhookForm{Format: h.Format, Description: h.Description, Enabled: h.Enabled, Events: h.Events,
		Other: strings.Join(otherPatterns(h.Events), ", ")}
	return u.showWebhook(w, r, http.StatusOK, webhookPage{Hook: h, Form: form})
}

func (u *UI) showWebhook(w http.ResponseWriter, r *http.Request, status int, body webhookPage) error {
	deliveries, err := u.svc.ListDeliveries(r.Context(), body.Hook.ID, deliveriesShown)
	if err != nil {
		return err
	}
	body.Deliveries, body.URL, body.EventChoices = deliveries, maskURL(body.Hook.URL), eventChoices()
	u.render(w, r, status, "webhook", pageData{Title: "Webhook", Nav: "webhooks"}, body)
	return nil
}

// saveWebhook replaces a webhook's settings. An empty URL keeps the current one, which the
// form does not show since it may carry credentials.
func (u *UI) saveWebhook(w http.ResponseWriter, r *http.Request) error {
	h, err := u.svc.GetWebhook(r.Context(), r.PathValue("webhook"))
	if err != nil {
		return err
	}
	form := parseWebhookForm(r)
	spec := form.spec()
	if spec.URL == "" {
		spec.URL = h.URL
	}
	if _, err := u.svc.UpdateWebhook(r.Context(), h.ID, spec); err != nil {
		body := webhookPage{Hook: h, Form: form}
		body.Form.Other = strings.Join(otherPatterns(form.Events), ", ")
		if !body.saveFailed(err, err.Error()) {
			return err
		}
		return u.showWebhook(w, r, statusOf(err), body)
	}
	redirect(w, r, "/webhooks/"+url.PathEscape(h.ID), "Webhook saved")
	return nil
}

// enableWebhook turns a webhook on or off, keeping the rest of its settings.
func (u *UI) enableWebhook(w http.ResponseWriter, r *http.Request) error {
	h, err := u.svc.GetWebhook(r.Context(), r.PathValue("webhook"))
	if err != nil {
		return err
	}
	enabled := r.PostFormValue("enabled") == "true"
	spec := service.WebhookSpec{URL: h.URL, Events: h.Events, Format: h.Format, Description: h.Description, Enabled: &enabled}
	if _, err := u.svc.UpdateWebhook(r.Context(), h.ID, spec); err != nil {
		return err
	}
	state := "disabled"
	if enabled {
		state = "enabled"
	}
	redirect(w, r, "/webhooks", "Webhook to "+maskURL(h.URL)+" "+state)
	return nil
}

func (u *UI) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	h, err := u.svc.GetWebhook(r.Context(), r.PathValue("webhook"))
	if err != nil {
		return err
	}
	if err := u.svc.DeleteWebhook(r.Context(), h.ID); err != nil {
		return err
	}
	redirect(w, r, "/webhooks", "Webhook to "+maskURL(h.URL)+" deleted")
	return nil
}

// maskURL shows a URL without its credentials: the password of its user information, the
// values of its query, and path segments that look like tokens (long, with digits or capitals),
// as chat services' incoming-webhook URLs carry theirs in the path. What is masked keeps its
// first characters, to tell URLs apart.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unreadable URL)"
	}
	out := u.Scheme + "://"
	if u.User != nil {
		out += u.User.Username() + ":•••@"
	}
	out += u.Host
	segments := strings.Split(u.EscapedPath(), "/")
	for i, s := range segments {
		if looksLikeToken(s) {
			segments[i] = s[:4] + "•••"
		}
	}
	out += strings.Join(segments, "/")
	if u.RawQuery != "" {
		var params []string
		for _, p := range strings.Split(u.RawQuery, "&") {
			name, _, _ := strings.Cut(p, "=")
			params = append(params, name+"=•••")
		}
		out += "?" + strings.Join(params, "&")
	}
	return out
}

func looksLikeToken(s string) bool {
	if len(s) < 16 {
		return false
	}
	varied := false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			varied = true
		case c >= 'a' && c <= 'z', c == '-', c == '_':
		default:
			return false
		}
	}
	return varied
}
