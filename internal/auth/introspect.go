package auth

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/token"
)

// Introspection is RFC 7662's answer; Active false says nothing else.
type Introspection struct {
	Active    bool
	TokenType string // "access_token" or "refresh_token"
	Claims    token.Claims
	ClientID  string
}

// apiCaller authenticates a resource server: an admin, or a User-Edit
// holder (who sees only users sharing one of its businesses).
func (s *Service) apiCaller(ctx context.Context, cred Credentials, c Client) (store.User, error) {
	caller, err := s.Authenticate(ctx, cred, c)
	if err != nil {
		return store.User{}, err
	}
	if !caller.IsAdmin && !caller.HasRole(RoleUserEdit) {
		return store.User{}, ErrForbidden
	}
	return caller, nil
}

// mayAct reports whether caller may see or touch userID's tokens; only a
// storage failure is an error (an unknown user is simply not the caller's).
func (s *Service) mayAct(ctx context.Context, caller store.User, userID int64) (bool, error) {
	if caller.IsAdmin {
		return true, nil
	}
	u, err := s.users.UserByID(ctx, userID)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("user %d: %w", userID, err)
	}
	return sharesBusiness(caller, u), nil
}

func looksLikeJWT(raw string) bool { return strings.Count(raw, ".") == 2 }

// Introspect describes raw (an access or refresh token) to an API user.
func (s *Service) Introspect(ctx context.Context, cred Credentials, raw string, c Client) (Introspection, error) {
	caller, err := s.apiCaller(ctx, cred, c)
	if err != nil {
		return Introspection{}, err
	}
	if looksLikeJWT(raw) {
		u, claims, err := s.VerifyBearer(ctx, raw)
		if isUnavailable(err) {
			return Introspection{}, fmt.Errorf("introspect: %w", err)
		}
		if err != nil {
			return Introspection{}, nil
		}
		if ok, err := s.mayAct(ctx, caller, u.ID); err != nil || !ok {
			return Introspection{}, wrapIf("introspect", err)
		}
		return Introspection{Active: true, TokenType: "access_token", Claims: claims}, nil
	}
	t, _, standing, err := s.findRefresh(ctx, raw, s.now())
	if err != nil {
		return Introspection{}, fmt.Errorf("introspect: %w", err)
	}
	if standing != refreshCurrent {
		return Introspection{}, nil
	}
	if ok, err := s.mayAct(ctx, caller, t.UserID); err != nil || !ok {
		return Introspection{}, wrapIf("introspect", err)
	}
	u, err := s.users.UserByID(ctx, t.UserID)
	if err != nil && !isNotFound(err) {
		return Introspection{}, fmt.Errorf("introspect: %w", err)
	}
	if err != nil || !u.Active || u.MustReset || t.TokenVersion != u.TokenVersion {
		return Introspection{}, nil
	}
	return Introspection{Active: true, TokenType: "refresh_token", ClientID: t.ClientID,
		Claims: token.Claims{Subject: strconv.FormatInt(u.ID, 10), Email: u.Email, Name: u.FullName, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt}}, nil
}

// Revoke revokes raw for an API user (RFC 7009): an access token by its
// jti, a refresh token with its whole family. Tokens that are not ours, or
// not the caller's to touch, are silently left alone.
func (s *Service) Revoke(ctx context.Context, cred Credentials, raw string, c Client) error {
	caller, err := s.apiCaller(ctx, cred, c)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if looksLikeJWT(raw) {
		claims, err := s.tokens.Verify(ctx, raw)
		if err != nil {
			return nil // not ours: nothing to revoke
		}
		if ok, err := s.mayAct(ctx, caller, claims.UserID()); err != nil || !ok {
			return wrapIf("revoke", err)
		}
		if err := s.revocable.RevokeToken(ctx, claims.ID, claims.ExpiresAt); err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		return s.audit(ctx, nil, store.AuditEvent{Type: "token.revoked", UserID: claims.UserID(), ActorID: caller.ID, Detail: `{"jti":"` + claims.ID + `"}`}, c)
	}
	t, _, standing, err := s.findRefresh(ctx, raw, now)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	if standing == refreshUnknown {
		return nil // not ours, or dead already: nothing to revoke
	}
	if ok, err := s.mayAct(ctx, caller, t.UserID); err != nil || !ok {
		return wrapIf("revoke", err)
	}
	if err := s.revocable.RevokeRefreshFamily(ctx, t.ID, now); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	return s.audit(ctx, nil, store.AuditEvent{Type: "token.revoked", UserID: t.UserID, ActorID: caller.ID, Detail: `{"kind":"refresh_token"}`}, c)
}

// wrapIf wraps err with op, and is nil for a nil err.
func wrapIf(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}
