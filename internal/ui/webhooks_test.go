package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

var secretShown = regexp.MustCompile(`<pre class="secret" id="secret">([^<]+)</pre>`)

// shownSecret is the secret a page shows once, or fails the test.
func shownSecret(t *testing.T, p page) string {
	t.Helper()
	m := secretShown.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no secret on the page (%d):\n%s", p.status, p.body)
	}
	return m[1]
}

func TestWebhookSecretIsShownOnce(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	b := d.signedInAdmin(t)
	b.get("/webhooks")
	const hookURL = "https://ops:hunter2-pass@hooks.example.com/services/T0001/B0002/XyZ1234567890abcdefGHIJ?token=tok-abc123"
	p := b.post("/webhooks", url.Values{"csrf": {b.csrf()}, "url": {hookURL}, "events": {"flag.changed", "rollout.*"},
		"other": {"gate.failed"}, "format": {"slack"}, "description": {"ops channel"}, "enabled": {"true"}})
	if p.status != http.StatusCreated {
		t.Fatalf("create: %d\n%s", p.status, p.body)
	}
	secret := shownSecret(t, p)
	hooks := testenv.Must(d.store.ListWebhooks(context.Background())).OK(t)
	if len(hooks) != 1 || hooks[0].Secret != secret || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("stored %+v, shown secret %q", hooks, secret)
	}
	h := hooks[0]
	if h.URL != hookURL || !slices.Equal(h.Events, []string{"flag.changed", "rollout.*", "gate.failed"}) || h.Format != "slack" || !h.Enabled {
		t.Errorf("stored %+v", h)
	}

	for _, path := range []string{"/webhooks", "/webhooks/" + h.ID, "/audit", "/audit?type=webhook"} {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, p.status, p.body)
		}
		for _, secretPart := range []string{secret, "hunter2-pass", "XyZ1234567890abcdefGHIJ", "tok-abc123"} {
			if strings.Contains(p.body, secretPart) {
				t.Errorf("%s shows %q", path, secretPart)
			}
		}
	}
	p = b.get("/webhooks")
	mustContain(t, p, "https://ops:•••@hooks.example.com/services/T0001/B0002/XyZ1•••?token=•••", "ops channel",
		`<code class="pattern">rollout.*</code>`, `<span class="badge on">enabled</span>`)
}

func TestWebhookFormErrors(t *testing.T) {
	d := newDashboard(t)
	b := d.signedInAdmin(t)
	b.get("/webhooks")
	p := b.post("/webhooks", url.Values{"csrf": {b.csrf()}, "url": {"ftp://example.com"}, "other": {"flag.exploded"}, "format": {"xml"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("an invalid webhook: %d\n%s", p.status, p.body)
	}
	mustContain(t, p,
		`id="w-url-error" role="alert">expected an absolute http or https URL</span>`,
		`id="w-events-error" role="alert">unknown event type &#34;flag.exploded&#34;`,
		`id="w-format-error" role="alert">unknown format &#34;xml&#34;`,
		`value="flag.exploded"`)
	p = b.post("/webhooks", url.Values{"csrf": {b.csrf()}, "url": {"https://example.com/hook"}})
	mustContain(t, p, `id="w-events-error" role="alert">subscribe to at least one event type`)
	if hooks := testenv.Must(d.store.ListWebhooks(context.Background())).OK(t); len(hooks) != 0 {
		t.Errorf("invalid webhooks were stored: %+v", hooks)
	}
}

func TestWebhookEditEnableDeleteAndDeliveries(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	h, _, err := d.svc.CreateWebhook(admin(), service.WebhookSpec{URL: "https://user:secret-pw@example.com/hook", Events: []string{"flag.changed"}})
	if err != nil {
		t.Fatal(err)
	}
	d.toggles(t, admin(), "production", 1, "to be delivered")
	b := d.signedInAdmin(t)

	p := b.get("/webhooks/" + h.ID)
	if p.status != http.StatusOK {
		t.Fatalf("webhook page: %d\n%s", p.status, p.body)
	}
	deliveries := between(t, p.body, `id="deliveries"`, "</table>")
	if !strings.Contains(deliveries, "<code>flag.changed</code>") || !strings.Contains(deliveries, "delivery-pending") {
		t.Errorf("the deliveries lack the pending flag.changed:\n%s", deliveries)
	}
	if strings.Contains(p.body, "secret-pw") {
		t.Error("the edit form shows the URL's password")
	}

	// Saved with the URL left empty, the URL stays; the rest changes.
	form := formOf(t, p.body, "webhook-form")
	form["events"] = []string{"*"}
	form.Set("description", "everything")
	if p := b.post("/webhooks/"+h.ID, form); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", p.status, p.body)
	}
	got := testenv.Must(d.svc.GetWebhook(context.Background(), h.ID)).OK(t)
	if got.URL != h.URL || !slices.Equal(got.Events, []string{"*"}) || got.Description != "everything" || !got.Enabled {
		t.Errorf("saved %+v", got)
	}
	form.Del("events")
	if p := b.post("/webhooks/"+h.ID, form); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="w-events-error"`) {
		t.Errorf("saving without events: %d", p.status)
	}

	b.get("/webhooks")
	if p := b.post("/webhooks/"+h.ID+"/enabled", url.Values{"csrf": {b.csrf()}, "enabled": {"false"}}); p.status != http.StatusSeeOther {
		t.Fatalf("disable: %d\n%s", p.status, p.body)
	}
	if got := testenv.Must(d.svc.GetWebhook(context.Background(), h.ID)).OK(t); got.Enabled || got.Description != "everything" {
		t.Errorf("after disabling: %+v", got)
	}
	mustContain(t, b.get("/webhooks"), `<span class="badge off">disabled</span>`, ">Enable</button>")

	if p := b.post("/webhooks/"+h.ID+"/delete", url.Values{"csrf": {b.csrf()}}); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", p.status, p.body)
	}
	if _, err := d.svc.GetWebhook(context.Background(), h.ID); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("the webhook is still there: %v", err)
	}
}
