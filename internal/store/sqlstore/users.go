package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
)

const userCols = `id, email, name, role, password_hash, created_at, created_by, last_login_at`

func scanUser(s scanner) (u domain.User, err error) {
	var lastLogin *time.Time
	err = s.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.CreatedAt, &u.CreatedBy, &lastLogin)
	if lastLogin != nil {
		u.LastLoginAt = *lastLogin
	}
	return u, err
}

// emailKey is how e-mail addresses are compared: lower-cased by Go, because SQLite's lower()
// folds ASCII only.
func emailKey(email string) string { return strings.ToLower(email) }

// lastLogin writes a zero LastLoginAt, never, as NULL.
func lastLogin(u domain.User) any {
	if u.LastLoginAt.IsZero() {
		return nil
	}
	return ts(u.LastLoginAt)
}

func (r reader) GetUser(ctx context.Context, id string) (domain.User, error) {
	return get(ctx, r.q, scanUser, domain.NotFound("user", id),
		`SELECT `+userCols+` FROM users WHERE id = $1`, id)
}

func (r reader) GetUserByEmail(ctx context.Context, email string) (domain.User, error) {
	return get(ctx, r.q, scanUser, domain.NotFound("user", email),
		`SELECT `+userCols+` FROM users WHERE email_key = $1`, emailKey(email))
}

func (r reader) ListUsers(ctx context.Context) ([]domain.User, error) {
	return list(ctx, r.q, scanUser, `SELECT `+userCols+` FROM users ORDER BY email_key`)
}

func (r reader) dumpUsers(ctx context.Context) ([]domain.DumpedUser, error) {
	users, err := r.ListUsers(ctx)
	return dumped(users, err, func(u domain.User) domain.DumpedUser { return domain.DumpedUser{User: u, PasswordHash: u.PasswordHash} })
}

const sessionCols = `id, hash, kind, subject_id, created_at, last_seen_at, expires_at`

func scanSession(s scanner) (se domain.Session, err error) {
	err = s.Scan(&se.ID, &se.Hash, &se.Kind, &se.SubjectID, &se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt)
	return se, err
}

func (r reader) GetSessionByHash(ctx context.Context, hash []byte) (domain.Session, error) {
	return get(ctx, r.q, scanSession, domain.Errorf(domain.CodeNotFound, "session not found"),
		`SELECT `+sessionCols+` FROM sessions WHERE hash = $1`, hash)
}

// CreateUser reports a conflict for a taken id or e-mail address alike.
func (w *writer) CreateUser(ctx context.Context, u domain.User) error {
	return w.insert(ctx, "user", u.Email, "users", userCols+", email_key",
		u.ID, u.Email, u.Name, u.Role, u.PasswordHash, ts(u.CreatedAt), u.CreatedBy, lastLogin(u), emailKey(u.Email))
}

// UpdateUser looks for another user with the new e-mail address first: in PostgreSQL a unique
// violation would abort the whole transaction.
func (w *writer) UpdateUser(ctx context.Context, u domain.User) error {
	taken, err := get(ctx, w.tx, scanBool, nil, `SELECT EXISTS (SELECT 1 FROM users WHERE email_key = $1 AND id <> $2)`,
		emailKey(u.Email), u.ID)
	if err != nil {
		return err
	}
	if taken {
		return domain.Errorf(domain.CodeConflict, "user %q already exists", u.Email)
	}
	n, err := w.tx.Exec(ctx, `UPDATE users SET email = $2, email_key = $3, name = $4, role = $5,
		password_hash = $6, last_login_at = $7 WHERE id = $1`,
		u.ID, u.Email, emailKey(u.Email), u.Name, u.Role, u.PasswordHash, lastLogin(u))
	return changed(n, err, "user", u.ID)
}

func (w *writer) DeleteUser(ctx context.Context, id string) error {
	if err := w.DeleteUserSessions(ctx, id, ""); err != nil {
		return err
	}
	n, err := w.tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	return changed(n, err, "user", id)
}

// CreateSession reports a conflict for a taken id or hash alike.
func (w *writer) CreateSession(ctx context.Context, s domain.Session) error {
	return w.insert(ctx, "session", s.ID, "sessions", sessionCols,
		s.ID, s.Hash, s.Kind, s.SubjectID, ts(s.CreatedAt), ts(s.LastSeenAt), ts(s.ExpiresAt))
}

func (w *writer) DeleteSession(ctx context.Context, id string) error {
	n, err := w.tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return changed(n, err, "session", id)
}

func (w *writer) DeleteUserSessions(ctx context.Context, userID, keep string) error {
	return w.deleteSessionsOf(ctx, domain.SessionUser, userID, keep)
}

// deleteSessionsOf removes the sessions of a subject but the one with id keep.
func (w *writer) deleteSessionsOf(ctx context.Context, kind, subjectID, keep string) error {
	_, err := w.tx.Exec(ctx, `DELETE FROM sessions WHERE kind = $1 AND subject_id = $2 AND id <> $3`,
		kind, subjectID, keep)
	return err
}

func (w *writer) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	return w.tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, ts(now))
}

func (w *writer) TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error {
	n, err := w.tx.Exec(ctx, `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1`,
		id, ts(lastSeen), ts(expires))
	return changed(n, err, "session", id)
}
