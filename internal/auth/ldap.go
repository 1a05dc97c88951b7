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
func (s *Service) portalPassword(ctx context.Context, b store.Business, email, password string, c Client) (*attempt, store.User, string, error) {
	list, err := s.federation.ListProviders(ctx, b.ID)
	if err != nil {
		return nil, store.User{}, "", fmt.Errorf("sign in: %w", err)
	}
	var dirs []store.Provider
	for _, p := range list {
		if p.Kind == store.ProviderLDAP {
			dirs = append(dirs, p)
		}
	}
	if len(dirs) > 0 {
		a, u, ok, err := s.directoryPassword(ctx, b, dirs, email, password, c)
		if err != nil || ok {
			return a, u, "ldap", err
		}
	}
	a, u, err := s.passwordAttempt(ctx, email, password, c)
	return a, u, "password", err
}

// directoryPassword tries the business's directories under one attempt
// slot, taken before any bind (SPEC §6). ok is false, with the slot given
// back, when no directory knows the password: spaceauth's own password is
// tried next, under its own attempt.
func (s *Service) directoryPassword(ctx context.Context, b store.Business, dirs []store.Provider, email, password string, c Client) (*attempt, store.User, bool, error) {
	a, err := s.beginAttempt(ctx, email, c)
	if err != nil {
		return nil, store.User{}, false, err
	}
	for _, p := range dirs {
		secret, err := s.providerSecret(p)
		if err != nil {
			a.refund(ctx)
			return nil, store.User{}, false, err
		}
		cfg := federation.LDAPConfig{URL: p.LDAPURL, StartTLS: p.StartTLS, BindDNTemplate: p.BindDNTemplate,
			SearchBase: p.SearchBase, SearchFilter: p.SearchFilter, BindDN: p.BindDN, BindPassword: secret, TLS: s.opts.LDAPTLS}
		id, err := cfg.Authenticate(ctx, email, password)
		if errors.Is(err, federation.ErrInvalidCredentials) {
			continue
		}
		if err != nil {
			a.refund(ctx)
			// An unreachable directory is a fault (503), never "wrong password".
			return nil, store.User{}, false, fmt.Errorf("sign in: %w: %w", ErrProviderUnavailable, err)
		}
		u, reason, err := s.federatedUser(ctx, b, p, id, c)
		if err != nil {
			a.refund(ctx)
			return nil, store.User{}, false, err
		}
		if reason != "" {
			return nil, store.User{}, false, a.fail(ctx, store.AuditEvent{Type: "sso.refused", UserID: u.ID, BusinessID: b.ID,
				Detail: refusalDetail(p.ID, reason)}, ErrBadCredentials)
		}
		return a, u, true, nil
	}
	a.refund(ctx)
	return nil, store.User{}, false, nil
}

// passwordRefused reports whether a business of u forbids spaceauth
// passwords for people like u (SPEC §8: no member passwords, no admin
// passwords), from r, the rules read with u. Its administrators are the
// global administrators and the User-Edit holders with a profile there;
// the rule of a business applies to those with a profile at it, so an
// operator without one keeps a way in.
func passwordRefused(u store.User, r store.PasswordRules) bool {
	if u.IsAdmin || u.HasRole(RoleUserEdit) {
		return r.NoAdminPasswords
	}
	return r.NoMemberPasswords
}
