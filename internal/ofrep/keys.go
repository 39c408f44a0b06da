package ofrep

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
)

// authenticate returns the SDK principal of the request, or writes the OFREP answer for a
// missing (401), unknown (401) or unfit (403) credential and returns ok false. The OpenAPI
// document lists both an API key in X-API-Key and a bearer token; either carries an SDK key.
// Secrets are never logged.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (p auth.Principal, status int, ok bool) {
	secret := strings.TrimSpace(r.Header.Get("X-API-Key"))
	if secret == "" {
		if scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") {
			secret = strings.TrimSpace(token)
		}
	}
	if secret == "" {
		return p, h.unauthorized(w, "send an SDK key as X-API-Key: <key> or Authorization: Bearer <key>"), false
	}
	hash := sha256.Sum256([]byte(secret))
	now := time.Now()
	if p, ok := h.keys.get(hash, now); ok {
		return p, 0, true
	}
	p, err := h.auth.Authenticate(r.Context(), secret)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return p, h.unauthorized(w, "unknown or invalid SDK key"), false
		}
		return p, h.internalError(r.Context(), w, "authenticate", err), false
	}
	if p.Kind != auth.KindSDK {
		// Admin tokens manage configuration; evaluation is for the SDK keys of an environment,
		// which is what decides whose flags are evaluated.
		return p, writeGeneralError(w, http.StatusForbidden, "OFREP needs a server or client SDK key; admin tokens cannot evaluate flags"), false
	}
	h.keys.put(hash, p, now)
	return p, 0, true
}

func (h *handler) unauthorized(w http.ResponseWriter, details string) int {
	w.Header().Set("WWW-Authenticate", `Bearer realm="flagpilot"`)
	return writeGeneralError(w, http.StatusUnauthorized, details)
}

// keyCache remembers the principals of SDK keys that authenticated recently: looking a key up
// in the store costs more than the rest of an evaluation. Only successes are kept, so a new
// key works at once and the cache holds one entry per key that ever authenticated. Entries are
// found by the secret's hash, so the cache holds no secrets.
type keyCache struct {
	ttl time.Duration // negative: disabled
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]cachedKey
}

type cachedKey struct {
	p       auth.Principal
	expires time.Time
}

func (c *keyCache) get(hash [sha256.Size]byte, now time.Time) (auth.Principal, bool) {
	if c.ttl < 0 {
		return auth.Principal{}, false
	}
	c.mu.RLock()
	k, ok := c.m[hash]
	c.mu.RUnlock()
	if !ok || now.After(k.expires) {
		return auth.Principal{}, false
	}
	return k.p, true
}

func (c *keyCache) put(hash [sha256.Size]byte, p auth.Principal, now time.Time) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[sha256.Size]byte]cachedKey{}
	}
	c.m[hash] = cachedKey{p: p, expires: now.Add(c.ttl)}
}
