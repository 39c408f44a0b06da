package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

// user creates a dashboard user with role and returns a browser signed in as them.
func (d *dashboard) user(t *testing.T, email string, role domain.Role) (*browser, domain.User) {
	t.Helper()
	const password = "correct horse battery"
	u := testenv.Must(d.svc.CreateUser(admin(), service.UserSpec{Email: email, Role: role, Password: password})).OK(t)
	b := d.browser(t)
	if p := b.loginWithPassword(email, password); p.status != http.StatusSeeOther {
		t.Fatalf("%s cannot sign in: %d\n%s", email, p.status, p.body)
	}
	return b, u
}

// loginWithPassword signs in with an e-mail and password through the sign-in form.
func (b *browser) loginWithPassword(email, password string) page {
	b.t.Helper()
	b.get("/login")
	m := nonceField.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no nonce on the sign-in page:\n%s", b.last)
	}
	return b.post("/login", url.Values{"nonce": {m[1]}, "email": {email}, "password": {password}})
}

// signedInAdmin is a browser signed in with the bootstrap admin token.
func (d *dashboard) signedInAdmin(t *testing.T) *browser {
	t.Helper()
	b := d.browser(t)
	if p := b.login(d.token); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the token: %d\n%s", p.status, p.body)
	}
	return b
}

// auditCount is the number of audit events: every change makes one, so a refused request
// leaves it as it was.
func (d *dashboard) auditCount(t *testing.T) int {
	t.Helper()
	return len(testenv.Must(d.svc.ListAudit(admin(), domain.AuditFilter{Limit: domain.MaxPageLimit})).OK(t))
}

// mustContain fails the test for each want the page lacks.
func mustContain(t *testing.T, p page, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page (%d) lacks %q", p.status, want)
		}
	}
}

// between returns the part of body from the first start to the following end.
func between(t *testing.T, body, start, end string) string {
	t.Helper()
	i := strings.Index(body, start)
	if i < 0 {
		t.Fatalf("no %q on the page:\n%s", start, body)
	}
	rest := body[i:]
	j := strings.Index(rest, end)
	if j < 0 {
		t.Fatalf("no %q after %q", end, start)
	}
	return rest[:j]
}
