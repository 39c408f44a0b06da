package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

// userByEmail is the stored user with an e-mail address, or fails the test.
func (d *dashboard) userByEmail(t *testing.T, email string) domain.User {
	t.Helper()
	u, err := d.store.GetUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func TestCreateUsers(t *testing.T) {
	d := newDashboard(t)
	b := d.signedInAdmin(t)
	b.get("/users")

	p := b.post("/users", url.Values{"csrf": {b.csrf()}, "email": {"ann@example.com"}, "name": {"Ann"}, "role": {"editor"}, "password": {"ann's long password"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("create with a password: %d\n%s", p.status, p.body)
	}
	if ann := d.userByEmail(t, "ann@example.com"); ann.Role != domain.RoleEditor || ann.Name != "Ann" {
		t.Errorf("stored %+v", ann)
	}
	if p := d.browser(t).loginWithPassword("ann@example.com", "ann's long password"); p.status != http.StatusSeeOther {
		t.Errorf("ann cannot sign in with her password: %d", p.status)
	}

	p = b.post("/users", url.Values{"csrf": {b.csrf()}, "email": {"bob@example.com"}, "role": {"viewer"}})
	if p.status != http.StatusCreated {
		t.Fatalf("create with a generated password: %d\n%s", p.status, p.body)
	}
	password := shownSecret(t, p)
	if p := d.browser(t).loginWithPassword("bob@example.com", password); p.status != http.StatusSeeOther {
		t.Errorf("bob cannot sign in with the password shown: %d", p.status)
	}
	for _, path := range []string{"/users", "/audit?type=user"} {
		if p := b.get(path); p.status != http.StatusOK || strings.Contains(p.body, password) {
			t.Errorf("%s: %d, shows the password: %v", path, p.status, strings.Contains(p.body, password))
		}
	}
	row := between(t, b.get("/users").body, `id="user-`+d.userByEmail(t, "ann@example.com").ID+`"`, "</tr>")
	if !strings.Contains(row, "ann@example.com") || !strings.Contains(row, `<option value="editor" selected>`) || strings.Contains(row, ">never<") {
		t.Errorf("ann's row (she signed in):\n%s", row)
	}
}

func TestCreateUserErrors(t *testing.T) {
	d := newDashboard(t)
	b := d.signedInAdmin(t)
	b.get("/users")
	p := b.post("/users", url.Values{"csrf": {b.csrf()}, "email": {"Ann <ann@example.com>"}, "role": {"owner"}, "password": {"short"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("an invalid user: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, `id="u-email-error" role="alert">expected an e-mail address`, `id="u-role-error" role="alert">unknown role &#34;owner&#34;`,
		`id="u-password-error" role="alert">expected 10 to 72 bytes, got 5</span>`, `value="Ann &lt;ann@example.com&gt;"`)
	if strings.Contains(p.body, `value="short"`) {
		t.Error("the refused password is sent back in the form")
	}
	if users := testenv.Must(d.svc.ListUsers(admin())).OK(t); len(users) != 0 {
		t.Errorf("an invalid user was stored: %+v", users)
	}
}

func TestChangeRoleResetPasswordAndDelete(t *testing.T) {
	d := newDashboard(t)
	annBrowser, ann := d.user(t, "ann@example.com", domain.RoleViewer)
	b := d.signedInAdmin(t)
	b.get("/users")

	if p := b.post("/users/"+ann.ID+"/role", url.Values{"csrf": {b.csrf()}, "role": {"editor"}}); p.status != http.StatusSeeOther {
		t.Fatalf("role: %d\n%s", p.status, p.body)
	}
	if got := d.userByEmail(t, "ann@example.com"); got.Role != domain.RoleEditor {
		t.Errorf("role %s, want editor", got.Role)
	}
	if p := b.post("/users/"+ann.ID+"/role", url.Values{"csrf": {b.csrf()}, "role": {"root"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Role not changed: role: unknown role") {
		t.Errorf("an unknown role: %d", p.status)
	}

	p := b.post("/users/"+ann.ID+"/password", url.Values{"csrf": {b.csrf()}})
	if p.status != http.StatusOK {
		t.Fatalf("reset: %d\n%s", p.status, p.body)
	}
	password := shownSecret(t, p)
	if p := annBrowser.get("/p/shop/flags"); p.status != http.StatusSeeOther {
		t.Errorf("ann's session survived the reset: %d", p.status)
	}
	if p := d.browser(t).loginWithPassword("ann@example.com", "correct horse battery"); p.status != http.StatusUnauthorized {
		t.Errorf("the old password still works: %d", p.status)
	}
	if p := d.browser(t).loginWithPassword("ann@example.com", password); p.status != http.StatusSeeOther {
		t.Errorf("the new password does not work: %d", p.status)
	}
	if p := b.post("/users/"+ann.ID+"/password", url.Values{"csrf": {b.csrf()}, "password": {"short"}}); p.status != http.StatusBadRequest {
		t.Errorf("a short password: %d", p.status)
	}

	if p := b.post("/users/"+ann.ID+"/delete", url.Values{"csrf": {b.csrf()}}); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", p.status, p.body)
	}
	if _, err := d.store.GetUserByEmail(context.Background(), "ann@example.com"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("ann is still there: %v", err)
	}
}

func TestAdminsCannotDeleteThemselves(t *testing.T) {
	d := newDashboard(t)
	b, me := d.user(t, "root@example.com", domain.RoleAdmin)
	p := b.get("/users")
	if row := between(t, p.body, `id="user-`+me.ID+`"`, "</tr>"); strings.Contains(row, "/delete") || strings.Contains(row, "/password") {
		t.Errorf("one's own row offers deletion or a reset:\n%s", row)
	}
	n := d.auditCount(t)
	for _, action := range []string{"delete", "password"} {
		if p := b.post("/users/"+me.ID+"/"+action, url.Values{"csrf": {b.csrf()}}); p.status != http.StatusBadRequest {
			t.Errorf("%s of oneself: %d, want 400", action, p.status)
		}
	}
	if d.auditCount(t) != n {
		t.Error("a refused change was made")
	}
}

func TestAccountPasswordChange(t *testing.T) {
	d := newDashboard(t)
	b, _ := d.user(t, "ann@example.com", domain.RoleViewer)
	other := d.browser(t)
	other.loginWithPassword("ann@example.com", "correct horse battery")
	p := b.get("/account")
	if p.status != http.StatusOK {
		t.Fatalf("account: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "ann@example.com", `id="password-form"`)

	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"current": {"wrong password"}, "password": {"a new long password"}, "confirm": {"a new long password"}},
			`id="current-error" role="alert">does not match your current password</span>`},
		{url.Values{"current": {"correct horse battery"}, "password": {"a new long password"}, "confirm": {"another"}},
			`id="confirm-error" role="alert">does not match the new password</span>`},
		{url.Values{"current": {"correct horse battery"}, "password": {"short"}, "confirm": {"short"}},
			`id="password-error" role="alert">expected 10 to 72 bytes, got 5</span>`},
	} {
		tc.form.Set("csrf", b.csrf())
		p := b.post("/account", tc.form)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, tc.want) {
			t.Errorf("%v: %d, want 400 with %s", tc.form, p.status, tc.want)
		}
	}
	if p := d.browser(t).loginWithPassword("ann@example.com", "correct horse battery"); p.status != http.StatusSeeOther {
		t.Fatal("a refused change changed the password")
	}

	p = b.post("/account", url.Values{"csrf": {b.csrf()}, "current": {"correct horse battery"}, "password": {"a new long password"}, "confirm": {"a new long password"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("change: %d\n%s", p.status, p.body)
	}
	if p := b.get("/account"); p.status != http.StatusOK {
		t.Errorf("this session ended with the change: %d", p.status)
	}
	if p := other.get("/account"); p.status != http.StatusSeeOther {
		t.Errorf("another session survived the change: %d", p.status)
	}
	if p := d.browser(t).loginWithPassword("ann@example.com", "a new long password"); p.status != http.StatusSeeOther {
		t.Errorf("the new password does not work: %d", p.status)
	}
}

func TestAccountOfATokenSession(t *testing.T) {
	d := newDashboard(t)
	b := d.signedInAdmin(t)
	p := b.get("/account")
	mustContain(t, p, "You signed in with an admin token")
	if strings.Contains(p.body, `id="password-form"`) {
		t.Error("a token's session is offered a password change")
	}
	if p := b.post("/account", url.Values{"csrf": {b.csrf()}, "current": {"x"}, "password": {"a new long password"}, "confirm": {"a new long password"}}); p.status != http.StatusBadRequest {
		t.Errorf("a token's session changing a password: %d, want 400", p.status)
	}
}
