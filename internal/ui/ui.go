// Package ui serves the dashboard: server-rendered pages (html/template) over the service layer,
// for product managers and engineers. People sign in with an e-mail and password (or, on a new
// server, the bootstrap admin token); sessions live in secure, HttpOnly, SameSite cookies and
// every form carries a CSRF token. Assets are embedded and charts are SVG rendered in Go, so the
// pages need no build step and make no request outside the server.
package ui

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/obs"
	"github.com/flagpilot/flagpilot/internal/service"
)

// Options configures the dashboard. Every field is optional.
type Options struct {
	Logger *slog.Logger
	// Telemetry is where the analytics, rollout and flag pages read measurements.
	Telemetry domain.TelemetryStore
	// Window is the telemetry window, the finest resolution charts can show (default 10 s).
	Window time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Observe, when set, is told of every request: the route pattern, method, status and
	// duration.
	Observe func(route, method string, status int, d time.Duration)
}

// UI is the dashboard's handler; mount it at "/".
type UI struct {
	svc       *service.Service
	log       *slog.Logger
	telemetry domain.TelemetryStore
	window    time.Duration
	now       func() time.Time
	observe   func(route, method string, status int, d time.Duration)

	mux    *http.ServeMux
	pages  *templates
	assets *assets
	// Failed sign-ins are limited per client address and per e-mail.
	byAddr, byEmail *auth.Limiter
}

// New returns the dashboard over svc.
func New(svc *service.Service, opts Options) *UI {
	u := &UI{svc: svc, log: opts.Logger, telemetry: opts.Telemetry, window: opts.Window, now: opts.Now, observe: opts.Observe}
	if u.log == nil {
		u.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if u.window <= 0 {
		u.window = 10 * time.Second
	}
	if u.now == nil {
		u.now = time.Now
	}
	u.assets = loadAssets()
	u.pages = loadTemplates(u.assets)
	u.byAddr = auth.NewLimiter(loginAttemptsPerAddr, loginWindow, u.now)
	u.byEmail = auth.NewLimiter(loginAttemptsPerEmail, loginWindow, u.now)
	u.mux = http.NewServeMux()
	for _, rt := range u.routes() {
		u.mux.Handle(rt.method+" "+rt.path, u.wrap(rt))
	}
	u.mux.Handle("GET /static/", u.assets)
	return u
}

// route is one page or form action of the dashboard.
type route struct {
	method, path string
	// role is the least role that may use the route; "" serves it without a session.
	role    domain.Role
	handler func(u *UI, w http.ResponseWriter, r *http.Request) error
}

func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	u.mux.ServeHTTP(w, r)
}

// setSecurityHeaders forbids everything the pages do not need: scripts, styles and images come
// from the server itself, nothing is framed, and forms only post back to it.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// wrap applies, in order: metrics, the session and its role, CSRF protection of forms, and the
// error page for what the handler returns.
func (u *UI) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &obs.StatusWriter{ResponseWriter: w}
		defer func() {
			if u.observe != nil {
				u.observe(rt.path, r.Method, sw.Status(), time.Since(start))
			}
		}()
		defer obs.RecoverPanic(u.log, r, rt.path, sw, func() { u.fail(sw, r, errors.New("panic")) })
		if rt.role != "" {
			r2, ok := u.authenticate(sw, r)
			if !ok {
				return
			}
			r = r2
			p, _ := auth.PrincipalFrom(r.Context())
			if !p.Role.Allows(rt.role) {
				u.fail(sw, r, domain.Errorf(domain.CodeForbidden, "this page needs the %s role; you are %s", rt.role, p.Role))
				return
			}
			if r.Method == http.MethodPost && !u.checkCSRF(r) {
				u.fail(sw, r, errCSRF)
				return
			}
		}
		if err := rt.handler(u, sw, r); err != nil {
			u.fail(sw, r, err)
		}
	})
}

var errCSRF = &httpError{status: http.StatusForbidden, message: "This form has expired or did not come from this dashboard. Go back, reload the page and try again."}

// httpError is an error page with its own status, for failures that are not the service's.
type httpError struct {
	status  int
	message string
}

func (e *httpError) Error() string { return e.message }

// statusOf maps an error to the status of its page, once for every page.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	return domain.ErrorCode(err).HTTPStatus()
}

// fail renders the error page. Internal errors are logged and shown without their message.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := err.Error()
	var he *httpError
	if status == http.StatusInternalServerError && !errors.As(err, &he) {
		if !errors.Is(err, context.Canceled) {
			u.log.Error("page failed", "path", r.URL.Path, "method", r.Method, "error", err)
		}
		msg = "Something went wrong on the server. The error is in its log."
	}
	u.render(w, r, status, "error", pageData{Title: http.StatusText(status)}, errorPage{Status: status, Message: msg})
}

type errorPage struct {
	Status  int
	Message string
}
