package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// newUser returns a user who has never signed in. The password hash is arbitrary bytes, as
// stores must keep any.
func newUser(id, email string) domain.User {
	return domain.User{ID: id, Email: email, Name: "User " + id, Role: domain.RoleEditor,
		PasswordHash: append([]byte("$2a$10$"), hash(id)...), CreatedAt: t0, CreatedBy: "admin"}
}

func newSession(id, kind, subject string) domain.Session {
	return domain.Session{ID: id, Hash: hash("session " + id), Kind: kind, SubjectID: subject,
		CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}
}

func testUsers(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	ada, bob := newUser("u-1", "Ada@Example.com"), newUser("u-2", "bob@example.com")
	update(t, s, func(tx domain.Tx) error {
		for _, u := range []domain.User{bob, ada} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.GetUser(ctx, "u-1")
	check(t, err)
	equal(t, "GetUser", got, ada)
	if !got.LastLoginAt.IsZero() {
		t.Errorf("a user who never signed in has LastLoginAt %v", got.LastLoginAt)
	}
	for _, email := range []string{"Ada@Example.com", "ada@example.com", "ADA@EXAMPLE.COM"} {
		got, err := s.GetUserByEmail(ctx, email)
		check(t, err)
		equal(t, "GetUserByEmail("+email+")", got, ada)
	}
	_, err = s.GetUserByEmail(ctx, "eve@example.com")
	wantCode(t, "GetUserByEmail unknown", err, domain.CodeNotFound)
	_, err = s.GetUser(ctx, "nope")
	wantCode(t, "GetUser unknown", err, domain.CodeNotFound)
	list, err := s.ListUsers(ctx)
	check(t, err)
	equal(t, "ListUsers, by e-mail ignoring case", list, []domain.User{ada, bob})

	wantCode(t, "CreateUser with a taken e-mail in other case",
		try(t, s, func(tx domain.Tx) error { return tx.CreateUser(ctx, newUser("u-3", "BOB@example.com")) }), domain.CodeConflict)
	wantCode(t, "CreateUser with a taken id",
		try(t, s, func(tx domain.Tx) error { return tx.CreateUser(ctx, newUser("u-1", "carol@example.com")) }), domain.CodeConflict)

	// Every field but the creation changes; the zero LastLoginAt comes back as a time.
	changed := ada
	changed.Email, changed.Name, changed.Role = "ada@lovelace.org", "Ada L.", domain.RoleAdmin
	changed.PasswordHash, changed.LastLoginAt = []byte("$2a$10$other"), t0.Add(time.Hour)
	changed.CreatedAt, changed.CreatedBy = t0.Add(time.Hour), "someone else"
	update(t, s, func(tx domain.Tx) error { return tx.UpdateUser(ctx, changed) })
	got, err = s.GetUserByEmail(ctx, "ADA@lovelace.org")
	check(t, err)
	changed.CreatedAt, changed.CreatedBy = ada.CreatedAt, ada.CreatedBy
	equal(t, "GetUserByEmail after UpdateUser", got, changed)
	_, err = s.GetUserByEmail(ctx, "ada@example.com")
	wantCode(t, "GetUserByEmail of the old address", err, domain.CodeNotFound)

	taken := changed
	taken.Email = "Bob@Example.com"
	err = try(t, s, func(tx domain.Tx) error {
		err := tx.UpdateUser(ctx, taken)
		wantCode(t, "UpdateUser to another user's e-mail", err, domain.CodeConflict)
		// The transaction goes on after the conflict.
		changed.Name = "Ada"
		return tx.UpdateUser(ctx, changed)
	})
	check(t, err)
	got, err = s.GetUser(ctx, "u-1")
	check(t, err)
	equal(t, "GetUser after a conflict and an update", got, changed)
	wantCode(t, "UpdateUser missing",
		try(t, s, func(tx domain.Tx) error { return tx.UpdateUser(ctx, newUser("nope", "x@example.com")) }), domain.CodeNotFound)

	update(t, s, func(tx domain.Tx) error { return tx.DeleteUser(ctx, "u-1") })
	_, err = s.GetUser(ctx, "u-1")
	wantCode(t, "GetUser deleted", err, domain.CodeNotFound)
	wantCode(t, "DeleteUser missing", try(t, s, func(tx domain.Tx) error { return tx.DeleteUser(ctx, "u-1") }), domain.CodeNotFound)
	// The address is free again.
	update(t, s, func(tx domain.Tx) error { return tx.CreateUser(ctx, newUser("u-4", "ada@lovelace.org")) })
}

func testSessions(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	sessions := []domain.Session{
		newSession("s-1", domain.SessionUser, "u-1"), newSession("s-2", domain.SessionUser, "u-1"),
		newSession("s-3", domain.SessionUser, "u-1"), newSession("s-4", domain.SessionUser, "u-2"),
		newSession("s-5", domain.SessionToken, "tok-1"), newSession("s-6", domain.SessionToken, "u-1"),
	}
	update(t, s, func(tx domain.Tx) error {
		for _, u := range []domain.User{newUser("u-1", "ada@example.com"), newUser("u-2", "bob@example.com")} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		if err := tx.CreateToken(ctx, newToken("tok-1")); err != nil {
			return err
		}
		for _, se := range sessions {
			if err := tx.CreateSession(ctx, se); err != nil {
				return err
			}
		}
		return nil
	})
	live := func(what string, want ...string) {
		t.Helper()
		var got []string
		for _, se := range sessions {
			if _, err := s.GetSessionByHash(ctx, se.Hash); err == nil {
				got = append(got, se.ID)
			} else {
				wantCode(t, what+": GetSessionByHash of "+se.ID, err, domain.CodeNotFound)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: sessions %v, want %v", what, got, want)
		}
	}
	got, err := s.GetSessionByHash(ctx, sessions[4].Hash)
	check(t, err)
	equal(t, "GetSessionByHash", got, sessions[4])
	live("created", "s-1", "s-2", "s-3", "s-4", "s-5", "s-6")

	sameHash := newSession("s-9", domain.SessionUser, "u-1")
	sameHash.Hash = sessions[0].Hash
	wantCode(t, "CreateSession with a taken hash", try(t, s, func(tx domain.Tx) error { return tx.CreateSession(ctx, sameHash) }), domain.CodeConflict)
	wantCode(t, "CreateSession with a taken id",
		try(t, s, func(tx domain.Tx) error { return tx.CreateSession(ctx, newSession("s-1", domain.SessionUser, "u-2")) }), domain.CodeConflict)

	seen, expires := t0.Add(time.Hour), t0.Add(13*time.Hour)
	update(t, s, func(tx domain.Tx) error { return tx.TouchSession(ctx, "s-2", seen, expires) })
	got, err = s.GetSessionByHash(ctx, sessions[1].Hash)
	check(t, err)
	want := sessions[1]
	want.LastSeenAt, want.ExpiresAt = seen, expires
	equal(t, "GetSessionByHash after TouchSession", got, want)
	wantCode(t, "TouchSession missing", try(t, s, func(tx domain.Tx) error { return tx.TouchSession(ctx, "nope", seen, expires) }), domain.CodeNotFound)

	// Sessions ending at or before now go; s-2 was extended past it.
	var n int64
	update(t, s, func(tx domain.Tx) error {
		n, err = tx.DeleteExpiredSessions(ctx, t0.Add(12*time.Hour))
		return err
	})
	equal(t, "sessions expired", n, int64(5))
	live("after DeleteExpiredSessions", "s-2")

	// A user's sessions end, but the one kept and those of other subjects; a token's end with it.
	update(t, s, func(tx domain.Tx) error {
		for _, se := range sessions {
			if se.ID != "s-2" {
				if err := tx.CreateSession(ctx, se); err != nil {
					return err
				}
			}
		}
		return tx.DeleteUserSessions(ctx, "u-1", "s-2")
	})
	live("after DeleteUserSessions keeping s-2", "s-2", "s-4", "s-5", "s-6")
	update(t, s, func(tx domain.Tx) error { return tx.DeleteToken(ctx, "tok-1") })
	live("after DeleteToken", "s-2", "s-4", "s-6")
	update(t, s, func(tx domain.Tx) error { return tx.DeleteUser(ctx, "u-1") })
	live("after DeleteUser", "s-4", "s-6")
	update(t, s, func(tx domain.Tx) error { return tx.DeleteSession(ctx, "s-4") })
	live("after DeleteSession", "s-6")
	wantCode(t, "DeleteSession missing", try(t, s, func(tx domain.Tx) error { return tx.DeleteSession(ctx, "s-4") }), domain.CodeNotFound)
}
