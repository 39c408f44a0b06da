package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/internal/ui"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// dashboard is the dashboard over a real service and SQLite store, served over TLS on
// 127.0.0.1 (the session cookie is Secure), with the bootstrap admin token.
type dashboard struct {
	svc   *service.Service
	store *sqlite.Store // flag state and telemetry
	srv   *httptest.Server
	token string
}

// newDashboard builds the dashboard; configure may change the service's and the dashboard's
// options (a clock, the telemetry window) before they are built.
func newDashboard(t *testing.T, configure ...func(*service.Options, *ui.Options)) *dashboard {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "flagpilot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sopts := service.Options{Telemetry: store}
	uopts := ui.Options{Telemetry: store, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	for _, c := range configure {
		c(&sopts, &uopts)
	}
	svc := service.New(store, sopts)
	token, _, err := svc.EnsureAdminToken(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(ui.New(svc, uopts))
	t.Cleanup(srv.Close)
	return &dashboard{svc: svc, store: store, srv: srv, token: token}
}

// admin is the context of the bootstrap admin, for setting up through the service.
func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindToken, ID: "setup", Name: "setup", Role: domain.RoleAdmin})
}

// shop creates project shop with production and staging and a boolean flag new-checkout.
func (d *dashboard) shop(t *testing.T) {
	t.Helper()
	ctx := admin()
	testenv.Must(d.svc.CreateProject(ctx, domain.Project{Key: "shop", Name: "Shop"})).OK(t)
	for _, e := range []string{"production", "staging"} {
		testenv.Must(d.svc.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: e})).OK(t)
	}
	testenv.Must(d.svc.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean, Description: "Redesigned checkout"})).OK(t)
}

// browser is a client with a cookie jar that does not follow redirects, so tests see them.
type browser struct {
	t    *testing.T
	d    *dashboard
	c    *http.Client
	last string // the body of the last page, where forms' CSRF tokens are read
}

func (d *dashboard) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	c := *d.srv.Client() // a copy: the server has one client, and each browser has its own cookies
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, d: d, c: &c}
}

type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	p := page{status: res.StatusCode, location: res.Header.Get("Location"), body: string(body), header: res.Header}
	if strings.Contains(p.body, "<html") {
		b.last = p.body
	}
	return p
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.d.srv.URL+path, nil)
	return b.do(req)
}

// post submits a form as a browser does, with the Origin of the dashboard.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.d.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.d.srv.URL)
	return b.do(req)
}

var (
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	nonceField = regexp.MustCompile(`name="nonce" value="([^"]+)"`)
)

// csrf is the CSRF token of the forms on the last page.
func (b *browser) csrf() string {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no CSRF token on the last page:\n%s", b.last)
	}
	return m[1]
}

// login signs in with the admin token through the sign-in form.
func (b *browser) login(token string) page {
	b.t.Helper()
	b.get("/login")
	m := nonceField.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no nonce on the sign-in page:\n%s", b.last)
	}
	return b.post("/login", url.Values{"nonce": {m[1]}, "token": {token}})
}

func TestSignInWithTheBootstrapToken(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	b := d.browser(t)

	p := b.get("/p/shop/flags")
	if p.status != http.StatusSeeOther || p.location != "/login?next=%2Fp%2Fshop%2Fflags" {
		t.Fatalf("signed out: %d to %q, want the sign-in page", p.status, p.location)
	}
	if p := b.login("fpa_wrong"); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "are not right") {
		t.Fatalf("wrong token: %d\n%s", p.status, p.body)
	}
	p = b.login(d.token)
	if p.status != http.StatusSeeOther || p.location != "/" {
		t.Fatalf("sign-in: %d to %q", p.status, p.location)
	}
	var session *http.Cookie
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "flagpilot_session=") {
			session, _ = http.ParseSetCookie(c)
		}
	}
	if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Fatalf("session cookie %+v, want HttpOnly, Secure, SameSite=Lax for /", session)
	}
	if strings.Contains(p.header.Get("Set-Cookie"), d.token) {
		t.Fatal("the token itself went into a cookie")
	}
	p = b.get("/p/shop/flags")
	if p.status != http.StatusOK || !strings.Contains(p.body, "new-checkout") {
		t.Fatalf("flags after sign-in: %d\n%s", p.status, p.body)
	}

	b.post("/logout", url.Values{"csrf": {b.csrf()}})
	if p := b.get("/p/shop/flags"); p.status != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d, want the sign-in page", p.status)
	}
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	d := newDashboard(t)
	b := d.browser(t)
	for _, path := range []string{"/login", "/p/shop/flags", "/nope"} {
		p := b.get(path)
		csp := p.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if p.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
	}
}

func TestAssetsAreHashedAndCachedForever(t *testing.T) {
	d := newDashboard(t)
	b := d.browser(t)
	login := b.get("/login")
	css := regexp.MustCompile(`href="(/static/app\.[0-9a-f]{12}\.css)"`).FindStringSubmatch(login.body)
	if css == nil {
		t.Fatalf("no hashed stylesheet on the sign-in page:\n%s", login.body)
	}
	p := b.get(css[1])
	if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/css") ||
		!strings.Contains(p.header.Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet: %d %v", p.status, p.header)
	}
	if p := b.get("/static/app.000000000000.css"); p.status != http.StatusNotFound {
		t.Errorf("a stale asset name: %d, want 404", p.status)
	}
}

func TestFormsNeedTheirCSRFToken(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	b := d.browser(t)
	b.login(d.token)
	b.get("/p/shop/flags/new-checkout?env=production")
	cases := map[string]url.Values{
		"no token":    {"env": {"production"}, "version": {"1"}, "enabled": {"true"}},
		"wrong token": {"csrf": {"x" + b.csrf()}, "env": {"production"}, "version": {"1"}, "enabled": {"true"}},
	}
	for name, form := range cases {
		if p := b.post("/p/shop/flags/new-checkout/toggle", form); p.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, p.status)
		}
	}
	// A right token from another site's page is refused too.
	req, _ := http.NewRequest("POST", d.srv.URL+"/p/shop/flags/new-checkout/toggle", strings.NewReader(url.Values{
		"csrf": {b.csrf()}, "env": {"production"}, "version": {"1"}, "enabled": {"true"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if p := b.do(req); p.status != http.StatusForbidden {
		t.Errorf("cross-origin post: %d, want 403", p.status)
	}
	c := testenv.Must(d.svc.GetFlagConfig(context.Background(), "shop", "new-checkout", "production")).OK(t)
	if c.Enabled || c.Version != 1 {
		t.Errorf("a refused form changed the flag: %+v", c)
	}
}

func TestSignInAttemptsAreLimited(t *testing.T) {
	d := newDashboard(t)
	b := d.browser(t)
	b.get("/login")
	var last page
	for range 6 {
		nonce := nonceField.FindStringSubmatch(b.last)[1]
		last = b.post("/login", url.Values{"nonce": {nonce}, "email": {"ann@example.com"}, "password": {"not-her-password"}})
	}
	if last.status != http.StatusTooManyRequests || !strings.Contains(last.body, "Too many failed sign-in attempts") {
		t.Fatalf("sixth failed attempt for one e-mail: %d\n%s", last.status, last.body)
	}
}

func TestToggleIsTheKillSwitch(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	b := d.browser(t)
	b.login(d.token)
	b.get("/p/shop/flags/new-checkout?env=production")
	p := b.post("/p/shop/flags/new-checkout/toggle", url.Values{"csrf": {b.csrf()}, "env": {"production"}, "version": {"1"}, "enabled": {"true"}, "comment": {"ship it"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("toggle: %d\n%s", p.status, p.body)
	}
	c := testenv.Must(d.svc.GetFlagConfig(context.Background(), "shop", "new-checkout", "production")).OK(t)
	if !c.Enabled {
		t.Fatal("the flag is still off")
	}
	// The same form again, based on the page's now stale version, is refused.
	if p := b.post("/p/shop/flags/new-checkout/toggle", url.Values{"csrf": {b.csrf()}, "env": {"production"}, "version": {"1"}, "enabled": {"false"}}); p.status != http.StatusConflict {
		t.Errorf("stale toggle: %d, want 409", p.status)
	}
	events := testenv.Must(d.svc.ListAudit(admin(), domain.AuditFilter{ResourceType: "flag", ResourceKey: "new-checkout"})).OK(t)
	if len(events) == 0 || events[0].Comment != "ship it" || events[0].Actor.Kind != string(auth.KindToken) {
		t.Errorf("audit of the toggle: %+v", events[0])
	}
	page := b.get(p.location)
	if !strings.Contains(page.body, "flag.config.updated") || !strings.Contains(page.body, "ship it") {
		t.Errorf("the flag page's history lacks the toggle:\n%s", page.body)
	}
}
