package ofrep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/flagpilot/flagpilot/internal/snapshot"
	"github.com/flagpilot/flagpilot/sdk/eval"
)

// OFREP error codes (OpenAPI document: evaluationFailure, flagNotFound, bulkEvaluationFailure).
// TYPE_MISMATCH is not among them: requests do not say which type the caller expects, so the
// provider detects a mismatch from the JSON type of the value.
const (
	codeFlagNotFound        = "FLAG_NOT_FOUND"
	codeParseError          = "PARSE_ERROR"
	codeInvalidContext      = "INVALID_CONTEXT"
	codeTargetingKeyMissing = "TARGETING_KEY_MISSING"
	codeGeneral             = "GENERAL"
)

// envKey names an environment.
type envKey struct{ project, env string }

// prepared is a snapshot entry with the request-independent parts of its answers serialised,
// so that an evaluation only appends byte slices.
type prepared struct {
	entry *snapshot.Entry
	flags []flagParts // by eval.Flag.Index
	// digest is a hash of the entry's JSON (which holds its project, environment and version),
	// for bulk ETags. The version alone is not enough: two builds may share a version with
	// different content (see snapshot.Cache).
	digest [sha256.Size]byte
}

// flagParts are a flag's pieces of an evaluationSuccess or evaluationFailure object.
type flagParts struct {
	open     []byte   // {"key":"<key>"
	variants [][]byte // per variant: ,"value":<value>,"variant":"<name>"
	// metadata closes a success: ,"metadata":{"version":"<n>"}}. The version is a string
	// because that is what OpenFeature's telemetry reads as feature_flag.version.
	metadata []byte
}

// prepare returns the prepared form of e, building it when e is newer than what the handler
// holds for its environment. Concurrent first requests may build it twice; both results are
// correct, and the newer entry wins the slot.
func (h *handler) prepare(e *snapshot.Entry) (*prepared, error) {
	k := envKey{e.Project, e.Environment}
	if v, ok := h.prepared.Load(k); ok && v.(*prepared).entry == e {
		return v.(*prepared), nil
	}
	p, err := newPrepared(e)
	if err != nil {
		return nil, err
	}
	for {
		v, loaded := h.prepared.LoadOrStore(k, p)
		if !loaded {
			return p, nil
		}
		old := v.(*prepared)
		if old.entry == e {
			return old, nil
		}
		if old.entry.Version > e.Version || h.prepared.CompareAndSwap(k, old, p) {
			return p, nil
		}
	}
}

func newPrepared(e *snapshot.Entry) (*prepared, error) {
	flags := e.Compiled.Flags()
	p := &prepared{entry: e, flags: make([]flagParts, len(flags)), digest: sha256.Sum256(e.JSON)}
	for _, f := range flags {
		key, _ := json.Marshal(f.Key()) // a string cannot fail to encode
		parts := flagParts{
			open:     append([]byte(`{"key":`), key...),
			variants: make([][]byte, f.VariantCount()),
			metadata: fmt.Appendf(nil, `,"metadata":{"version":"%d"}}`, f.Version()),
		}
		for i := range parts.variants {
			value, err := json.Marshal(f.Value(i))
			if err != nil {
				return nil, fmt.Errorf("flag %s, variant %s: %w", f.Key(), f.VariantName(i), err)
			}
			name, _ := json.Marshal(f.VariantName(i))
			b := append([]byte(`,"value":`), value...)
			b = append(b, `,"variant":`...)
			parts.variants[i] = append(b, name...)
		}
		p.flags[f.Index()] = parts
	}
	return p, nil
}

// appendEvaluation appends the evaluationSuccess or evaluationFailure object of decision d of
// flag f. It reports whether d is a success.
func (p *prepared) appendEvaluation(b []byte, f *eval.Flag, d eval.Decision) ([]byte, bool) {
	parts := &p.flags[f.Index()]
	b = append(b, parts.open...)
	if d.Failed() {
		return appendFailure(b, d.Error()), false
	}
	b = append(b, parts.variants[d.Variant]...)
	b = append(b, `,"reason":"`...)
	b = append(b, d.Reason()...)
	b = append(b, '"')
	return append(b, parts.metadata...), true
}

