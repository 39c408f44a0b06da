package service

import (
	"context"
	"net/mail"
	"slices"

	"golang.org/x/crypto/bcrypt"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// UserSpec is what an admin chooses for a new dashboard user.
type UserSpec struct {
	Email    string      `json:"email"`
	Name     string      `json:"name,omitempty"`
	Role     domain.Role `json:"role"`
	Password string      `json:"password"`
}

// Password bounds, in bytes: bcrypt reads no more than 72.
const (
	MinPassword = 10
	MaxPassword = 72
)

// maxEmail is the longest address SMTP can carry (RFC 5321's path limit, less the brackets).
const maxEmail = 254

func checkEmail(p *snapshot.Problems, email string) {
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > maxEmail {
		p.Addf("email", "expected an e-mail address such as ada@example.com, without a display name, of at most %d characters", maxEmail)
	}
}

func checkRole(p *snapshot.Problems, role domain.Role) {
	if !slices.Contains(roles, role) {
		p.Addf("role", "unknown role %q (expected viewer, editor or admin)", role)
	}
}

// checkPassword never repeats the password in its message.
func checkPassword(p *snapshot.Problems, path, password string) {
	if n := len(password); n < MinPassword || n > MaxPassword {
		p.Addf(path, "expected %d to %d bytes, got %d", MinPassword, MaxPassword, n)
	}
}

// hashPassword returns the bcrypt hash of a checked password.
func hashPassword(password string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
}

// ListUsers returns the dashboard users (never their password hashes). Only admins list them.
func (s *Service) ListUsers(ctx context.Context) ([]domain.User, error) {
	if _, err := authorize(ctx, domain.RoleAdmin); err != nil {
		return nil, err
	}
	return s.store.ListUsers(ctx)
}

// GetUser returns a dashboard user, to an admin or to the user itself.
func (s *Service) GetUser(ctx context.Context, id string) (domain.User, error) {
	if !isUser(ctx, id) {
		if _, err := authorize(ctx, domain.RoleAdmin); err != nil {
			return domain.User{}, err
		}
	}
	return s.store.GetUser(ctx, id)
}

// isUser reports whether the context's principal is the dashboard user id.
func isUser(ctx context.Context, id string) bool {
	p, ok := auth.PrincipalFrom(ctx)
	return ok && p.Kind == auth.KindUser && p.ID == id
}

// CreateUser creates a dashboard user who signs in with spec's e-mail address and password.
// Only admins create users; e-mail addresses are unique, ignoring case.
func (s *Service) CreateUser(ctx context.Context, spec UserSpec) (domain.User, error) {
	var p snapshot.Problems
	checkEmail(&p, spec.Email)
	checkText(&p, "name", spec.Name, maxName)
	checkRole(&p, spec.Role)
	checkPassword(&p, "password", spec.Password)
	if err := invalid(&p); err != nil {
		return domain.User{}, err
	}
	principal, err := authorize(ctx, domain.RoleAdmin)
	if err != nil {
		return domain.User{}, err
	}
	hash, err := hashPassword(spec.Password)
	if err != nil {
		return domain.User{}, err
	}
	var out domain.User
	err = s.writeAs(ctx, principal, func(t *txn) error {
		if _, err := t.GetUserByEmail(t.ctx, spec.Email); err == nil {
			return &domain.Error{Code: domain.CodeConflict, Field: "email", Message: "a user with this e-mail address exists"}
		} else if domain.ErrorCode(err) != domain.CodeNotFound {
			return err
		}
		out = domain.User{ID: newID(), Email: spec.Email, Name: spec.Name, Role: spec.Role, PasswordHash: hash,
			CreatedAt: t.now, CreatedBy: principal.Name}
		if err := t.CreateUser(t.ctx, out); err != nil {
			return err
		}
		return t.record(change{action: "user.created", resourceType: "user", resourceKey: out.ID, after: out})
	})
	return out, err
}

// UpdateUser changes a user's name, role, or both (nil leaves one as it is). Only admins
// change users; a new role applies to the user's open sessions at once.
func (s *Service) UpdateUser(ctx context.Context, id string, name *string, role *domain.Role) (domain.User, error) {
	var p snapshot.Problems
	if name != nil {
		checkText(&p, "name", *name, maxName)
	}
	if role != nil {
		checkRole(&p, *role)
	}
	if err := invalid(&p); err != nil {
		return domain.User{}, err
	}
	var out domain.User
	err := s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		before, err := t.GetUser(t.ctx, id)
		if err != nil {
			return err
		}
		out = before
		if name != nil {
			out.Name = *name
		}
		if role != nil {
			out.Role = *role
		}
		if out.Name == before.Name && out.Role == before.Role {
			return nil // no change, nothing to record
		}
		if err := t.UpdateUser(t.ctx, out); err != nil {
			return err
		}
		return t.record(change{action: "user.updated", resourceType: "user", resourceKey: id, before: before, after: out})
	})
	return out, err
}

// SetPassword sets a user's password and ends the user's other sessions. A user changing its
// own password must give the current one, even an admin: a session left open must not be
// enough to take the account over. Admins set anyone else's without it.
func (s *Service) SetPassword(ctx context.Context, id, current, password string) error {
	var p snapshot.Problems
	checkPassword(&p, "password", password)
	if err := invalid(&p); err != nil {
		return err
	}
	principal, _ := auth.PrincipalFrom(ctx)
	var keep string // the session to keep: the one the user changes its password through
	if isUser(ctx, id) {
		if err := s.checkCurrentPassword(ctx, id, current); err != nil {
			return err
		}
		keep = principal.Session
	} else {
		var err error
		if principal, err = authorize(ctx, domain.RoleAdmin); err != nil {
			return err
		}
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	return s.writeAs(ctx, principal, func(t *txn) error {
		u, err := t.GetUser(t.ctx, id)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		if err := t.UpdateUser(t.ctx, u); err != nil {
			return err
		}
		if err := t.DeleteUserSessions(t.ctx, id, keep); err != nil {
			return err
		}
		return t.record(change{action: "user.password_changed", resourceType: "user", resourceKey: id})
	})
}

func (s *Service) checkCurrentPassword(ctx context.Context, id, current string) error {
	if current == "" {
		return domain.FieldErrorf("current", "required: give your current password to change it")
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(current)) != nil {
		return domain.FieldErrorf("current", "does not match your current password")
	}
	return nil
}

// DeleteUser deletes a dashboard user and ends its sessions. Only admins delete users.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	return s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		before, err := t.GetUser(t.ctx, id)
		if err != nil {
			return err
		}
		if err := t.DeleteUser(t.ctx, id); err != nil {
			return err
		}
		return t.record(change{action: "user.deleted", resourceType: "user", resourceKey: id, before: before})
	})
}
