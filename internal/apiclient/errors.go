package apiclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Error is a failure the server answered with: its status and error envelope
// {"error": {"code", "message", "field", "details"}}. Answers that are not the envelope (from a
// proxy, say) have an empty Code and the start of the body as Message.
type Error struct {
	Status  int
	Code    string // invalid, not_found, conflict, unauthorized, forbidden, precondition_required, …
	Message string
	// Field names the offending input by its path, such as rules[0].clauses[1].op, when there
	// is one.
	Field string
	// Details lists every invalid field when there are several; the first is Field and Message.
	Details []snapshot.FieldError
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	code := e.Code
	if code == "" {
		code = strings.ToLower(http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s (%d %s)", msg, e.Status, code)
}

// maxErrorBody bounds how much of an error answer is read: the envelope is small, and a proxy's
// error page is not worth more.
const maxErrorBody = 64 << 10

func decodeError(res *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	var envelope struct {
		Error struct {
			Code    string                `json:"code"`
			Message string                `json:"message"`
			Field   string                `json:"field"`
			Details []snapshot.FieldError `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &envelope) == nil && envelope.Error.Code != "" {
		d := envelope.Error
		return &Error{Status: res.StatusCode, Code: d.Code, Message: d.Message, Field: d.Field, Details: d.Details}
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(res.StatusCode)
	}
	return &Error{Status: res.StatusCode, Message: msg}
}

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// IsInvalid reports whether the server refused the input (400); Error.Field says which.
func IsInvalid(err error) bool { return hasStatus(err, http.StatusBadRequest) }

// IsUnauthorized reports whether the token is missing or unknown (401).
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports whether the token's role does not allow the request (403).
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsNotFound reports whether the resource, or one it belongs to, does not exist (404).
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether the change was refused because of the current state (409): a
// stale version, a key that exists, or a resource still in use.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }
