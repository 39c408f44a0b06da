package service_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

const password = "correct horse battery"

// user creates a dashboard user with the test password.
func (f *fixture) user(t *testing.T, email string, role domain.Role) domain.User {
	t.Helper()
	return must[domain.User](t)(f.svc.CreateUser(admin, service.UserSpec{Email: email, Name: "N " + email, Role: role, Password: password}))
}

// login signs in and returns the session's secret and a context acting as its principal.
func (f *fixture) login(t *testing.T, email, pw string) (string, context.Context) {
	t.Helper()
	_, secret, err := f.svc.Login(context.Background(), email, pw)
	if err != nil {
		t.Fatalf("Login(%s): %v", email, err)
	}
	p, _, err := f.svc.Session(context.Background(), secret)
	if err != nil {
		t.Fatalf("Session after Login(%s): %v", email, err)
	}
	return secret, auth.WithPrincipal(context.Background(), p)
}

// signedIn reports whether secret's session is live, failing the test on errors other than
// unauthorized.
func (f *fixture) signedIn(t *testing.T, secret string) bool {
	t.Helper()
	_, _, err := f.svc.Session(context.Background(), secret)
	if err != nil && domain.ErrorCode(err) != domain.CodeUnauthorized {
		t.Fatalf("Session: %v", err)
	}
	return err == nil
}

func TestUsersNeedTheAdminRole(t *testing.T) {
	f := newFixture(t)
	other := f.user(t, "other@example.com", domain.RoleViewer)
	f.user(t, "editor@example.com", domain.RoleEditor)
	_, editorUser := f.login(t, "editor@example.com", password)
	sdk := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindSDK, ID: "k", Role: domain.RoleAdmin})
	role, name := domain.RoleAdmin, "x"
	ops := map[string]func(ctx context.Context) error{
		"ListUsers": func(ctx context.Context) error { _, err := f.svc.ListUsers(ctx); return err },
		"GetUser":   func(ctx context.Context) error { _, err := f.svc.GetUser(ctx, other.ID); return err },
		"CreateUser": func(ctx context.Context) error {
			_, err := f.svc.CreateUser(ctx, service.UserSpec{Email: "new@example.com", Role: domain.RoleAdmin, Password: password})
			return err
		},
		"UpdateUser":  func(ctx context.Context) error { _, err := f.svc.UpdateUser(ctx, other.ID, &name, &role); return err },
		"SetPassword": func(ctx context.Context) error { return f.svc.SetPassword(ctx, other.ID, "", "a new password") },
		"DeleteUser":  func(ctx context.Context) error { return f.svc.DeleteUser(ctx, other.ID) },
	}
	callers := []struct {
		name string
		ctx  context.Context
		code domain.Code
	}{
		{"no principal", context.Background(), domain.CodeUnauthorized},
		{"editor token", as(domain.RoleEditor), domain.CodeForbidden},
		{"editor user", editorUser, domain.CodeForbidden},
		{"SDK key", sdk, domain.CodeForbidden},
	}
	n := len(f.audit(t))
	for op, call := range ops {
		for _, c := range callers {
			if err := call(c.ctx); domain.ErrorCode(err) != c.code {
				t.Errorf("%s as %s: %v, want %s", op, c.name, err, c.code)
			}
		}
	}
	if got := len(f.audit(t)); got != n {
		t.Errorf("refused calls wrote %d audit events", got-n)
	}
	if u, err := f.svc.GetUser(admin, other.ID); err != nil || u.Email != other.Email {
		t.Errorf("GetUser as admin: %+v, %v", u, err)
	}
	// A user may read itself.
	p, _ := auth.PrincipalFrom(editorUser)
	if u, err := f.svc.GetUser(editorUser, p.ID); err != nil || u.Email != "editor@example.com" {
		t.Errorf("GetUser of itself: %+v, %v", u, err)
	}
}

