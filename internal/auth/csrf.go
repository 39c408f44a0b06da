package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// csrfLabel separates CSRF tokens from any other value a session secret might one day key.
const csrfLabel = "flagpilot csrf v1"

// CSRFToken returns the CSRF token of a dashboard session: the HMAC-SHA256 of a fixed label
// keyed by the session's secret, base64url-encoded. It is derived, so nothing more is stored;
// it is the same for the session's whole life; and it reveals nothing of the secret, which
// stays in its HttpOnly cookie while the token goes into pages and forms.
func CSRFToken(sessionSecret string) string {
	mac := hmac.New(sha256.New, []byte(sessionSecret))
	mac.Write([]byte(csrfLabel))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckCSRF reports, in constant time, whether token is the CSRF token of the session. Without
// a session there is no valid token.
func CheckCSRF(sessionSecret, token string) bool {
	if sessionSecret == "" {
		return false
	}
	return hmac.Equal([]byte(CSRFToken(sessionSecret)), []byte(token))
}
