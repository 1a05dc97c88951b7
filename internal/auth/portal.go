package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// PortalSession is a signed-in portal session and its user.
type PortalSession struct {
	Session store.Session
	User    store.User
}

// PortalSignIn consumes access token raw at business b and opens a portal
// session, returning the cookie value. The token works once: of concurrent
// attempts exactly one succeeds, whatever process serves it, because the
// spend and the session are one transaction decided by a primary key.
func (s *Service) PortalSignIn(ctx context.Context, b store.Business, raw string, c Client) (string, PortalSession, error) {
	claims, err := s.tokens.Verify(ctx, raw)
	if err != nil {
		return "", PortalSession{}, ErrLinkInvalid
	}
	u, err := s.liveUser(ctx, claims)
	if errors.Is(err, ErrBadCredentials) {
		return "", PortalSession{}, ErrLinkInvalid
	}
	if err != nil {
		return "", PortalSession{}, err
	}
	if !u.IsAdmin && !u.InBusiness(b.ID) {
		return "", PortalSession{}, ErrLinkInvalid
	}
	// The session carries the token's version and dies with it; an
	// impersonation token's actor is audited with the session.
	u.TokenVersion = claims.Version
	sess, cookie, err := s.openSession(ctx, u, b, c, actorOf(claims), func(q store.Queries) error {
		spent, err := q.SpendToken(ctx, claims.ID, claims.ExpiresAt)
		if err != nil {
			return fmt.Errorf("portal sign-in: %w", err)
		}
		if !spent {
			return ErrLinkInvalid
		}
		return nil
	}, "token")
	if err != nil {
		return "", PortalSession{}, err
	}
	return cookie, PortalSession{Session: sess, User: u}, nil
}

// openSession creates a session for u at b, running before (if any) in the
// same transaction. The session carries u.TokenVersion, the version read
// before the credential check began: a revocation committed since then
// leaves it dead. actorID is the impersonating user (0 when none).
func (s *Service) openSession(ctx context.Context, u store.User, b store.Business, c Client, actorID int64, before func(store.Queries) error, method string) (store.Session, string, error) {
	cookie, hash, err := newSecret()
	if err != nil {
		return store.Session{}, "", err
	}
	now := s.now().UTC()
	sess := store.Session{Hash: hash, UserID: u.ID, BusinessID: b.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.opts.SessionTTL), UserAgent: truncate(c.UserAgent, 512), ClientIP: c.IP, TokenVersion: u.TokenVersion, ActorID: actorID}
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if before != nil {
			if err := before(q); err != nil {
				return err
			}
		}
		if err := q.CreateSession(ctx, &sess); err != nil {
			return fmt.Errorf("open session: %w", err)
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "session.created", UserID: u.ID, BusinessID: b.ID, ActorID: actorID,
			Detail: `{"method":"` + method + `"}`}, c)
	})
	if err != nil {
		return store.Session{}, "", err
	}
	return sess, cookie, nil
}

// Session returns the live session behind cookie at business b.
func (s *Service) Session(ctx context.Context, b store.Business, cookie string) (PortalSession, error) {
	if cookie == "" || len(cookie) > 256 {
		return PortalSession{}, ErrNoSession
	}
	sess, err := s.sessions.SessionByHash(ctx, secretHash(cookie))
	if isNotFound(err) {
		return PortalSession{}, ErrNoSession
	}
	if err != nil {
		return PortalSession{}, fmt.Errorf("session: %w", err)
	}
	now := s.now()
	if sess.BusinessID != b.ID || !now.Before(sess.ExpiresAt) {
		return PortalSession{}, ErrNoSession
	}
	// Disable, password change, sign-out-everywhere and require-reset move
	// the version: sessions opened by sign-ins in flight die too.
	u, ok, err := holder(ctx, s.cache.view(ctx), sess.UserID, sess.TokenVersion)
	if err != nil {
		return PortalSession{}, fmt.Errorf("session: %w", err)
	}
	if !ok {
		return PortalSession{}, ErrNoSession
	}
	// Last use is informational; write it at most once a minute per session.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.sessions.TouchSession(ctx, sess.ID, now); err == nil {
			sess.LastSeenAt = now
		}
	}
	return PortalSession{Session: sess, User: u}, nil
}

// Sessions lists the user's live sessions, most recently used first.
// Sessions of an older token version (opened by a sign-in in flight when
// a revocation committed) are dead and not listed.
func (s *Service) Sessions(ctx context.Context, userID int64) ([]store.Session, error) {
	list, err := s.sessions.UserSessions(ctx, userID, s.now())
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	u, err := s.cache.view(ctx).user(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	live := list[:0]
	for _, sess := range list {
		if sess.TokenVersion == u.TokenVersion {
			live = append(live, sess)
		}
	}
	return live, nil
}

// SignOut ends session ps; everywhere also ends every other session of the
// user and revokes every token issued to them so far.
func (s *Service) SignOut(ctx context.Context, ps PortalSession, everywhere bool, c Client) error {
	now := s.now().UTC()
	err := s.tx.InTx(ctx, func(q store.Queries) error {
		if err := q.RevokeSession(ctx, ps.Session.ID, now); err != nil {
			return err
		}
		detail := `{"scope":"session"}`
		if everywhere {
			if err := q.RevokeUserSessions(ctx, ps.User.ID, now); err != nil {
				return err
			}
			if err := q.RevokeUserTokens(ctx, ps.User.ID, now); err != nil {
				return err
			}
			if err := q.RevokeRefreshTokens(ctx, ps.User.ID, "", now); err != nil {
				return err
			}
			detail = `{"scope":"everywhere"}`
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "session.ended", UserID: ps.User.ID, BusinessID: ps.Session.BusinessID, Detail: detail}, c)
	})
	if err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	return nil
}

// PortalPasswordSignIn signs in with the portal form. A user without a
// profile at b (and not an admin) gets ErrNotMember, an ErrBadCredentials,
// after the right password only: a wrong password reveals no membership.
func (s *Service) PortalPasswordSignIn(ctx context.Context, b store.Business, email, password, totpCode string, c Client) (string, PortalSession, error) {
	a, u, method, err := s.portalPassword(ctx, b, email, password, c)
	if err != nil {
		return "", PortalSession{}, err
	}
	if !u.IsAdmin && !u.InBusiness(b.ID) {
		// Not a guess (the password checked out), but no sign-in either: the
		// account's earlier failures stay.
		a.refund(ctx)
		if err := s.audit(ctx, nil, store.AuditEvent{Type: "signin.failure", UserID: u.ID, BusinessID: b.ID, Detail: `{"reason":"no_profile"}`}, c); err != nil {
			return "", PortalSession{}, err
		}
		// Only a right password gets here: saying "not a member" tells the
		// caller nothing a wrong password could learn (issue #15.5).
		return "", PortalSession{}, ErrNotMember
	}
	if u.TOTPSecret != "" && totpCode == "" {
		a.refund(ctx)
		return "", PortalSession{}, s.beginTwoFactor(ctx, u, b, c)
	}
	if err := s.finishSignIn(ctx, a, u, totpCode, b.ID); err != nil {
		return "", PortalSession{}, err
	}
	if err := s.mustReset(ctx, u, &b); err != nil {
		return "", PortalSession{}, err
	}
	sess, cookie, err := s.openSession(ctx, u, b, c, 0, nil, method)
	if err != nil {
		return "", PortalSession{}, err
	}
	return cookie, PortalSession{Session: sess, User: u}, nil
}