func TestCreateUserValidates(t *testing.T) {
	f := newFixture(t)
	f.user(t, "ada@example.com", domain.RoleEditor)
	long := strings.Repeat("p", 73)
	tests := []struct {
		name  string
		spec  service.UserSpec
		code  domain.Code
		field string
		want  string // in the message
	}{
		{"no e-mail", service.UserSpec{Role: "viewer", Password: password}, domain.CodeInvalid, "email", "expected an e-mail address"},
		{"not an e-mail", service.UserSpec{Email: "ada", Role: "viewer", Password: password}, domain.CodeInvalid, "email", "expected an e-mail address"},
		{"display name", service.UserSpec{Email: "Ada <ada@example.org>", Role: "viewer", Password: password}, domain.CodeInvalid, "email", "without a display name"},
		{"e-mail too long", service.UserSpec{Email: strings.Repeat("a", 250) + "@example.com", Role: "viewer", Password: password}, domain.CodeInvalid, "email", "at most 254"},
		{"unknown role", service.UserSpec{Email: "bob@example.com", Role: "root", Password: password}, domain.CodeInvalid, "role", "expected viewer, editor or admin"},
		{"no role", service.UserSpec{Email: "bob@example.com", Password: password}, domain.CodeInvalid, "role", "expected viewer, editor or admin"},
		{"short password", service.UserSpec{Email: "bob@example.com", Role: "viewer", Password: "123456789"}, domain.CodeInvalid, "password", "expected 10 to 72 bytes, got 9"},
		{"long password", service.UserSpec{Email: "bob@example.com", Role: "viewer", Password: long}, domain.CodeInvalid, "password", "expected 10 to 72 bytes, got 73"},
		{"name too long", service.UserSpec{Email: "bob@example.com", Name: strings.Repeat("n", 201), Role: "viewer", Password: password}, domain.CodeInvalid, "name", "longer than 200"},
		{"taken e-mail in other case", service.UserSpec{Email: "ADA@example.com", Role: "viewer", Password: password}, domain.CodeConflict, "email", "exists"},
	}
	n := len(f.audit(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateUser(admin, tc.spec)
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != tc.code || de.Field != tc.field || !strings.Contains(de.Message, tc.want) {
				t.Fatalf("CreateUser: %v, want %s on %s saying %q", err, tc.code, tc.field, tc.want)
			}
			if strings.Contains(err.Error(), tc.spec.Password) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
	if users := must[[]domain.User](t)(f.svc.ListUsers(admin)); len(users) != 1 {
		t.Errorf("users %+v, want only ada", users)
	}
	if got := len(f.audit(t)); got != n {
		t.Errorf("refused creations wrote %d audit events", got-n)
	}
	// Every problem is reported at once.
	_, err := f.svc.CreateUser(admin, service.UserSpec{Email: "x", Role: "root", Password: "short"})
	var ve *service.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Errorf("three problems: %v", err)
	}
}

func TestUserChangesAreAudited(t *testing.T) {
	f := newFixture(t)
	ctx := service.WithComment(admin, "onboarding")
	u := must[domain.User](t)(f.svc.CreateUser(ctx, service.UserSpec{Email: "Ada@Example.com", Name: "Ada", Role: domain.RoleViewer, Password: password}))
	if u.ID == "" || u.Email != "Ada@Example.com" || u.Role != domain.RoleViewer || u.CreatedBy != "admin" || !u.CreatedAt.Equal(now) || !u.LastLoginAt.IsZero() {
		t.Errorf("created %+v", u)
	}
	if cost, err := bcrypt.Cost(u.PasswordHash); err != nil || cost != bcrypt.DefaultCost || bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) != nil {
		t.Errorf("the password is not stored as a bcrypt hash at the default cost: %v, %d", err, cost)
	}
	name, role := "Ada Lovelace", domain.RoleEditor
	updated := must[domain.User](t)(f.svc.UpdateUser(ctx, u.ID, &name, &role))
	if updated.Name != name || updated.Role != role || updated.Email != u.Email {
		t.Errorf("updated %+v", updated)
	}
	if same := must[domain.User](t)(f.svc.UpdateUser(ctx, u.ID, nil, &role)); same.Role != role {
		t.Errorf("no-op update %+v", same)
	}
	if err := f.svc.SetPassword(ctx, u.ID, "", "another password"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}

	events := f.audit(t)
	slices.Reverse(events)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
		if e.ResourceType != "user" || e.ResourceKey != u.ID || e.Comment != "onboarding" || e.Actor != (domain.Actor{Kind: "token", ID: "id-admin", Name: "admin"}) {
			t.Errorf("event %+v", e)
		}
		for _, state := range []string{string(e.Before), string(e.After)} {
			if strings.Contains(state, "$2a$") || strings.Contains(strings.ToLower(state), "password") {
				t.Errorf("%s records the password or its hash: %s", e.Action, state)
			}
		}
	}
	if want := []string{"user.created", "user.updated", "user.password_changed", "user.deleted"}; !slices.Equal(actions, want) {
		t.Errorf("audit actions %v, want %v (a no-op update records nothing)", actions, want)
	}
	if len(events) == 4 && (!strings.Contains(string(events[0].After), `"email":"Ada@Example.com"`) || !strings.Contains(string(events[3].Before), `"role":"editor"`)) {
		t.Errorf("states: created %s, deleted %s", events[0].After, events[3].Before)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "Ada@Example.com", domain.RoleEditor)
	f.clock.Advance(time.Hour)
	sess, secret, err := f.svc.Login(context.Background(), "ada@EXAMPLE.com", password)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, auth.PrefixSession) || sess.Kind != domain.SessionUser || sess.SubjectID != u.ID ||
		!sess.CreatedAt.Equal(now.Add(time.Hour)) || !sess.ExpiresAt.Equal(now.Add(time.Hour+service.SessionIdle)) {
		t.Errorf("session %+v, secret %q", sess, secret)
	}
	if got := must[domain.User](t)(f.svc.GetUser(admin, u.ID)); !got.LastLoginAt.Equal(now.Add(time.Hour)) {
		t.Errorf("LastLoginAt = %v", got.LastLoginAt)
	}
	// Only the secret's SHA-256 is stored.
	stored, err := f.store.GetSessionByHash(context.Background(), auth.Hash(secret))
	if err != nil || stored.ID != sess.ID || strings.Contains(string(stored.Hash), secret) {
		t.Errorf("stored session %+v, %v", stored, err)
	}

	p, got, err := f.svc.Session(context.Background(), secret)
	if err != nil || p != (auth.Principal{Kind: auth.KindUser, ID: u.ID, Name: u.Email, Role: domain.RoleEditor, Session: sess.ID}) || got.ID != sess.ID {
		t.Fatalf("Session = %+v, %+v, %v", p, got, err)
	}

	_, _, wrongPassword := f.svc.Login(context.Background(), "ada@example.com", "not the password")
	_, _, unknownEmail := f.svc.Login(context.Background(), "eve@example.com", password)
	if domain.ErrorCode(wrongPassword) != domain.CodeUnauthorized || wrongPassword.Error() != unknownEmail.Error() || domain.ErrorCode(unknownEmail) != domain.CodeUnauthorized {
		t.Errorf("wrong password: %v; unknown e-mail: %v; want the same unauthorized error", wrongPassword, unknownEmail)
	}
	for _, tc := range []struct{ email, password string }{{"", ""}, {"ada@example.com", ""}, {"ada@example.com", strings.Repeat("x", 100)}} {
		if _, _, err := f.svc.Login(context.Background(), tc.email, tc.password); err == nil || err.Error() != wrongPassword.Error() {
			t.Errorf("Login(%q, %d bytes): %v", tc.email, len(tc.password), err)
		}
	}
	for _, s := range []string{"", "fpd_unknown", auth.NewSecret(auth.PrefixSession), secret[:len(secret)-1], strings.Replace(secret, "fpd_", "fpa_", 1)} {
		if _, _, err := f.svc.Session(context.Background(), s); domain.ErrorCode(err) != domain.CodeUnauthorized {
			t.Errorf("Session(%q): %v, want unauthorized", s, err)
		}
	}
	// Sessions are not changes: the audit log has the user's creation only.
	if e := f.audit(t); len(e) != 1 {
		t.Errorf("audit %+v", e)
	}
}

