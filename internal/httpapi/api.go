// Package httpapi serves the management REST API (/api/v1) on the standard library's ServeMux:
// authentication with admin tokens, role checks, strict JSON decoding, the error envelope,
// pagination, optimistic concurrency with ETag/If-Match, request logging, and the OpenAPI
// document. Every route is declared once, in routes.go.
package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/obs"
	"github.com/flagpilot/flagpilot/internal/service"
)

// Options configures the API. Zero values select the defaults.
type Options struct {
	// MaxBody bounds request bodies (default 1 MiB); MaxImportBody bounds flag-file imports
	// (default 10 MiB).
	MaxBody       int64
	MaxImportBody int64
	// Observe, when set, is told of every request: the route pattern (empty when no route
	// matched), method, status and duration. It is the hook for metrics.
	Observe func(route, method string, status int, d time.Duration)
	// Telemetry is read by the metrics, correlation and evaluated routes; they need it.
	Telemetry domain.TelemetryStore
}

// CommentHeader carries the reason for a change into the audit log. A header rather than a
// query parameter keeps comments out of URLs, which proxies log.
const CommentHeader = "X-Flagpilot-Comment"

const maxComment = 1000

// API is the management API's handler.
type API struct {
	svc  *service.Service
	auth *auth.Authenticator
	log  *slog.Logger
	opts Options
	mux  *http.ServeMux
	// patterns lists what was registered on mux, so tests can hold it against the route table.
	patterns   []string
	openAPIDoc []byte
}

// New returns the management API; mount it at "/".
func New(svc *service.Service, authn *auth.Authenticator, logger *slog.Logger, opts Options) *API {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.MaxImportBody <= 0 {
		opts.MaxImportBody = 10 << 20
	}
	a := &API{svc: svc, auth: authn, log: logger, opts: opts, mux: http.NewServeMux()}
	rs := routes()
	for _, rt := range rs {
		a.handle(rt)
	}
	a.openAPIDoc = buildOpenAPI(rs)
	return a
}

func (a *API) handle(rt route) {
	pattern := rt.method + " " + rt.path
	a.patterns = append(a.patterns, pattern)
	a.mux.Handle(pattern, a.wrap(rt))
}

// ServeHTTP routes a request. Requests no route matches get the JSON error envelope too: 404,
// or 405 with Allow when the path exists with other methods.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	probe := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(probe, r)
	sw := &obs.StatusWriter{ResponseWriter: w}
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeError(sw, r, a.log, &httpError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
			message: r.Method + " is not allowed here; allowed: " + probe.header.Get("Allow")})
	case http.StatusNotFound:
		writeError(sw, r, a.log, domain.Errorf(domain.CodeNotFound, "no such API path: %s", r.URL.Path))
	default: // redirects to the cleaned path
		h.ServeHTTP(sw, r)
	}
	a.observe(r, "", sw.Status(), time.Since(start))
}

// headerRecorder captures the status and headers of the mux's own 404/405/redirect answers.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(status int)      { h.status = status }

// wrap applies, in order: logging and metrics, authentication, the role check, the body limit,
// the audit comment, and the error envelope for what the handler returns.
func (a *API) wrap(rt route) http.Handler {
	limit := a.opts.MaxBody
	if rt.largeBody {
		limit = a.opts.MaxImportBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &obs.StatusWriter{ResponseWriter: w}
		defer func() { a.observe(r, rt.path, sw.Status(), time.Since(start)) }()
		defer obs.RecoverPanic(a.log, r, rt.path, sw, func() {
			writeError(sw, r, a.log, domain.Errorf(domain.CodeInternal, "internal error"))
		})
		if err := a.serve(sw, r, rt, limit); err != nil {
			writeError(sw, r, a.log, err)
		}
	})
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, rt route, limit int64) error {
	ctx := r.Context()
	if rt.role != "" {
		p, err := a.authenticate(r)
		if err != nil {
			return err
		}
		if p.Kind == auth.KindSDK {
			return domain.Errorf(domain.CodeForbidden, "SDK keys cannot use the management API; use an admin token")
		}
		if !p.Role.Allows(rt.role) {
			return domain.Errorf(domain.CodeForbidden, "this requires the %s role; the token has %s", rt.role, p.Role)
		}
		ctx = auth.WithPrincipal(ctx, p)
	}
	if c := r.Header.Get(CommentHeader); c != "" {
		if !utf8.ValidString(c) || utf8.RuneCountInString(c) > maxComment {
			return invalidf(CommentHeader, "the comment must be UTF-8 text of at most %d characters", maxComment)
		}
		ctx = service.WithComment(ctx, c)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return rt.handler(a, w, r.WithContext(ctx))
}

// authenticate reads the bearer token. It never logs the token.
func (a *API) authenticate(r *http.Request) (auth.Principal, error) {
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return auth.Principal{}, domain.Errorf(domain.CodeUnauthorized, "send an admin token as Authorization: Bearer <token>")
	}
	return a.auth.Authenticate(r.Context(), strings.TrimSpace(secret))
}

func (a *API) observe(r *http.Request, route string, status int, d time.Duration) {
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	a.log.LogAttrs(r.Context(), level, "request", slog.String("method", r.Method), slog.String("route", route),
		slog.Int("status", status), slog.Duration("duration", d))
	if a.opts.Observe != nil {
		a.opts.Observe(route, r.Method, status, d)
	}
}
