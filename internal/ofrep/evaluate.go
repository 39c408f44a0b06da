package ofrep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/sdk/eval"
)

// single evaluates one flag: 200 with an evaluationSuccess; 404 with flagNotFound; 400 with an
// evaluationFailure for a body, context or evaluation the flag cannot be served with.
func (h *handler) single(w http.ResponseWriter, r *http.Request) int {
	h.cors(w, r)
	p, status, ok := h.authenticate(w, r)
	if !ok {
		return status
	}
	key := r.PathValue("key")
	ctx, fail := h.readContext(w, r)
	if fail != nil {
		return fail.writeSingle(w, key)
	}
	prep, err := h.snapshot(r, p)
	if err != nil {
		return h.internalError(r.Context(), w, "snapshot", err)
	}
	f, found := prep.entry.Compiled.Flag(key)
	if !found {
		fail := failure{status: http.StatusNotFound, code: codeFlagNotFound,
			details: fmt.Sprintf("flag %q does not exist in environment %s", key, p.Environment)}
		return fail.writeSingle(w, key)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	var success bool
	*buf, success = prep.appendEvaluation(*buf, f, f.Decide(&ctx))
	if !success {
		return writeJSON(w, http.StatusBadRequest, *buf)
	}
	return writeJSON(w, http.StatusOK, *buf)
}

// bulk evaluates every flag of the key's environment: 200 with {"flags": [...]} where flags that
// cannot be served are evaluationFailures in place; 304 when If-None-Match holds the ETag of
// the same context and snapshot; 400 with a bulkEvaluationFailure for a body or context
// that nothing can be evaluated with.
func (h *handler) bulk(w http.ResponseWriter, r *http.Request) int {
	h.cors(w, r)
	p, status, ok := h.authenticate(w, r)
	if !ok {
		return status
	}
	ctx, canonical, fail := h.readBulkContext(w, r)
	if fail != nil {
		return fail.writeBulk(w)
	}
	prep, err := h.snapshot(r, p)
	if err != nil {
		return h.internalError(r.Context(), w, "snapshot", err)
	}
	etag := prep.bulkETag(canonical)
	w.Header().Set("ETag", etag)
	// Checked before evaluating: an unchanged answer costs a hash, not a pass over every flag.
	if noneMatch(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	buf := getBuffer()
	defer putBuffer(buf)
	b := append(*buf, `{"flags":[`...)
	for i, f := range prep.entry.Compiled.Flags() {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = prep.appendEvaluation(b, f, f.Decide(&ctx))
	}
	*buf = append(b, "]}"...)
	return writeJSON(w, http.StatusOK, *buf)
}

func (h *handler) snapshot(r *http.Request, p auth.Principal) (*prepared, error) {
	e, err := h.cache.Get(r.Context(), p.Project, p.Environment)
	if err != nil {
		return nil, err
	}
	return h.prepare(e)
}

// request is the body of both endpoints (evaluationRequest, bulkEvaluationRequest). Their
// schemas do not forbid additional properties, so unknown members are ignored.
type request struct {
	Context any `json:"context"`
}

// readContext reads the evaluation context of a request.
func (h *handler) readContext(w http.ResponseWriter, r *http.Request) (eval.Context, *failure) {
	attrs, fail := h.readAttributes(w, r)
	if fail != nil {
		return eval.Context{}, fail
	}
	return newContext(attrs)
}

// readBulkContext is readContext that also returns the context in a canonical JSON form (keys
// sorted, numbers formatted one way) for the ETag.
func (h *handler) readBulkContext(w http.ResponseWriter, r *http.Request) (eval.Context, []byte, *failure) {
	attrs, fail := h.readAttributes(w, r)
	if fail != nil {
		return eval.Context{}, nil, fail
	}
	ctx, fail := newContext(attrs)
	if fail != nil {
		return eval.Context{}, nil, fail
	}
	if len(attrs) == 0 {
		return ctx, []byte("{}"), nil // no context and an empty one are the same context
	}
	canonical, _ := json.Marshal(attrs) // cannot fail: the values came from JSON
	return ctx, canonical, nil
}

// readAttributes reads the body's context member. The body is optional in the OpenAPI
// document, so an empty one is an empty context; a null context is one too. A body that is
// not a JSON object cannot be parsed (PARSE_ERROR); a context that is not an object is not a
// context (INVALID_CONTEXT).
func (h *handler) readAttributes(w http.ResponseWriter, r *http.Request) (map[string]any, *failure) {
	buf := getBuffer()
	defer putBuffer(buf)
	body, err := readAll(*buf, http.MaxBytesReader(w, r.Body, h.opts.MaxBody))
	*buf = body
	if err != nil {
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			return nil, &failure{status: http.StatusRequestEntityTooLarge,
				details: "the request body exceeds " + strconv.FormatInt(h.opts.MaxBody, 10) + " bytes"}
		}
		return nil, &failure{status: http.StatusBadRequest, code: codeParseError, details: "reading the request body: " + err.Error()}
	}
	body = bytes.TrimLeft(body, " \t\r\n")
	if len(body) == 0 {
		return nil, nil
	}
	if body[0] != '{' {
		return nil, &failure{status: http.StatusBadRequest, code: codeParseError,
			details: `the request body must be a JSON object such as {"context": {"targetingKey": "user-1"}}`}
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &failure{status: http.StatusBadRequest, code: codeParseError, details: "the request body is not valid JSON: " + err.Error()}
	}
	switch c := req.Context.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return c, nil
	}
	return nil, &failure{status: http.StatusBadRequest, code: codeInvalidContext, details: "context must be a JSON object"}
}

// newContext builds an evaluation context. Null attributes are dropped: OpenFeature SDKs in
// languages with null (JavaScript's among them) send them, and for matching, a null attribute
// and a missing one mean the same. Other values must be strings, numbers, booleans or lists of
// strings; the error names the attribute.
func newContext(attrs map[string]any) (eval.Context, *failure) {
	for k, v := range attrs {
		if v == nil {
			delete(attrs, k)
		}
	}
	ctx, err := eval.ContextFromMap(attrs)
	if err != nil {
		return eval.Context{}, &failure{status: http.StatusBadRequest, code: codeInvalidContext, details: "context: " + err.Error()}
	}
	return ctx, nil
}

// readAll is io.ReadAll into b's storage, so pooled buffers are reused.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
