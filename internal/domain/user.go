package domain

import (
	"context"
	"time"
)

// User is a person who signs in to the dashboard with an e-mail address and a password. Only a
// bcrypt hash of the password is stored.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  Role   `json:"role"`
	// PasswordHash is the bcrypt hash of the password; never serialised.
	PasswordHash []byte    `json:"-"`
	CreatedAt    time.Time `json:"createdAt"`
	CreatedBy    string    `json:"createdBy,omitempty"`
	// LastLoginAt is when the user last signed in; zero means never.
	LastLoginAt time.Time `json:"lastLoginAt,omitzero"`
}

// Session kinds: who a dashboard session acts for.
const (
	SessionUser  = "user"  // a User signed in with a password
	SessionToken = "token" // an admin API token presented to the dashboard
)

// Session is a signed-in dashboard session. Only the SHA-256 of its secret is stored.
type Session struct {
	ID   string `json:"id"`
	Hash []byte `json:"-"`
	Kind string `json:"kind"` // SessionUser or SessionToken
	// SubjectID is the ID of the user or token the session acts for.
	SubjectID  string    `json:"subjectId"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	// ExpiresAt is when the session ends unless it is used, and so extended, before.
	ExpiresAt time.Time `json:"expiresAt"`
}

// UserStore reads dashboard users and sessions.
type UserStore interface {
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByEmail finds a user by e-mail address, ignoring case.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	// ListUsers returns every user, ordered by e-mail address ignoring case.
	ListUsers(ctx context.Context) ([]User, error)
	GetSessionByHash(ctx context.Context, hash []byte) (Session, error)
}

// UserWriter changes users and sessions, in a transaction.
type UserWriter interface {
	// CreateUser reports a conflict for a taken id, or for an e-mail address taken by another
	// user ignoring case.
	CreateUser(ctx context.Context, u User) error
	// UpdateUser replaces the e-mail address, name, role, password hash and last login time.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser removes a user with its sessions.
	DeleteUser(ctx context.Context, id string) error

	// CreateSession reports a conflict for a taken id or hash.
	CreateSession(ctx context.Context, s Session) error
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions removes every session of a user but the one with id keep ("" keeps
	// none).
	DeleteUserSessions(ctx context.Context, userID, keep string) error
	// DeleteExpiredSessions removes the sessions whose ExpiresAt is at or before now, and
	// returns how many there were.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
	// TouchSession records that a session was used at lastSeen and now ends at expires.
	TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error
}

// DumpedUser is a User with its password hash, which a backup must keep.
type DumpedUser struct {
	User
	PasswordHash []byte `json:"passwordHash"`
}
