package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Route is the path of the native endpoint.
const Route = "/sdk/v1/telemetry"

// Handler serves POST /sdk/v1/telemetry to the server SDK keys authn accepts: one JSON
// telemetry.Batch (Content-Encoding gzip allowed, unknown fields refused, Seq from 1),
// answered with its Result, also for a duplicate. Errors use the API's envelope
// {"error": {"code", "message", "field"}}: 400 for an invalid or late batch, 401 and 403 for
// a missing or unfit key, 413 beyond Options.MaxBodyBytes, 429 when the intake is busy, 503
// while it shuts down.
func (in *Intake) Handler(authn auth.Verifier) http.Handler {
	return &handler{in: in, authn: authn,
		bufs:  sync.Pool{New: func() any { return new(bytes.Buffer) }},
		rows:  sync.Pool{New: func() any { return new([]telemetry.Row) }},
		names: interned{m: map[string]string{}}}
}

type handler struct {
	in    *Intake
	authn auth.Verifier
	bufs  sync.Pool // of *bytes.Buffer, for request bodies
	rows  sync.Pool // of *[]telemetry.Row, for decoded batches
	names interned
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status := h.serve(w, r)
	if h.in.opts.ObserveRequest != nil {
		h.in.opts.ObserveRequest(Route, r.Method, status, time.Since(start))
	}
}

// serve answers the request and returns the status it wrote.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; send the batch with POST", "")
	}
	p, _, err := auth.ServerKey(r, h.authn)
	if err != nil {
		return h.fail(w, r, err)
	}
	// Accept keeps nothing of the rows it is given: their array serves the next request.
	rows := h.rows.Get().(*[]telemetry.Row)
	defer func() {
		clear((*rows)[:cap(*rows)])
		h.rows.Put(rows)
	}()
	b, err := h.decode(w, r, *rows)
	if err != nil {
		return h.fail(w, r, err)
	}
	if cap(b.Rows) > cap(*rows) {
		*rows = b.Rows[:0]
	}
	if b.Seq == 0 {
		return h.fail(w, r, domain.FieldErrorf("seq", "required: number the instance's batches from 1, so that a resent batch counts once"))
	}
	res, err := h.in.Accept(r.Context(), p.Project, p.Environment, b)
	if err != nil {
		return h.fail(w, r, err)
	}
	body, err := json.Marshal(res)
	if err != nil {
		return h.fail(w, r, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
	return http.StatusOK
}

// errTooLarge reports a body beyond the limit, before or after decompression.
var errTooLarge = errors.New("body too large")

// decode reads the batch from the body.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, rows []telemetry.Row) (telemetry.Batch, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return telemetry.Batch{}, unsupported(fmt.Sprintf("Content-Type %q is not application/json", ct))
		}
	}
	limit := h.in.opts.MaxBodyBytes
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return telemetry.Batch{}, bodyError(err, limit, "invalid gzip body")
		}
		body = &limitReader{r: zr, left: limit}
	default:
		return telemetry.Batch{}, unsupported(fmt.Sprintf("Content-Encoding %q is not supported (expected gzip or none)", enc))
	}
	// The decoded batch keeps no reference to the body, so its buffer is reused.
	buf := h.bufs.Get().(*bytes.Buffer)
	defer h.bufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(body); err != nil {
		return telemetry.Batch{}, bodyError(err, limit, "cannot read the body")
	}
	return decodeBatch(buf.Bytes(), &h.names, rows[:0])
}

// bodyError words a failure to read or decode the body.
func bodyError(err error, limit int64, what string) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || errors.Is(err, errTooLarge) {
		return domain.Errorf(domain.CodeTooLarge, "the request body is larger than %d bytes; send smaller batches", limit)
	}
	if err == nil {
		return domain.Errorf(domain.CodeInvalid, "%s", what)
	}
	return domain.Errorf(domain.CodeInvalid, "%s: %v", what, err)
}

// limitReader fails with errTooLarge once more than left bytes were read.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errTooLarge
	}
	return n, err
}

// unsupportedMedia is a body in a type or encoding the endpoint does not read (415).
type unsupportedMedia string

func (u unsupportedMedia) Error() string { return string(u) }

func unsupported(msg string) error { return unsupportedMedia(msg) }

// fail writes err in the envelope and returns the status. Errors that are not application
// errors are logged and shown as "internal error".
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) int {
	var media unsupportedMedia
	var status int
	switch code := domain.ErrorCode(err); {
	case errors.As(err, &media):
		return writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", string(media), "")
	case errors.Is(err, ErrClosed):
		w.Header().Set("Retry-After", "1")
		return writeError(w, http.StatusServiceUnavailable, "unavailable", ErrClosed.Error()+"; retry shortly", "")
	case r.Context().Err() != nil:
		// The client went away while its batch waited; nobody reads the answer.
		return writeError(w, http.StatusServiceUnavailable, "unavailable", "the request ended before the batch was written", "")
	case code == domain.CodeInvalid:
		status = http.StatusBadRequest
	case code == domain.CodeUnauthorized:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="flagpilot"`)
	case code == domain.CodeForbidden:
		status = http.StatusForbidden
	case code == domain.CodeNotFound:
		status = http.StatusNotFound
	case code == domain.CodeTooLarge:
		status = http.StatusRequestEntityTooLarge
	case code == domain.CodeRateLimited:
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", "1")
	default:
		h.in.log.ErrorContext(r.Context(), "telemetry request failed", "error", err)
		return writeError(w, http.StatusInternalServerError, string(domain.CodeInternal), "internal error", "")
	}
	var e *domain.Error
	errors.As(err, &e)
	return writeError(w, status, string(e.Code), e.Message, e.Field)
}

// writeError writes the error envelope the other APIs use.
func writeError(w http.ResponseWriter, status int, code, message, field string) int {
	type envelope struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	}
	body, _ := json.Marshal(map[string]envelope{"error": {Code: code, Message: message, Field: field}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
	return status
}