// TestLoginTakesAsLongForAnUnknownEmail holds the unknown-address path to a bcrypt comparison
// at the cost of real hashes. The timing bound is loose: without the comparison, that path is
// hundreds of times faster than a wrong password.
func TestLoginTakesAsLongForAnUnknownEmail(t *testing.T) {
	if cost, err := bcrypt.Cost(service.DummyHash); err != nil || cost != bcrypt.DefaultCost {
		t.Fatalf("the dummy hash has cost %d (%v), real hashes %d", cost, err, bcrypt.DefaultCost)
	}
	if err := bcrypt.CompareHashAndPassword(service.DummyHash, []byte(password)); !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		t.Fatalf("the dummy hash is not a usable bcrypt hash: %v", err)
	}
	f := newFixture(t)
	f.user(t, "ada@example.com", domain.RoleEditor)
	fastest := func(email string) time.Duration {
		best := time.Hour
		for range 5 {
			start := time.Now()
			if _, _, err := f.svc.Login(context.Background(), email, "not the password"); domain.ErrorCode(err) != domain.CodeUnauthorized {
				t.Fatalf("Login: %v", err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	wrongPassword, unknownEmail := fastest("ada@example.com"), fastest("eve@example.com")
	if unknownEmail*3 < wrongPassword || wrongPassword*3 < unknownEmail {
		t.Errorf("a wrong password takes %v, an unknown e-mail address %v", wrongPassword, unknownEmail)
	}
}

// adaSignedIn returns a fixture with one user, ada@example.com, and the secret of her session.
func adaSignedIn(t *testing.T) (*fixture, string) {
	t.Helper()
	f := newFixture(t)
	f.user(t, "ada@example.com", domain.RoleEditor)
	secret, _ := f.login(t, "ada@example.com", password)
	return f, secret
}

func TestSessionsExpire(t *testing.T) {
	t.Run("after 12 hours idle", func(t *testing.T) {
		f, secret := adaSignedIn(t)
		f.clock.Advance(service.SessionIdle - time.Second)
		if !f.signedIn(t, secret) {
			t.Fatal("ended before its idle timeout")
		}
		// That use extended it by 12 hours from then.
		f.clock.Advance(service.SessionIdle - time.Second)
		if !f.signedIn(t, secret) {
			t.Fatal("a use did not extend it")
		}
		f.clock.Advance(service.SessionIdle)
		if f.signedIn(t, secret) {
			t.Fatal("live after 12 hours idle")
		}
	})

	t.Run("uses within a minute are not written", func(t *testing.T) {
		f, secret := adaSignedIn(t)
		lastSeen := func() time.Time {
			s, err := f.store.GetSessionByHash(context.Background(), auth.Hash(secret))
			if err != nil {
				t.Fatal(err)
			}
			return s.LastSeenAt
		}
		f.clock.Advance(59 * time.Second)
		f.signedIn(t, secret)
		if !lastSeen().Equal(now) {
			t.Errorf("LastSeenAt written after 59 s: %v", lastSeen())
		}
		f.clock.Advance(time.Second)
		f.signedIn(t, secret)
		if !lastSeen().Equal(now.Add(time.Minute)) {
			t.Errorf("LastSeenAt after a minute: %v", lastSeen())
		}
	})

	t.Run("after 7 days however used", func(t *testing.T) {
		f, secret := adaSignedIn(t)
		for used := time.Duration(0); used+11*time.Hour < service.SessionLifetime; used += 11 * time.Hour {
			f.clock.Advance(11 * time.Hour)
			if !f.signedIn(t, secret) {
				t.Fatalf("ended after %v of regular use", used+11*time.Hour)
			}
		}
		_, sess, err := f.svc.Session(context.Background(), secret)
		if err != nil || !sess.ExpiresAt.Equal(now.Add(service.SessionLifetime)) {
			t.Fatalf("near its end, the session expires at %v (%v), want 7 days after it started", sess.ExpiresAt, err)
		}
		f.clock.Advance(11 * time.Hour)
		if f.signedIn(t, secret) {
			t.Fatal("live after 7 days")
		}
	})

	t.Run("expired sessions are purged at the next login", func(t *testing.T) {
		f, old := adaSignedIn(t)
		f.clock.Advance(service.SessionIdle)
		f.login(t, "ada@example.com", password)
		if _, err := f.store.GetSessionByHash(context.Background(), auth.Hash(old)); domain.ErrorCode(err) != domain.CodeNotFound {
			t.Errorf("the expired session is still stored: %v", err)
		}
	})
}

func TestLogout(t *testing.T) {
	f := newFixture(t)
	f.user(t, "ada@example.com", domain.RoleEditor)
	first, _ := f.login(t, "ada@example.com", password)
	second, _ := f.login(t, "ada@example.com", password)
	if err := f.svc.Logout(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	if f.signedIn(t, first) || !f.signedIn(t, second) {
		t.Error("Logout must end its session and no other")
	}
	for _, s := range []string{first, "", "fpd_nope", "garbage"} {
		if err := f.svc.Logout(context.Background(), s); err != nil {
			t.Errorf("Logout(%q) of no live session: %v", s, err)
		}
	}
}

func TestSetPassword(t *testing.T) {
	f := newFixture(t)
	ada := f.user(t, "ada@example.com", domain.RoleAdmin)
	bob := f.user(t, "bob@example.com", domain.RoleViewer)
	adaHere, adaCtx := f.login(t, "ada@example.com", password)
	adaThere, _ := f.login(t, "ada@example.com", password)
	bobSession, bobCtx := f.login(t, "bob@example.com", password)

	// Changing one's own password takes the current one, even for an admin.
	for _, tc := range []struct{ current, want string }{{"", "required"}, {"wrong password", "does not match"}} {
		err := f.svc.SetPassword(adaCtx, ada.ID, tc.current, "a new password")
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != "current" || !strings.Contains(de.Message, tc.want) {
			t.Errorf("current %q: %v, want invalid current saying %q", tc.current, err, tc.want)
		}
	}
	if err := f.svc.SetPassword(adaCtx, ada.ID, password, "short"); domain.ErrorCode(err) != domain.CodeInvalid || !strings.HasPrefix(err.Error(), "password: expected 10 to 72 bytes") {
		t.Errorf("short new password: %v", err)
	}
	if !f.signedIn(t, adaThere) {
		t.Fatal("a refused change ended sessions")
	}
	if err := f.svc.SetPassword(adaCtx, ada.ID, password, "ada's new password"); err != nil {
		t.Fatal(err)
	}
	if !f.signedIn(t, adaHere) || f.signedIn(t, adaThere) || !f.signedIn(t, bobSession) {
		t.Error("a user's own change must end its other sessions only")
	}
	if _, _, err := f.svc.Login(context.Background(), "ada@example.com", password); domain.ErrorCode(err) != domain.CodeUnauthorized {
		t.Errorf("the old password still works: %v", err)
	}
	f.login(t, "ada@example.com", "ada's new password")
	if e := f.audit(t)[0]; e.Action != "user.password_changed" || e.Actor != (domain.Actor{Kind: "user", ID: ada.ID, Name: ada.Email}) {
		t.Errorf("audited as %+v, want by the user", e)
	}

	// A viewer changes its own, but nobody else's.
	if err := f.svc.SetPassword(bobCtx, ada.ID, "", "bob was here!"); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Errorf("a viewer set another's password: %v", err)
	}
	if err := f.svc.SetPassword(bobCtx, bob.ID, password, "bob's new password"); err != nil {
		t.Errorf("a viewer changing its own password: %v", err)
	}
	// An admin sets another's without the current one, which ends all of that user's sessions.
	if err := f.svc.SetPassword(adaCtx, bob.ID, "", "reset by ada"); err != nil {
		t.Fatal(err)
	}
	if f.signedIn(t, bobSession) || !f.signedIn(t, adaHere) {
		t.Error("a reset must end every session of its user, and only those")
	}
	f.login(t, "bob@example.com", "reset by ada")
}

func TestDeleteUserEndsItsSessions(t *testing.T) {
	f := newFixture(t)
	ada := f.user(t, "ada@example.com", domain.RoleEditor)
	f.user(t, "bob@example.com", domain.RoleEditor)
	secret, _ := f.login(t, "ada@example.com", password)
	other, _ := f.login(t, "bob@example.com", password)
	if err := f.svc.DeleteUser(admin, ada.ID); err != nil {
		t.Fatal(err)
	}
	if f.signedIn(t, secret) || !f.signedIn(t, other) {
		t.Error("deleting a user must end its sessions, and only those")
	}
	if _, _, err := f.svc.Login(context.Background(), "ada@example.com", password); domain.ErrorCode(err) != domain.CodeUnauthorized {
		t.Errorf("a deleted user signed in: %v", err)
	}
	if err := f.svc.DeleteUser(admin, ada.ID); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestSessionsActAsTheirUser(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	ada := f.user(t, "ada@example.com", domain.RoleAdmin)
	secret, ctx := f.login(t, "ada@example.com", password)
	must[domain.Project](t)(f.svc.CreateProject(ctx, domain.Project{Key: "blog"}))
	if e := f.audit(t)[0]; e.Action != "project.created" || e.Actor != (domain.Actor{Kind: "user", ID: ada.ID, Name: "ada@example.com"}) {
		t.Errorf("a change through a session is audited as %+v", e)
	}
	// A new role applies to open sessions at once.
	viewer := domain.RoleViewer
	must[domain.User](t)(f.svc.UpdateUser(admin, ada.ID, nil, &viewer))
	p, _, err := f.svc.Session(context.Background(), secret)
	if err != nil || p.Role != domain.RoleViewer {
		t.Fatalf("after the demotion: %+v, %v", p, err)
	}
	if _, err := f.svc.CreateProject(auth.WithPrincipal(context.Background(), p), domain.Project{Key: "wiki"}); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Errorf("a demoted user created a project: %v", err)
	}
}

func TestLoginWithToken(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	_, token := must2[domain.Token, string](t)(f.svc.CreateToken(admin, "ops", domain.RoleEditor))
	sess, secret, err := f.svc.LoginWithToken(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	tok := must[[]domain.Token](t)(f.svc.ListTokens(admin))[0]
	p, _, err := f.svc.Session(context.Background(), secret)
	if err != nil || sess.Kind != domain.SessionToken || sess.SubjectID != tok.ID ||
		p != (auth.Principal{Kind: auth.KindToken, ID: tok.ID, Name: "ops", Role: domain.RoleEditor, Session: sess.ID}) {
		t.Fatalf("session %+v acts as %+v (%v)", sess, p, err)
	}

	_, sdkSecret := must2[domain.SDKKey, string](t)(f.svc.CreateSDKKey(admin, "shop", "production", "web", domain.SDKKeyServer))
	for name, s := range map[string]string{"SDK key": sdkSecret, "unknown token": auth.NewSecret(auth.PrefixAdminToken), "session secret": secret, "empty": ""} {
		if _, _, err := f.svc.LoginWithToken(context.Background(), s); domain.ErrorCode(err) != domain.CodeUnauthorized {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}
	// Deleting the token ends its sessions.
	if err := f.svc.DeleteToken(admin, tok.ID); err != nil {
		t.Fatal(err)
	}
	if f.signedIn(t, secret) {
		t.Error("a session of a deleted token is live")
	}
}

func must2[A, B any](t *testing.T) func(A, B, error) (A, B) {
	return func(a A, b B, err error) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}
