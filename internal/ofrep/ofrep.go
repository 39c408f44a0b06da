// Package ofrep serves the OpenFeature Remote Evaluation Protocol (OFREP) v1: single
// evaluations (POST /ofrep/v1/evaluate/flags/{key}) for server-side providers and bulk
// evaluations with ETag/304 (POST /ofrep/v1/evaluate/flags) for client-side ones, so that any
// language's OFREP provider can use Flagpilot. Shapes, status codes and error codes are those of
// the protocol's OpenAPI document (open-feature/protocol, service/openapi.yaml), not the
// management API's error envelope.
//
// Requests authenticate with a server or client SDK key, as X-API-Key or as a bearer token, and
// are evaluated against the compiled snapshot of the key's environment. What does not depend on
// the request (flag keys, variant values, metadata) is serialised once per snapshot version.
package ofrep

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/snapshot"
)

// Options configures the handler. Zero values select the defaults.
type Options struct {
	// AllowedOrigins lists the browser origins (such as "https://shop.example.com") that may
	// call OFREP; "*" allows any. Default: any, because every call needs an SDK key anyway and
	// client keys are made to be embedded in web pages.
	AllowedOrigins []string
	// MaxBody bounds request bodies; larger ones get 413. Default 64 KiB: an evaluation context
	// is a handful of attributes.
	MaxBody int64
	// KeyCacheTTL is how long an authenticated SDK key is remembered, so that evaluations do
	// not wait on the database; a deleted key keeps working on OFREP for at most this long.
	// Default 5 s; a negative value looks every key up on every request.
	KeyCacheTTL time.Duration
	// Observe, when set, is told of every request: the route pattern (empty when no route
	// matched), method, status and duration. It is the hook for metrics, with the same
	// signature as the management API's.
	Observe func(route, method string, status int, d time.Duration)
}

// Route patterns, as reported to Options.Observe.
const (
	routeSingle = "/ofrep/v1/evaluate/flags/{key}"
	routeBulk   = "/ofrep/v1/evaluate/flags"
)

const (
	defaultMaxBody     = 64 << 10
	defaultKeyCacheTTL = 5 * time.Second
)

// handler serves OFREP.
type handler struct {
	cache snapshot.Source
	auth  auth.Verifier
	keys  keyCache
	log   *slog.Logger
	opts  Options
	mux   *http.ServeMux

	anyOrigin bool
	origins   map[string]bool

	// prepared holds, per environment, the serialised parts of the latest snapshot seen
	// (envKey → *prepared).
	prepared sync.Map
}

// New returns the OFREP handler; mount it at "/ofrep/".
func New(cache snapshot.Source, authn auth.Verifier, logger *slog.Logger, opts Options) http.Handler {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = defaultMaxBody
	}
	if opts.KeyCacheTTL == 0 {
		opts.KeyCacheTTL = defaultKeyCacheTTL
	}
	h := &handler{cache: cache, auth: authn, keys: keyCache{ttl: opts.KeyCacheTTL}, log: logger, opts: opts, mux: http.NewServeMux()}
	if len(opts.AllowedOrigins) == 0 || slices.Contains(opts.AllowedOrigins, "*") {
		h.anyOrigin = true
	} else {
		h.origins = make(map[string]bool, len(opts.AllowedOrigins))
		for _, o := range opts.AllowedOrigins {
			h.origins[o] = true
		}
	}
	h.route("POST "+routeSingle, h.single)
	h.route("POST "+routeBulk, h.bulk)
	h.route("OPTIONS "+routeSingle, h.preflight)
	h.route("OPTIONS "+routeBulk, h.preflight)
	return h
}

// route registers fn, which returns the status it wrote so that it can be observed without
// wrapping the ResponseWriter on the hot path.
func (h *handler) route(pattern string, fn func(w http.ResponseWriter, r *http.Request) int) {
	_, path, _ := strings.Cut(pattern, " ")
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status := fn(w, r)
		if h.opts.Observe != nil {
			h.opts.Observe(path, r.Method, status, time.Since(start))
		}
	})
}

// ServeHTTP routes a request; the mux answers unknown paths (404) and other methods (405 with
// Allow) itself.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.Observe != nil {
		if _, pattern := h.mux.Handler(r); pattern == "" {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			h.mux.ServeHTTP(sw, r)
			h.opts.Observe("", r.Method, sw.status, time.Since(start))
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// statusWriter remembers the status of the mux's own 404 and 405 answers.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(status int) {
	s.status = status
	s.ResponseWriter.WriteHeader(status)
}

// internalError logs err and answers 500 with the OpenAPI document's generalErrorResponse,
// without internals.
func (h *handler) internalError(ctx context.Context, w http.ResponseWriter, op string, err error) int {
	h.log.ErrorContext(ctx, "ofrep request failed", "op", op, "error", err)
	return writeGeneralError(w, http.StatusInternalServerError, "internal error")
}

// cors sets the headers that let a browser on an allowed origin read the answer, and reports
// whether the origin is allowed. Requests without Origin are not from a browser's fetch and
// need none.
func (h *handler) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	hd := w.Header()
	if h.anyOrigin {
		hd["Access-Control-Allow-Origin"] = headerStar
	} else {
		// The answer depends on Origin, so shared caches must keep one per origin.
		hd["Vary"] = headerVaryOrigin
		if !h.origins[origin] {
			return false
		}
		hd["Access-Control-Allow-Origin"] = []string{origin}
	}
	// Client-side providers keep the bulk ETag to send it back as If-None-Match.
	hd["Access-Control-Expose-Headers"] = headerETag
	return true
}

// preflight answers a CORS preflight: POST with the headers OFREP providers send, for ten
// minutes. Credentials are headers, not cookies, so Allow-Credentials is not needed and "*"
// stays usable.
func (h *handler) preflight(w http.ResponseWriter, r *http.Request) int {
	hd := w.Header()
	hd["Allow"] = headerAllow
	if h.cors(w, r) {
		hd["Access-Control-Allow-Methods"] = headerMethods
		hd["Access-Control-Allow-Headers"] = headerAllowHeaders
		hd["Access-Control-Max-Age"] = headerMaxAge
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// Header values set by direct map assignment: already canonical, and shared rather than
// allocated per request.
var (
	headerJSON         = []string{"application/json"}
	headerStar         = []string{"*"}
	headerVaryOrigin   = []string{"Origin"}
	headerETag         = []string{"ETag"}
	headerAllow        = []string{"POST, OPTIONS"}
	headerMethods      = []string{"POST"}
	headerAllowHeaders = []string{"Content-Type, Authorization, X-API-Key, If-None-Match"}
	headerMaxAge       = []string{"600"}
)
