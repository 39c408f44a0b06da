package auth

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// Verifier turns a presented secret into a Principal. The SDK endpoints and OFREP take one, so
// that a relay, which has no database, can serve them with its single SDK key.
type Verifier interface {
	Authenticate(ctx context.Context, secret string) (Principal, error)
}

var _ Verifier = (*Authenticator)(nil)

// Authenticator is the Verifier of the secrets in a store.
type Authenticator struct {
	Store domain.Reader
}

// Authenticate looks the secret up by its hash. Unknown or malformed secrets get a
// CodeUnauthorized error that says nothing about which part was wrong.
func (a *Authenticator) Authenticate(ctx context.Context, secret string) (Principal, error) {
	hash := Hash(secret)
	switch typePrefix(secret) {
	case PrefixAdminToken:
		t, err := a.Store.GetTokenByHash(ctx, hash)
		if err != nil {
			return Principal{}, lookupError(err)
		}
		// The lookup is by hash already; comparing again in constant time keeps the check
		// independent of how a store implements the lookup (an index, a scan, a cache).
		if subtle.ConstantTimeCompare(t.Hash, hash) != 1 {
			return Principal{}, errUnauthorized
		}
		return TokenPrincipal(t), nil
	case PrefixServerKey, PrefixClientKey:
		k, err := a.Store.GetSDKKeyByHash(ctx, hash)
		if err != nil {
			return Principal{}, lookupError(err)
		}
		if subtle.ConstantTimeCompare(k.Hash, hash) != 1 {
			return Principal{}, errUnauthorized
		}
		return Principal{Kind: KindSDK, ID: k.ID, Name: k.Name, Project: k.Project, Environment: k.Environment, KeyKind: k.Kind}, nil
	}
	return Principal{}, errUnauthorized
}

var errUnauthorized = domain.Errorf(domain.CodeUnauthorized, "invalid or unknown token")

func lookupError(err error) error {
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return errUnauthorized
	}
	return fmt.Errorf("authenticate: %w", err)
}
