package service

import (
	"context"
	"slices"
	"strings"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// ListSDKKeys returns the SDK keys of an environment (never their secrets).
func (s *Service) ListSDKKeys(ctx context.Context, project, env string) ([]domain.SDKKey, error) {
	if _, err := s.store.GetEnvironment(ctx, project, env); err != nil {
		return nil, err
	}
	return s.store.ListSDKKeys(ctx, project, env)
}

// CreateSDKKey creates an SDK key for an environment and returns its secret, which is not
// stored and cannot be shown again. kind defaults to server.
func (s *Service) CreateSDKKey(ctx context.Context, project, env, name string, kind domain.SDKKeyKind) (domain.SDKKey, string, error) {
	var p snapshot.Problems
	checkText(&p, "name", name, maxName)
	prefix := auth.PrefixServerKey
	switch kind {
	case "":
		kind = domain.SDKKeyServer
	case domain.SDKKeyServer:
	case domain.SDKKeyClient:
		prefix = auth.PrefixClientKey
	default:
		p.Addf("kind", "unknown kind %q (expected %s or %s)", kind, domain.SDKKeyServer, domain.SDKKeyClient)
	}
	if err := invalid(&p); err != nil {
		return domain.SDKKey{}, "", err
	}
	secret := auth.NewSecret(prefix)
	var out domain.SDKKey
	err := s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		if _, err := t.GetEnvironment(t.ctx, project, env); err != nil {
			return err
		}
		out = domain.SDKKey{ID: newID(), Project: project, Environment: env, Name: name, Kind: kind,
			Hash: auth.Hash(secret), Prefix: auth.Prefix(secret), CreatedAt: t.now}
		if err := t.CreateSDKKey(t.ctx, out); err != nil {
			return err
		}
		return t.record(change{action: "sdk_key.created", project: project, environment: env, resourceType: "sdk_key", resourceKey: out.ID, after: out})
	})
	if err != nil {
		return domain.SDKKey{}, "", err
	}
	return out, secret, nil
}

// DeleteSDKKey deletes an SDK key of an environment.
func (s *Service) DeleteSDKKey(ctx context.Context, project, env, id string) error {
	return s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		k, err := t.GetSDKKey(t.ctx, id)
		if err == nil && (k.Project != project || k.Environment != env) {
			err = domain.NotFound("SDK key", id) // a key of another environment is not this one's
		}
		if err != nil {
			return err
		}
		if err := t.DeleteSDKKey(t.ctx, id); err != nil {
			return err
		}
		return t.record(change{action: "sdk_key.deleted", project: project, environment: env, resourceType: "sdk_key", resourceKey: id, before: k})
	})
}

// ListTokens returns the admin tokens (never their secrets).
func (s *Service) ListTokens(ctx context.Context) ([]domain.Token, error) {
	return s.store.ListTokens(ctx)
}

// GetToken returns an admin token.
func (s *Service) GetToken(ctx context.Context, id string) (domain.Token, error) {
	return s.store.GetToken(ctx, id)
}

var roles = []domain.Role{domain.RoleViewer, domain.RoleEditor, domain.RoleAdmin}

// CreateToken creates an admin API token and returns its secret, which is not stored and
// cannot be shown again. Only admins create tokens.
func (s *Service) CreateToken(ctx context.Context, name string, role domain.Role) (domain.Token, string, error) {
	var p snapshot.Problems
	if name == "" {
		p.Addf("name", "required")
	}
	checkText(&p, "name", name, maxName)
	if !slices.Contains(roles, role) {
		p.Addf("role", "unknown role %q (expected viewer, editor or admin)", role)
	}
	if err := invalid(&p); err != nil {
		return domain.Token{}, "", err
	}
	principal, err := authorize(ctx, domain.RoleAdmin)
	if err != nil {
		return domain.Token{}, "", err
	}
	secret := auth.NewSecret(auth.PrefixAdminToken)
	var out domain.Token
	err = s.writeAs(ctx, principal, func(t *txn) (err error) {
		out, err = t.createToken(principal, name, role, secret)
		return err
	})
	return out, secret, err
}

func (t *txn) createToken(by auth.Principal, name string, role domain.Role, secret string) (domain.Token, error) {
	out := domain.Token{ID: newID(), Name: name, Role: role, Hash: auth.Hash(secret), Prefix: auth.Prefix(secret),
		CreatedAt: t.now, CreatedBy: by.Name}
	if err := t.CreateToken(t.ctx, out); err != nil {
		return domain.Token{}, err
	}
	return out, t.record(change{action: "token.created", resourceType: "token", resourceKey: out.ID, after: out})
}

// DeleteToken deletes an admin token; requests using it fail from then on.
func (s *Service) DeleteToken(ctx context.Context, id string) error {
	return s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		before, err := t.GetToken(t.ctx, id)
		if err != nil {
			return err
		}
		if err := t.DeleteToken(t.ctx, id); err != nil {
			return err
		}
		return t.record(change{action: "token.deleted", resourceType: "token", resourceKey: id, before: before})
	})
}

// EnsureAdminToken creates an admin token when there is none, so a new server can be reached,
// and returns its secret (fixedSecret when given, for automated set-ups). It acts as the
// system principal, whatever ctx carries.
func (s *Service) EnsureAdminToken(ctx context.Context, fixedSecret string) (secret string, created bool, err error) {
	secret = fixedSecret
	if secret == "" {
		secret = auth.NewSecret(auth.PrefixAdminToken)
	} else if !strings.HasPrefix(secret, auth.PrefixAdminToken) || len(secret) < len(auth.PrefixAdminToken)+32 {
		return "", false, domain.Errorf(domain.CodeInvalid, "the initial admin token must start with %s and have at least 32 more characters", auth.PrefixAdminToken)
	}
	err = s.writeAs(ctx, auth.System(), func(t *txn) error {
		tokens, err := t.ListTokens(t.ctx)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(tokens, func(t domain.Token) bool { return t.Role == domain.RoleAdmin }) {
			return nil
		}
		created = true
		_, err = t.createToken(auth.System(), "initial admin", domain.RoleAdmin, secret)
		return err
	})
	if err != nil || !created {
		return "", false, err
	}
	return secret, true, nil
}
