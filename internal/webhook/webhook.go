// Package webhook delivers outbound webhooks from the persisted outbox.
//
// The service layer writes one domain.Delivery per matching webhook in the same transaction as
// the change it reports, with the event JSON as its payload. A Dispatcher sends due deliveries
// and records each attempt only after it has ended, so a crash or restart never loses a
// delivery: delivery is at least once, and receivers drop duplicates by the delivery id.
//
// # Requests
//
// Each attempt is a POST with these headers:
//
//	Content-Type: application/json
//	User-Agent: Flagpilot-Webhook/1
//	X-Flagpilot-Event: <event type, e.g. flag.changed>
//	X-Flagpilot-Delivery: <delivery id, the same on every retry>
//	X-Flagpilot-Timestamp: <unix seconds when the attempt was signed>
//	X-Flagpilot-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// The body is the event as stored (format "json"):
//
//	{"id": "17", "type": "flag.changed", "action": "flag.config.updated", "time": "2025-01-02T15:04:05Z",
//	 "actor": {"kind": "token", "id": "…", "name": "ci"}, "project": "shop", "environment": "production",
//	 "resource": {"type": "flag", "key": "new-checkout"}, "before": {…}, "after": {…}, "comment": "…"}
//
// or, for format "slack", a Slack incoming-webhook message {"text": …, "blocks": […]} that
// summarises the event in one line, such as "*alice* updated flag `new-checkout` in production:
// ship it", followed by the top-level fields that changed; it is signed the same way.
//
// # Verifying a request
//
// A receiver recomputes the signature over the raw body, exactly as received, and rejects the
// request unless it matches and the timestamp is recent, which stops replays of captured
// requests:
//
//  1. Read X-Flagpilot-Timestamp and X-Flagpilot-Signature; reject if either is missing.
//  2. Reject if the timestamp is more than a few minutes (we suggest 5) from the receiver's clock.
//  3. Compute hex(HMAC-SHA256(secret, timestamp + "." + body)), prefix it with "v1=", and compare
//     it with the signature header in constant time.
//
// Verify does exactly this for Go receivers. The "v1=" prefix names the scheme. Receivers
// should accept the request when any of several comma-separated signatures matches, as Verify
// does, so that a new scheme, or a second secret while one is rotated, can be added later
// without breaking them.
//
// # Retries
//
// A 2xx answer means delivered. 410 Gone means the receiver is gone for good: the delivery fails
// at once. Any other status, a timeout or a connection error is retried with exponential backoff
// and full jitter, until Options.MaxAttempts attempts have been made. Redirects are not
// followed. Deliveries to a disabled or deleted webhook fail without being sent.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Request headers.
const (
	HeaderEvent     = "X-Flagpilot-Event"
	HeaderDelivery  = "X-Flagpilot-Delivery"
	HeaderTimestamp = "X-Flagpilot-Timestamp"
	HeaderSignature = "X-Flagpilot-Signature"

	userAgent = "Flagpilot-Webhook/1"
)

// DefaultTolerance is how far a request's timestamp may be from the receiver's clock when
// Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify.
var (
	ErrMissingSignature = errors.New("webhook: missing signature or timestamp header")
	ErrInvalidSignature = errors.New("webhook: invalid signature")
	ErrTimestamp        = errors.New("webhook: timestamp outside the tolerance")
)

// signaturePrefix names the signing scheme in the signature header.
const signaturePrefix = "v1="

// Sign returns the X-Flagpilot-Signature header value for a body sent at timestamp (unix
// seconds): "v1=" followed by the hex HMAC-SHA256, keyed with secret, of the timestamp in
// decimal, a dot, and the body.
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(strconv.AppendInt(nil, timestamp, 10))
	mac.Write([]byte("."))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a received request: header must carry a timestamp within tolerance of now (a
// tolerance of zero or less means DefaultTolerance) and a signature of body, as received, made
// with secret (one of its comma-separated signatures must match). It returns nil for a genuine, fresh request, and otherwise an error wrapping
// ErrMissingSignature, ErrTimestamp or ErrInvalidSignature.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		// Anyone can sign with an empty key, so accepting it would accept anything.
		return fmt.Errorf("%w: no secret to verify with", ErrInvalidSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	signature, stamp := header.Get(HeaderSignature), header.Get(HeaderTimestamp)
	if signature == "" || stamp == "" {
		return ErrMissingSignature
	}
	timestamp, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed timestamp", ErrInvalidSignature)
	}
	// Checked before the signature: a replayed request is rejected without hashing its body.
	if skew := now.Sub(time.Unix(timestamp, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: %s off", ErrTimestamp, skew.Round(time.Second))
	}
	want := []byte(Sign(secret, timestamp, body))
	for sig := range strings.SplitSeq(signature, ",") {
		if hmac.Equal(want, []byte(strings.TrimSpace(sig))) {
			return nil
		}
	}
	return ErrInvalidSignature
}
