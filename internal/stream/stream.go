// Package stream serves the SDK endpoints under /sdk/v1: the snapshot of a server SDK key's
// environment as one JSON document (ETag, 304, gzip), and the same snapshots as Server-Sent
// Events, one on connect and one whenever the environment changes. Every client of an
// environment is sent the bytes the snapshot cache built once for that version.
package stream

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/snapshot"
)

// Options configures the handler. Zero values select the defaults.
type Options struct {
	// Heartbeat is how long a stream may stay silent before a ": ping" comment is sent, which
	// keeps proxies and load balancers from closing idle streams (default 15 s).
	Heartbeat time.Duration
	// WriteTimeout bounds each write to a stream (default 30 s). Streams replace the server's
	// write deadline, which counts from the start of the request, with this one per write, so
	// a client that stops reading is let go instead of holding its handler forever.
	WriteTimeout time.Duration
	// Observe, when set, is told of every request: the route, method, status and duration. For
	// a stream that opens, the duration is the time until its first event was flushed.
	Observe func(route, method string, status int, d time.Duration)
	// Streams, when set, is told +1 when a stream opens and -1 when it ends: the hook for a
	// gauge of open streams.
	Streams func(delta int)
}

// Route paths: logs and metrics name requests by them, as the management API does.
const (
	snapshotRoute = "/sdk/v1/snapshot"
	streamRoute   = "/sdk/v1/stream"
)

// Handler serves the SDK endpoints; mount it at "/sdk/v1/".
type Handler struct {
	cache snapshot.Source
	authn auth.Verifier
	log   *slog.Logger
	opts  Options
	mux   *http.ServeMux
	keys  keyChecks

	closing   chan struct{} // closed by Close: every stream ends
	closeOnce sync.Once
}

// New returns the SDK endpoints serving the snapshots of cache (a database-backed Cache or a
// relay's Mirror) to SDKs that authn accepts.
func New(cache snapshot.Source, authn auth.Verifier, logger *slog.Logger, opts Options) *Handler {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	h := &Handler{cache: cache, authn: authn, log: logger, opts: opts, mux: http.NewServeMux(),
		keys: keyChecks{authn: authn, newest: map[string]*keyCheck{}}, closing: make(chan struct{})}
	h.mux.HandleFunc("GET "+snapshotRoute, h.serveSnapshot)
	h.mux.HandleFunc("GET "+streamRoute, h.serveStream)
	return h
}

// ServeHTTP routes a request. Paths and methods no route takes get the JSON error envelope
// too, as SDKs parse it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	status := http.StatusNotFound
	if r.URL.Path == snapshotRoute || r.URL.Path == streamRoute {
		w.Header().Set("Allow", "GET, HEAD")
		status = http.StatusMethodNotAllowed
		writeError(w, status, "method_not_allowed", r.Method+" is not allowed here; allowed: GET, HEAD")
	} else {
		writeError(w, status, string(domain.CodeNotFound), "no such SDK path: "+r.URL.Path)
	}
	h.observe(r, "", status, 0)
}

// Close ends every stream and refuses new ones. Call it before http.Server.Shutdown, which
// waits for handlers to return and would otherwise wait out its deadline on open streams.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.closing) })
}

func (h *Handler) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status := h.snapshot(w, r)
	h.observe(r, snapshotRoute, status, time.Since(start))
}

// snapshot writes the key's environment and returns the status it wrote.
func (h *Handler) snapshot(w http.ResponseWriter, r *http.Request) int {
	p, _, err := auth.ServerKey(r, h.authn)
	if err != nil {
		return h.fail(w, r, err)
	}
	e, err := h.cache.Get(r.Context(), p.Project, p.Environment)
	if err != nil {
		return h.fail(w, r, err)
	}
	hdr := w.Header()
	hdr.Set("ETag", e.ETag)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Vary", "Accept-Encoding")
	if etagMatches(r.Header.Get("If-None-Match"), e.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	body := e.JSON
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		hdr.Set("Content-Encoding", "gzip")
		body = e.Gzip
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return http.StatusOK
}

// serveStream sends the key's environment as Server-Sent Events until the client goes away,
// the handler is closed, the environment is deleted, or the key no longer authenticates.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	p, secret, err := auth.ServerKey(r, h.authn)
	if err != nil {
		h.observe(r, streamRoute, h.fail(w, r, err), time.Since(start))
		return
	}
	select {
	case <-h.closing:
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the server is shutting down; reconnect shortly")
		h.observe(r, streamRoute, http.StatusServiceUnavailable, time.Since(start))
		return
	default:
	}
	// Subscribed before the current entry is read, so no change can fall between the two.
	updates, cancel := h.cache.Subscribe(p.Project, p.Environment)
	defer cancel()
	cur, err := h.cache.Get(ctx, p.Project, p.Environment)
	if err != nil {
		h.observe(r, streamRoute, h.fail(w, r, err), time.Since(start))
		return
	}

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// A client resuming at the current version has it already; it still gets the headers at
	// once, so it knows the stream is open.
	if r.Header.Get("Last-Event-ID") == strconv.FormatInt(cur.Version, 10) {
		err = h.write(w, rc)
	} else {
		err = h.write(w, rc, eventHead(cur), cur.JSON, eventEnd)
	}
	h.observe(r, streamRoute, http.StatusOK, time.Since(start))
	if err != nil || r.Method == http.MethodHead {
		return
	}
	if h.opts.Streams != nil {
		h.opts.Streams(1)
		defer h.opts.Streams(-1)
	}
	h.log.DebugContext(ctx, "stream opened", "project", p.Project, "environment", p.Environment, "key_id", p.ID)

	heartbeat := time.NewTicker(h.opts.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.closing:
			return
		case e, ok := <-updates:
			if !ok {
				h.log.DebugContext(ctx, "stream ends: the environment was deleted", "project", p.Project, "environment", p.Environment)
				return
			}
			// The entry read at connect may be newer than one that was queued meanwhile.
			if e == cur || e.Version < cur.Version {
				continue
			}
			// Deleting a key announces nothing to SDKs, so a stream checks its key before
			// handing out each new configuration.
			err := h.keys.check(ctx, p.ID, secret, e.Version)
			switch {
			case ctx.Err() != nil:
				return
			case domain.ErrorCode(err) == domain.CodeUnauthorized:
				h.log.InfoContext(ctx, "stream ends: its SDK key no longer authenticates", "project", p.Project, "environment", p.Environment, "key_id", p.ID)
				return
			case err != nil:
				// The database may be briefly away; the key was valid a moment ago.
				h.log.WarnContext(ctx, "re-checking a stream's SDK key failed", "key_id", p.ID, "error", err)
			}
			cur = e
			err = h.write(w, rc, eventHead(e), e.JSON, eventEnd)
		case <-heartbeat.C:
			err = h.write(w, rc, ping)
		}
		if err != nil {
			h.log.DebugContext(ctx, "stream ends: write failed", "project", p.Project, "environment", p.Environment, "error", err)
			return
		}
		heartbeat.Reset(h.opts.Heartbeat)
	}
}

// keyChecks re-checks SDK keys before streams send a new snapshot: once per key and version,
// shared by every stream of the key. A change then costs one lookup per key in use rather than
// one per stream, which at 1,000 streams of one key was most of the time a change took to reach
// them all.
type keyChecks struct {
	authn  auth.Verifier
	mu     sync.Mutex
	newest map[string]*keyCheck // by key id
}

// keyCheck is one lookup of a key; err is set before done closes.
type keyCheck struct {
	version int64
	done    chan struct{}
	err     error
}

// check authenticates secret, the secret of key id, for a snapshot of version. A check made for
// this version or a newer one answers for it too.
func (k *keyChecks) check(ctx context.Context, id, secret string, version int64) error {
	k.mu.Lock()
	c := k.newest[id]
	if c != nil && c.version >= version {
		k.mu.Unlock()
		select {
		case <-c.done:
			return c.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c = &keyCheck{version: version, done: make(chan struct{})}
	k.newest[id] = c
	k.mu.Unlock()
	// Other streams wait for this answer: the lookup must not end when this client leaves.
	_, c.err = k.authn.Authenticate(context.WithoutCancel(ctx), secret)
	close(c.done)
	if domain.ErrorCode(c.err) == domain.CodeUnauthorized {
		// The key is gone for good: forget it, so deleted keys do not pile up here.
		k.mu.Lock()
		if k.newest[id] == c {
			delete(k.newest, id)
		}
		k.mu.Unlock()
	}
	return c.err
}

var (
	eventEnd = []byte("\n\n")
	ping     = []byte(": ping\n\n")
)

// eventHead starts the event of e; its data is e.JSON, one line since encoding/json escapes
// every newline inside strings.
func eventHead(e *snapshot.Entry) []byte {
	return []byte("id: " + strconv.FormatInt(e.Version, 10) + "\nevent: snapshot\ndata: ")
}

// write sends chunks and flushes them under a fresh write deadline. The chunks are written one
// by one, so the shared snapshot JSON is never copied per client.
func (h *Handler) write(w http.ResponseWriter, rc *http.ResponseController, chunks ...[]byte) error {
	// Not every ResponseWriter supports deadlines (httptest's recorder does not); a stream
	// without one still works, it just cannot shed a client that stops reading.
	_ = rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
	for _, c := range chunks {
		if _, err := w.Write(c); err != nil {
			return err
		}
	}
	return rc.Flush()
}

// fail writes err as the error envelope and returns the status. Errors that are not
// application errors are logged and shown only as "internal error".
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) int {
	code := domain.ErrorCode(err)
	status := http.StatusInternalServerError
	switch code {
	case domain.CodeUnauthorized:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="flagpilot"`)
	case domain.CodeForbidden:
		status = http.StatusForbidden
	case domain.CodeNotFound:
		status = http.StatusNotFound
	default:
		h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "error", err)
	}
	writeError(w, status, string(code), domain.ErrorMessage(err))
	return status
}

// writeError writes the error envelope the management API uses: {"error": {code, message}}.
func writeError(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": message}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

func (h *Handler) observe(r *http.Request, route string, status int, d time.Duration) {
	h.log.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("method", r.Method), slog.String("route", route),
		slog.Int("status", status), slog.Duration("duration", d))
	if h.opts.Observe != nil {
		h.opts.Observe(route, r.Method, status, d)
	}
}

// etagMatches reports whether an If-None-Match header names etag, comparing weakly as RFC 9110
// says for If-None-Match.
func etagMatches(header, etag string) bool {
	for candidate := range strings.SplitSeq(header, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip: named with a non-zero
// quality, or else covered by "*" with one.
func acceptsGzip(header string) bool {
	star := false
	for coding := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(coding, ";")
		switch name = strings.TrimSpace(name); {
		case strings.EqualFold(name, "gzip"):
			return nonZeroQuality(params)
		case name == "*":
			star = nonZeroQuality(params)
		}
	}
	return star
}

// nonZeroQuality reads the q parameter of a coding; without one the quality is 1.
func nonZeroQuality(params string) bool {
	q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
	if !ok {
		return true
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
	return err == nil && v > 0
}