// appendFailure appends the errorCode and errorDetails members of an evaluation error and
// closes the object. The engine fails an evaluation only for a rollout without its bucketing
// attribute (TARGETING_KEY_MISSING) or a configuration it cannot serve (GENERAL).
func appendFailure(b []byte, code eval.ErrorCode) []byte {
	details := failureDetails[code]
	if details == nil {
		code, details = codeGeneral, failureDetails[codeGeneral]
	}
	b = append(b, `,"errorCode":"`...)
	b = append(b, code...)
	b = append(b, `","errorDetails":`...)
	b = append(b, details...)
	return append(b, '}')
}

// failureDetails are the JSON-quoted errorDetails of evaluation errors.
var failureDetails = map[eval.ErrorCode][]byte{
	codeTargetingKeyMissing: mustMarshal("the flag serves a percentage rollout here, which needs a targeting key " +
		"(or the attribute named by the rollout's bucketBy) in the context"),
	codeGeneral: mustMarshal("the flag's configuration cannot be served in this environment"),
}

// failure is a request-level error: a body or context the server cannot evaluate with.
type failure struct {
	status  int
	code    string // empty for statuses whose answer is a generalErrorResponse
	details string
}

// writeSingle answers a failed single evaluation with an evaluationFailure (400) or a
// generalErrorResponse (other statuses).
func (f *failure) writeSingle(w http.ResponseWriter, key string) int {
	if f.code == "" {
		return writeGeneralError(w, f.status, f.details)
	}
	return writeJSON(w, f.status, mustMarshal(evaluationFailure{Key: key, ErrorCode: f.code, ErrorDetails: f.details}))
}

// writeBulk answers a failed bulk evaluation with a bulkEvaluationFailure (400), which has no
// key, or a generalErrorResponse (other statuses).
func (f *failure) writeBulk(w http.ResponseWriter) int {
	if f.code == "" {
		return writeGeneralError(w, f.status, f.details)
	}
	return writeJSON(w, f.status, mustMarshal(evaluationFailure{ErrorCode: f.code, ErrorDetails: f.details}))
}

// evaluationFailure is the OpenAPI document's evaluationFailure and flagNotFound, and without a
// key its bulkEvaluationFailure.
type evaluationFailure struct {
	Key          string `json:"key,omitempty"`
	ErrorCode    string `json:"errorCode"`
	ErrorDetails string `json:"errorDetails"`
}

// writeGeneralError writes the OpenAPI document's generalErrorResponse. The document gives 401,
// 403 and 429 no body; one that says what to fix costs nothing.
func writeGeneralError(w http.ResponseWriter, status int, details string) int {
	return writeJSON(w, status, mustMarshal(struct {
		ErrorDetails string `json:"errorDetails"`
	}{details}))
}

// mustMarshal encodes strings and structs of strings, which cannot fail.
func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) int {
	hd := w.Header()
	hd["Content-Type"] = headerJSON
	hd["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body) // an error means the client went away; there is no one left to tell
	return status
}

// bulkETag identifies a bulk answer by the snapshot and the context it was evaluated with, so
// the same configuration and context always give the same ETag, on every replica. canonical is
// the context in a canonical JSON form. The version leads, to make ETags readable in logs.
func (p *prepared) bulkETag(canonical []byte) string {
	h := sha256.New()
	h.Write(p.digest[:])
	h.Write(canonical)
	var sum [sha256.Size]byte
	// 128 bits: a collision would answer "not modified" with another context's flags.
	return `"` + strconv.FormatInt(p.entry.Version, 10) + "-" + hex.EncodeToString(h.Sum(sum[:0])[:16]) + `"`
}

// noneMatch reports whether an If-None-Match header lists etag, comparing weakly as RFC 9110
// requires for If-None-Match.
func noneMatch(values []string, etag string) bool {
	for _, v := range values {
		for tag := range strings.SplitSeq(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
				return true
			}
		}
	}
	return false
}

// buffers holds response and request buffers between requests. Buffers that grew past
// maxPooled (a bulk answer for a large environment) are left to the collector rather than kept.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooled = 64 << 10

func getBuffer() *[]byte { return buffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		buffers.Put(b)
	}
}
