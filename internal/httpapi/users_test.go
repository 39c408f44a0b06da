package httpapi

import (
	"context"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/domain"
)

func TestUsers(t *testing.T) {
	e := newTestEnv(t, Options{})
	ctx := context.Background()
	const password = "correct horse battery"
	r := e.do("POST", "/api/v1/users", e.admin, `{"email":"Ada@Example.com","name":"Ada","role":"editor","password":"`+password+`"}`)
	var ada domain.User
	e.ok(r, 201, &ada)
	if ada.ID == "" || ada.Email != "Ada@Example.com" || ada.Name != "Ada" || ada.Role != domain.RoleEditor || ada.CreatedBy != "initial admin" ||
		r.header.Get("Location") != "/api/v1/users/"+ada.ID {
		t.Errorf("created %+v at %q", ada, r.header.Get("Location"))
	}
	for _, path := range []string{"/api/v1/users", "/api/v1/users/" + ada.ID} {
		r := e.do("GET", path, e.admin, nil)
		if r.status != 200 || !strings.Contains(string(r.body), ada.ID) || strings.Contains(string(r.body), "$2a$") ||
			strings.Contains(strings.ToLower(string(r.body)), "password") || strings.Contains(string(r.body), "lastLoginAt") {
			t.Errorf("GET %s: %d %s; want the user, without its hash, never signed in", path, r.status, r.body)
		}
	}
	if _, _, err := e.api.svc.Login(ctx, "ada@example.com", password); err != nil {
		t.Fatalf("the created user cannot sign in: %v", err)
	}
	var list page[domain.User]
	e.ok(e.do("GET", "/api/v1/users", e.admin, nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].LastLoginAt.IsZero() {
		t.Errorf("after a login: %+v", list.Items)
	}

	var changed domain.User
	e.ok(e.do("PUT", "/api/v1/users/"+ada.ID, e.admin, `{"role":"admin"}`), 200, &changed)
	if changed.Role != domain.RoleAdmin || changed.Name != "Ada" {
		t.Errorf("after PUT role: %+v", changed)
	}
	e.ok(e.do("PUT", "/api/v1/users/"+ada.ID, e.admin, `{"name":"Ada Lovelace"}`), 200, &changed)
	if changed.Role != domain.RoleAdmin || changed.Name != "Ada Lovelace" {
		t.Errorf("after PUT name: %+v", changed)
	}

	// A new password ends the user's sessions; the old one no longer works.
	_, session, err := e.api.svc.Login(ctx, "ada@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	e.ok(e.do("PUT", "/api/v1/users/"+ada.ID+"/password", e.admin, `{"password":"a brand new password"}`), 204, nil)
	if _, _, err := e.api.svc.Session(ctx, session); domain.ErrorCode(err) != domain.CodeUnauthorized {
		t.Errorf("the session outlived the password change: %v", err)
	}
	if _, _, err := e.api.svc.Login(ctx, "ada@example.com", password); domain.ErrorCode(err) != domain.CodeUnauthorized {
		t.Errorf("the old password still works: %v", err)
	}
	if _, _, err := e.api.svc.Login(ctx, "ada@example.com", "a brand new password"); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}

	var audit page[domain.AuditEvent]
	e.ok(e.do("GET", "/api/v1/audit?resourceType=user", e.admin, nil), 200, &audit)
	var actions []string
	for _, ev := range audit.Items {
		actions = append(actions, ev.Action)
		if strings.Contains(string(ev.After), "$2a$") || strings.Contains(string(ev.Before), "$2a$") {
			t.Errorf("%s records the hash", ev.Action)
		}
	}
	if strings.Join(actions, " ") != "user.password_changed user.updated user.updated user.created" {
		t.Errorf("audit %v", actions)
	}

	e.ok(e.do("DELETE", "/api/v1/users/"+ada.ID, e.admin, nil), 204, nil)
	e.fails(e.do("GET", "/api/v1/users/"+ada.ID, e.admin, nil), 404, "not_found")
	e.fails(e.do("DELETE", "/api/v1/users/"+ada.ID, e.admin, nil), 404, "not_found")
	e.fails(e.do("PUT", "/api/v1/users/"+ada.ID+"/password", e.admin, `{"password":"a brand new password"}`), 404, "not_found")
}

func TestUsersRefuseBadInput(t *testing.T) {
	e := newTestEnv(t, Options{})
	var bob domain.User
	e.ok(e.do("POST", "/api/v1/users", e.admin, `{"email":"bob@example.com","role":"viewer","password":"0123456789"}`), 201, &bob)
	n := e.auditCount()
	tests := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"bad e-mail", "POST", "/api/v1/users", `{"email":"bob","role":"viewer","password":"0123456789"}`, 400, "invalid", "email"},
		{"unknown role", "POST", "/api/v1/users", `{"email":"carol@example.com","role":"owner","password":"0123456789"}`, 400, "invalid", "role"},
		{"short password", "POST", "/api/v1/users", `{"email":"carol@example.com","role":"viewer","password":"012345678"}`, 400, "invalid", "password"},
		{"taken e-mail", "POST", "/api/v1/users", `{"email":"BOB@example.com","role":"viewer","password":"0123456789"}`, 409, "conflict", "email"},
		{"unknown field", "POST", "/api/v1/users", `{"email":"carol@example.com","role":"viewer","password":"0123456789","admin":true}`, 400, "invalid", "admin"},
		{"update with an unknown role", "PUT", "/api/v1/users/" + bob.ID, `{"role":"owner"}`, 400, "invalid", "role"},
		{"update of the e-mail", "PUT", "/api/v1/users/" + bob.ID, `{"email":"b@example.com"}`, 400, "invalid", "email"},
		{"update of nobody", "PUT", "/api/v1/users/nobody", `{"name":"x"}`, 404, "not_found", ""},
		{"long password", "PUT", "/api/v1/users/" + bob.ID + "/password", `{"password":"` + strings.Repeat("x", 73) + `"}`, 400, "invalid", "password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := e.fails(e.do(tc.method, tc.path, e.admin, tc.body), tc.status, tc.code)
			if d.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", d.Field, tc.field, d.Message)
			}
		})
	}
	var list page[domain.User]
	e.ok(e.do("GET", "/api/v1/users", e.admin, nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].Role != domain.RoleViewer || list.Items[0].Name != "" {
		t.Errorf("users %+v, want bob unchanged", list.Items)
	}
	if got := e.auditCount(); got != n {
		t.Errorf("%d audit events written", got-n)
	}
}
