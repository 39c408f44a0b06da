package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/webhook"
)

func TestSignMatchesTheDocumentedScheme(t *testing.T) {
	// Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
	const want = "v1=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"
	got := webhook.Sign("s3cret", 1700000000, []byte(`{"a":1}`))
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	const secret = "s3cret"
	now := time.Unix(1700000000, 0)
	body := []byte(`{"type":"flag.changed"}`)
	signed := func(ts time.Time, body []byte) http.Header {
		h := http.Header{}
		h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(webhook.HeaderSignature, webhook.Sign(secret, ts.Unix(), body))
		return h
	}
	without := func(h http.Header, name string) http.Header { h.Del(name); return h }

	tests := []struct {
		name   string
		secret string
		header http.Header
		body   []byte
		want   error
	}{
		{"genuine", secret, signed(now, body), body, nil},
		{"slightly in the future", secret, signed(now.Add(time.Minute), body), body, nil},
		{"tampered body", secret, signed(now, body), []byte(`{"type":"flag.deleted"}`), webhook.ErrInvalidSignature},
		{"wrong secret", "other", signed(now, body), body, webhook.ErrInvalidSignature},
		{"empty secret", "", signed(now, body), body, webhook.ErrInvalidSignature},
		{"old timestamp", secret, signed(now.Add(-6*time.Minute), body), body, webhook.ErrTimestamp},
		{"future timestamp", secret, signed(now.Add(6*time.Minute), body), body, webhook.ErrTimestamp},
		{"missing signature", secret, without(signed(now, body), webhook.HeaderSignature), body, webhook.ErrMissingSignature},
		{"missing timestamp", secret, without(signed(now, body), webhook.HeaderTimestamp), body, webhook.ErrMissingSignature},
		{"malformed timestamp", secret, func() http.Header {
			h := signed(now, body)
			h.Set(webhook.HeaderTimestamp, "yesterday")
			return h
		}(), body, webhook.ErrInvalidSignature},
		{"several signatures, one valid", secret, func() http.Header {
			h := signed(now, body)
			h.Set(webhook.HeaderSignature, "v2=abc, "+h.Get(webhook.HeaderSignature))
			return h
		}(), body, nil},
		{"timestamp changed after signing", secret, func() http.Header {
			h := signed(now.Add(-time.Hour), body)
			h.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
			return h
		}(), body, webhook.ErrInvalidSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify(tc.secret, tc.header, tc.body, now, 5*time.Minute)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}
