package auth

import (
	"net/http"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// ServerKey authenticates the server SDK key a request to the SDK endpoints carries, as a
// bearer token or in X-API-Key, and returns the key's principal with the secret (streams
// re-check it). Admin tokens and client-side keys are forbidden: these endpoints hand out whole
// configurations and take the telemetry rollouts are decided on. The secret is never logged.
func ServerKey(r *http.Request, v Verifier) (Principal, string, error) {
	secret := strings.TrimSpace(r.Header.Get("X-API-Key"))
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		secret = strings.TrimSpace(token)
	}
	if secret == "" {
		return Principal{}, "", domain.Errorf(domain.CodeUnauthorized, "send a server SDK key as Authorization: Bearer <key> or X-API-Key: <key>")
	}
	p, err := v.Authenticate(r.Context(), secret)
	switch {
	case err != nil:
		return Principal{}, "", err
	case p.Kind != KindSDK:
		return Principal{}, "", domain.Errorf(domain.CodeForbidden, "admin tokens cannot be used on the SDK endpoints; use a server SDK key")
	case p.KeyKind != domain.SDKKeyServer:
		return Principal{}, "", domain.Errorf(domain.CodeForbidden, "client-side keys may only evaluate flags, through OFREP; use a server SDK key")
	}
	return p, secret, nil
}
