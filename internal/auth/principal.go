package auth

import (
	"context"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// Kind says what authenticated a request or made a change.
type Kind string

const (
	KindToken     Kind = "token"     // an admin API token
	KindUser      Kind = "user"      // a person signed in to the dashboard
	KindSDK       Kind = "sdk"       // an SDK key; never allowed on the management API
	KindAutopilot Kind = "autopilot" // the rollout engine acting on its own
	KindSystem    Kind = "system"    // the server itself (bootstrap, migrations)
)

// Principal is who is acting. SDK principals carry the environment their key belongs to and no
// role.
type Principal struct {
	Kind Kind
	ID   string
	Name string
	Role domain.Role

	// For SDK keys only.
	Project     string
	Environment string
	KeyKind     domain.SDKKeyKind

	// Session is the ID of the dashboard session the principal acts through, if any.
	Session string
}

// TokenPrincipal is the principal of an admin API token.
func TokenPrincipal(t domain.Token) Principal {
	return Principal{Kind: KindToken, ID: t.ID, Name: t.Name, Role: t.Role}
}

// UserPrincipal is the principal of a dashboard user, named by its e-mail address.
func UserPrincipal(u domain.User) Principal {
	return Principal{Kind: KindUser, ID: u.ID, Name: u.Email, Role: u.Role}
}

// System is the principal of changes the server makes by itself, such as creating the first
// admin token.
func System() Principal {
	return Principal{Kind: KindSystem, Name: "flagpilot", Role: domain.RoleAdmin}
}

// Autopilot is the principal of the changes the rollout engine makes on its own; it may do
// what an editor may.
func Autopilot() Principal {
	return Principal{Kind: KindAutopilot, ID: "autopilot", Name: "autopilot", Role: domain.RoleEditor}
}

// Actor returns the principal as the audit log records it.
func (p Principal) Actor() domain.Actor {
	return domain.Actor{Kind: string(p.Kind), ID: p.ID, Name: p.Name}
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal carried by ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
