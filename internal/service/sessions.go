package service

import (
	"bytes"
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
)

// Dashboard session lifetimes. A session ends after SessionIdle without use, and in any case
// SessionLifetime after it started.
const (
	SessionIdle     = 12 * time.Hour
	SessionLifetime = 7 * 24 * time.Hour
	// sessionTouch is how stale LastSeenAt may get before a use records it: a write per
	// request would cost more than an idle timeout that is up to a minute early.
	sessionTouch = time.Minute
)

// dummyHash is a bcrypt hash, at the cost real ones have, of a random password nobody knows.
// A login with an unknown e-mail address is compared against it, so that it takes as long as
// one with a wrong password and does not tell which addresses have accounts.
var dummyHash = []byte("$2a$10$7.ySnezBHjtwkOR3X0Rj8Ot/vKelzYqfCimkUoRks7AN/GUs0b7EO")

var (
	errBadLogin  = domain.Errorf(domain.CodeUnauthorized, "wrong e-mail address or password")
	errNoSession = domain.Errorf(domain.CodeUnauthorized, "not signed in, or the session has ended: sign in again")
)

// Login checks a user's e-mail address and password and starts a dashboard session. It needs
// no principal. A wrong address and a wrong password get the same error, after the same work.
// It returns the session and its secret, which is not stored and cannot be shown again.
func (s *Service) Login(ctx context.Context, email, password string) (domain.Session, string, error) {
	u, err := s.store.GetUserByEmail(ctx, email)
	known := err == nil
	if !known && domain.ErrorCode(err) != domain.CodeNotFound {
		return domain.Session{}, "", err
	}
	hash := dummyHash
	if known {
		hash = u.PasswordHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !known {
		s.log.InfoContext(ctx, "login refused")
		return domain.Session{}, "", errBadLogin
	}
	sess, secret, err := s.startSession(ctx, domain.SessionUser, u.ID, func(tx domain.Tx, now time.Time) error {
		cur, err := tx.GetUser(ctx, u.ID)
		if domain.ErrorCode(err) == domain.CodeNotFound || err == nil && !bytes.Equal(cur.PasswordHash, u.PasswordHash) {
			return errBadLogin // deleted, or its password changed, since it was checked
		}
		if err != nil {
			return err
		}
		cur.LastLoginAt = now
		return tx.UpdateUser(ctx, cur)
	})
	if err == nil {
		s.log.InfoContext(ctx, "login", "user_id", u.ID, "session_id", sess.ID)
	}
	return sess, secret, err
}

// LoginWithToken starts a dashboard session that acts as an admin API token, with its role:
// how the first admin signs in, before there are users. SDK keys are refused.
func (s *Service) LoginWithToken(ctx context.Context, token string) (domain.Session, string, error) {
	if !strings.HasPrefix(token, auth.PrefixAdminToken) {
		return domain.Session{}, "", domain.Errorf(domain.CodeUnauthorized, "expected an admin API token (%s…)", auth.PrefixAdminToken)
	}
	p, err := (&auth.Authenticator{Store: s.store}).Authenticate(ctx, token)
	if err != nil {
		return domain.Session{}, "", err
	}
	sess, secret, err := s.startSession(ctx, domain.SessionToken, p.ID, nil)
	if err == nil {
		s.log.InfoContext(ctx, "login", "token_id", p.ID, "session_id", sess.ID)
	}
	return sess, secret, err
}

// startSession creates a session of kind for subject, after running also (when not nil) in
// the same transaction, and purges the sessions that have expired.
func (s *Service) startSession(ctx context.Context, kind, subject string, also func(tx domain.Tx, now time.Time) error) (domain.Session, string, error) {
	secret := auth.NewSecret(auth.PrefixSession)
	now := s.now().UTC().Truncate(time.Microsecond)
	sess := domain.Session{ID: newID(), Hash: auth.Hash(secret), Kind: kind, SubjectID: subject,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(SessionIdle)}
	err := s.store.Update(ctx, func(tx domain.Tx) error {
		if also != nil {
			if err := also(tx, now); err != nil {
				return err
			}
		}
		purged, err := tx.DeleteExpiredSessions(ctx, now)
		if err != nil {
			return err
		}
		if purged > 0 {
			s.log.DebugContext(ctx, "expired sessions purged", "count", purged)
		}
		return tx.CreateSession(ctx, sess)
	})
	if err != nil {
		return domain.Session{}, "", err
	}
	return sess, secret, nil
}

// Session returns the principal a dashboard session acts as, with the session, extending it
// when it is used. A session that is unknown, has expired, or whose user or token is gone gets
// a CodeUnauthorized error. The principal's Session is the session's ID.
func (s *Service) Session(ctx context.Context, secret string) (auth.Principal, domain.Session, error) {
	if !strings.HasPrefix(secret, auth.PrefixSession) {
		return auth.Principal{}, domain.Session{}, errNoSession
	}
	hash := auth.Hash(secret)
	sess, err := s.store.GetSessionByHash(ctx, hash)
	if err != nil {
		return auth.Principal{}, domain.Session{}, unauthorizedIfMissing(err)
	}
	// As auth.Authenticate does: the check must not depend on how the store looks hashes up.
	now := s.now().UTC().Truncate(time.Microsecond)
	if subtle.ConstantTimeCompare(sess.Hash, hash) != 1 || !now.Before(sess.ExpiresAt) {
		return auth.Principal{}, domain.Session{}, errNoSession
	}
	p, err := s.sessionPrincipal(ctx, sess)
	if err != nil {
		return auth.Principal{}, domain.Session{}, unauthorizedIfMissing(err)
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouch {
		sess.LastSeenAt, sess.ExpiresAt = now, now.Add(SessionIdle)
		if end := sess.CreatedAt.Add(SessionLifetime); end.Before(sess.ExpiresAt) {
			sess.ExpiresAt = end
		}
		err := s.store.Update(ctx, func(tx domain.Tx) error {
			return tx.TouchSession(ctx, sess.ID, sess.LastSeenAt, sess.ExpiresAt)
		})
		if err != nil {
			return auth.Principal{}, domain.Session{}, unauthorizedIfMissing(err) // ended meanwhile
		}
	}
	p.Session = sess.ID
	return p, sess, nil
}

func (s *Service) sessionPrincipal(ctx context.Context, sess domain.Session) (auth.Principal, error) {
	switch sess.Kind {
	case domain.SessionUser:
		u, err := s.store.GetUser(ctx, sess.SubjectID)
		return auth.UserPrincipal(u), err
	case domain.SessionToken:
		t, err := s.store.GetToken(ctx, sess.SubjectID)
		return auth.TokenPrincipal(t), err
	}
	return auth.Principal{}, errNoSession
}

// unauthorizedIfMissing turns a lookup that found nothing into errNoSession.
func unauthorizedIfMissing(err error) error {
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return errNoSession
	}
	return err
}

// Logout ends the session of secret. Ending a session that has ended already is no error.
func (s *Service) Logout(ctx context.Context, secret string) error {
	if !strings.HasPrefix(secret, auth.PrefixSession) {
		return nil
	}
	sess, err := s.store.GetSessionByHash(ctx, auth.Hash(secret))
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx domain.Tx) error { return tx.DeleteSession(ctx, sess.ID) })
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return nil
	}
	return err
}
