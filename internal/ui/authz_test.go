package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// TestEveryNewRouteChecksItsRole signs in as nobody, a viewer and an editor, and tries every
// page and form of the analytics, segments, audit, keys, webhooks, users and account pages:
// without a session, pages send to the sign-in form and forms answer 401; with too small a
// role, both answer 403 and change nothing.
func TestEveryNewRouteChecksItsRole(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	ctx := admin()
	testenv.Must(d.svc.CreateSegment(ctx, domain.Segment{Project: "shop", Segment: snapshot.Segment{Key: "beta"}})).OK(t)
	key, _, err := d.svc.CreateSDKKey(ctx, "shop", "production", "web", domain.SDKKeyServer)
	if err != nil {
		t.Fatal(err)
	}
	hook, _, err := d.svc.CreateWebhook(ctx, service.WebhookSpec{URL: "https://example.com/hook", Events: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	viewer, _ := d.user(t, "viewer@example.com", domain.RoleViewer)
	editor, ed := d.user(t, "editor@example.com", domain.RoleEditor)

	type route struct {
		method, path string
		need         domain.Role
		form         url.Values
	}
	routes := []route{
		{"GET", "/p/shop/analytics?env=production", domain.RoleViewer, nil},
		{"GET", "/p/shop/segments", domain.RoleViewer, nil},
		{"POST", "/p/shop/segments", domain.RoleEditor, url.Values{"key": {"gamma"}}},
		{"GET", "/p/shop/segments/beta", domain.RoleViewer, nil},
		{"POST", "/p/shop/segments/beta", domain.RoleEditor, url.Values{"action": {"save"}, "version": {"1"}, "include": {"u1"}}},
		{"POST", "/p/shop/segments/beta/delete", domain.RoleEditor, nil},
		{"GET", "/p/shop/audit", domain.RoleViewer, nil},
		{"GET", "/audit", domain.RoleAdmin, nil},
		{"GET", "/p/shop/keys?env=production", domain.RoleAdmin, nil},
		{"POST", "/p/shop/keys", domain.RoleAdmin, url.Values{"env": {"production"}, "name": {"stolen"}}},
		{"POST", "/p/shop/keys/" + key.ID + "/delete", domain.RoleAdmin, url.Values{"env": {"production"}}},
		{"GET", "/webhooks", domain.RoleAdmin, nil},
		{"POST", "/webhooks", domain.RoleAdmin, url.Values{"url": {"https://evil.example/"}, "events": {"*"}}},
		{"GET", "/webhooks/" + hook.ID, domain.RoleAdmin, nil},
		{"POST", "/webhooks/" + hook.ID, domain.RoleAdmin, url.Values{"url": {"https://evil.example/"}, "events": {"*"}}},
		{"POST", "/webhooks/" + hook.ID + "/enabled", domain.RoleAdmin, url.Values{"enabled": {"false"}}},
		{"POST", "/webhooks/" + hook.ID + "/delete", domain.RoleAdmin, nil},
		{"GET", "/users", domain.RoleAdmin, nil},
		{"POST", "/users", domain.RoleAdmin, url.Values{"email": {"mallory@example.com"}, "role": {"admin"}}},
		{"POST", "/users/" + ed.ID + "/role", domain.RoleAdmin, url.Values{"role": {"admin"}}},
		{"POST", "/users/" + ed.ID + "/password", domain.RoleAdmin, url.Values{"password": {"a password I chose"}}},
		{"POST", "/users/" + ed.ID + "/delete", domain.RoleAdmin, nil},
		{"GET", "/account", domain.RoleViewer, nil},
		{"POST", "/account", domain.RoleViewer, url.Values{"current": {"x"}, "password": {"a new long password"}, "confirm": {"a new long password"}}},
	}
	request := func(b *browser, rt route) page {
		t.Helper()
		if rt.method == "GET" {
			return b.get(rt.path)
		}
		form := url.Values{}
		for k, v := range rt.form {
			form[k] = v
		}
		if csrfField.MatchString(b.last) { // signed in: the token of the session
			form.Set("csrf", b.csrf())
		}
		return b.post(rt.path, form)
	}

	stranger := d.browser(t)
	for _, rt := range routes {
		before := d.auditCount(t)
		p := request(stranger, rt)
		switch {
		case rt.method == "GET" && (p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login?next=")):
			t.Errorf("%s %s without a session: %d to %q, want the sign-in page", rt.method, rt.path, p.status, p.location)
		case rt.method == "POST" && p.status != http.StatusUnauthorized:
			t.Errorf("%s %s without a session: %d, want 401", rt.method, rt.path, p.status)
		}
		if d.auditCount(t) != before {
			t.Errorf("%s %s without a session changed something", rt.method, rt.path)
		}
	}

	for _, who := range []struct {
		name string
		b    *browser
		role domain.Role
	}{{"viewer", viewer, domain.RoleViewer}, {"editor", editor, domain.RoleEditor}} {
		who.b.get("/p/shop/flags") // a page with the session's CSRF token
		for _, rt := range routes {
			if who.role.Allows(rt.need) {
				continue
			}
			before := d.auditCount(t)
			if p := request(who.b, rt); p.status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403", rt.method, rt.path, who.name, p.status)
			}
			if d.auditCount(t) != before {
				t.Errorf("%s %s as %s changed something", rt.method, rt.path, who.name)
			}
		}
	}
	if hooks := testenv.Must(d.store.ListWebhooks(context.Background())).OK(t); len(hooks) != 1 || hooks[0].URL != "https://example.com/hook" || !hooks[0].Enabled {
		t.Errorf("webhooks after the refused requests: %+v", hooks)
	}
}
