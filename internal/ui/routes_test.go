package ui

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
)

// pathValues fills the wildcards of every route with something that exists, so that a refusal
// can only come from the authorization being checked.
var pathValues = strings.NewReplacer("{project}", "shop", "{flag}", "new-checkout", "{segment}", "staff",
	"{gate}", "checkout-slo", "{id}", "none", "{user}", "none", "{action}", "pause", "{webhook}", "none", "{key}", "none", "{$}", "")

// Every route but the sign-in form needs a session, and every route needs its role: signed
// out, pages lead to the sign-in form and form posts are refused; a viewer is refused what
// editors and admins may do, an editor what only admins may do, and nothing changes.
func TestEveryRouteChecksAuthorization(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "flagpilot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := service.New(store, service.Options{})
	admin := auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindToken, ID: "setup", Name: "setup", Role: domain.RoleAdmin})
	if _, err := svc.CreateProject(admin, domain.Project{Key: "shop"}); err != nil {
		t.Fatal(err)
	}
	// session signs in with a new token of role and returns the session's secret.
	session := func(role domain.Role) string {
		_, token, err := svc.CreateToken(admin, string(role), role)
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := svc.LoginWithToken(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	sessions := map[domain.Role]string{domain.RoleViewer: session(domain.RoleViewer), domain.RoleEditor: session(domain.RoleEditor)}
	u := New(svc, Options{})
	srv := httptest.NewTLSServer(u)
	defer srv.Close()
	before := auditCount(t, svc, admin)

	client := func(secret string) *http.Client {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if secret != "" {
			c.Transport = sessionTransport{secret: secret, base: c.Transport}
		}
		return c
	}

	for _, rt := range u.routes() {
		if rt.role == "" {
			continue
		}
		path := pathValues.Replace(rt.path)
		send := func(c *http.Client, form url.Values) *http.Response {
			t.Helper()
			var req *http.Request
			if rt.method == http.MethodPost {
				req, _ = http.NewRequest(rt.method, srv.URL+path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req, _ = http.NewRequest(rt.method, srv.URL+path, nil)
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}
		res := send(client(""), url.Values{})
		want := http.StatusSeeOther
		if rt.method == http.MethodPost {
			want = http.StatusUnauthorized
		}
		if res.StatusCode != want || (want == http.StatusSeeOther && !strings.HasPrefix(res.Header.Get("Location"), "/login?next=")) {
			t.Errorf("%s %s signed out: %d %s, want %d", rt.method, rt.path, res.StatusCode, res.Header.Get("Location"), want)
		}
		for role, secret := range sessions {
			if role.Allows(rt.role) {
				continue
			}
			if res := send(client(secret), url.Values{"csrf": {auth.CSRFToken(secret)}}); res.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403", rt.method, rt.path, role, res.StatusCode)
			}
		}
	}
	if after := auditCount(t, svc, admin); after != before {
		t.Errorf("refused requests changed something: %d audit events, then %d", before, after)
	}
}

type sessionTransport struct {
	secret string
	base   http.RoundTripper
}

func (s sessionTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: s.secret})
	return s.base.RoundTrip(r)
}

func auditCount(t *testing.T, svc *service.Service, ctx context.Context) int {
	t.Helper()
	events, err := svc.ListAudit(ctx, domain.AuditFilter{Limit: domain.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}
