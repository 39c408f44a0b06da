package auth

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// Cache is a Verifier that remembers the SDK keys another one accepted, for a time: looking a
// key up in the store costs more than handling a telemetry batch. Only successes are kept, so
// a new key works at once, and a deleted key keeps working for at most the TTL. Entries are
// found by the secret's hash, so the cache holds no secrets.
type Cache struct {
	v   Verifier
	ttl time.Duration
	now func() time.Time

	mu sync.RWMutex
	m  map[[sha256.Size]byte]cachedKey
}

type cachedKey struct {
	p       Principal
	expires time.Time
}

var _ Verifier = (*Cache)(nil)

// NewCache returns a cache of v's SDK key authentications that keeps each for ttl, as the
// clock now (time.Now when nil) tells.
func NewCache(v Verifier, ttl time.Duration, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{v: v, ttl: ttl, now: now, m: map[[sha256.Size]byte]cachedKey{}}
}

func (c *Cache) Authenticate(ctx context.Context, secret string) (Principal, error) {
	hash := sha256.Sum256([]byte(secret))
	now := c.now()
	c.mu.RLock()
	k, ok := c.m[hash]
	c.mu.RUnlock()
	if ok && now.Before(k.expires) {
		return k.p, nil
	}
	p, err := c.v.Authenticate(ctx, secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil && p.Kind == KindSDK:
		c.m[hash] = cachedKey{p: p, expires: now.Add(c.ttl)}
	case ok:
		delete(c.m, hash) // refused now, or not cacheable: forget the old answer
	}
	return p, err
}
