package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/spaceauth/spaceauth/internal/federation"
	"github.com/spaceauth/spaceauth/internal/store"
)

// portalPassword checks the portal form's password: first by a bind at
// each of b's LDAP directories, then (when no directory knows the person)
// as a spaceauth password, which the business's options may refuse. It
// returns the session method ("ldap" or "password").
func (s *Service) portalPassword(ctx context.Context, b store.Business, email, password string, c Client) (store.User, string, error) {
	list, err := s.store.ListProviders(ctx, b.ID)
	if err != nil {
		return store.User{}, "", fmt.Errorf("sign in: %w", err)
	}
	var dirs []store.Provider
	for _, p := range list {
		if p.Kind == store.ProviderLDAP {
			dirs = append(dirs, p)
		}
	}
	if len(dirs) == 0 {
		u, err := s.checkPassword(ctx, email, password, c)
		return u, "password", err
	}
	if err := s.checkSignInThrottle(ctx, email, c); err != nil {
		return store.User{}, "", err
	}
	for _, p := range dirs {
		secret, err := s.providerSecret(p)
		if err != nil {
			return store.User{}, "", err
		}
		cfg := federation.LDAPConfig{URL: p.LDAPURL, StartTLS: p.StartTLS, BindDNTemplate: p.BindDNTemplate,
			SearchBase: p.SearchBase, SearchFilter: p.SearchFilter, BindDN: p.BindDN, BindPassword: secret, TLS: s.opts.LDAPTLS}
		id, err := cfg.Authenticate(ctx, email, password)
		if errors.Is(err, federation.ErrInvalidCredentials) {
			continue
		}
		if err != nil {
			// An unreachable directory is a fault (503), never "wrong password".
			return store.User{}, "", fmt.Errorf("sign in: %w: %w", ErrProviderUnavailable, err)
		}
		u, reason, err := s.federatedUser(ctx, b, p, id, c)
		if err != nil {
			return store.User{}, "", err
		}
		if reason != "" {
			s.recordSignInFailure(ctx, email, c)
			s.audit(ctx, nil, store.AuditEvent{Type: "sso.refused", UserID: u.ID, BusinessID: b.ID,
				Detail: refusalDetail(p.ID, reason)}, c)
			return store.User{}, "", ErrBadCredentials
		}
		s.clearSignInFailures(ctx, email)
		return u, "ldap", nil
	}
	u, err := s.checkPassword(ctx, email, password, c)
	return u, "password", err
}

// passwordRefused reports whether a business of u forbids spaceauth
// passwords for people like u (SPEC §8: no member passwords, no admin
// passwords). Its administrators are the global administrators and the
// User-Edit holders with a profile there; the rule of a business applies to
// those with a profile at it, so an operator without one keeps a way in.
func (s *Service) passwordRefused(ctx context.Context, u store.User) (bool, error) {
	admin := u.IsAdmin || u.HasRole(RoleUserEdit)
	for _, bid := range u.BusinessIDs {
		list, err := s.store.ListProviders(ctx, bid)
		if err != nil {
			return false, fmt.Errorf("password options: %w", err)
		}
		for _, p := range list {
			if admin && p.NoAdminPasswords || !admin && p.NoMemberPasswords {
				return true, nil
			}
		}
	}
	return false, nil
}
