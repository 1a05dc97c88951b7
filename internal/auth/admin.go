package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

var (
	slugPattern   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	domainPattern = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// NewBusiness is the input of CreateBusiness.
type NewBusiness struct {
	Slug, Name, Language, Domain string
	HideUnknownEmails            bool
}

// businessProblems adds to fe what is wrong with a business's name, language
// and (optional) domain: the checks creation and the console's settings share.
func businessProblems(fe FieldErrors, name, language, domain string, supported func(string) bool) {
	if msg := nameProblem(name); msg != "" {
		fe.Add("name", msg)
	}
	if !supported(language) {
		fe.Add("language", "unsupported language "+language)
	}
	if domain != "" && (!domainPattern.MatchString(domain) || len(domain) > 253) {
		fe.Add("domain", "not a host name: "+domain)
	}
}

// CreateBusiness validates and stores a business.
func (s *Service) CreateBusiness(ctx context.Context, nb NewBusiness, supported func(string) bool) (store.Business, error) {
	fe := FieldErrors{}
	nb.Slug = strings.ToLower(strings.TrimSpace(nb.Slug))
	nb.Domain = strings.ToLower(strings.TrimSpace(nb.Domain))
	nb.Name = strings.TrimSpace(nb.Name)
	if nb.Language == "" {
		nb.Language = "en"
	}
	if !slugPattern.MatchString(nb.Slug) {
		fe.Add("slug", "a slug is 1-63 lowercase letters, digits and inner hyphens")
	}
	businessProblems(fe, nb.Name, nb.Language, nb.Domain, supported)
	if len(fe) > 0 {
		return store.Business{}, fe
	}
	b := store.Business{Slug: nb.Slug, Name: nb.Name, Language: nb.Language, Domain: nb.Domain,
		HideUnknownEmails: nb.HideUnknownEmails, CreatedAt: s.now().UTC()}
	if err := s.businesses.CreateBusiness(ctx, &b); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Business{}, ErrSlugTaken
		}
		return store.Business{}, fmt.Errorf("create business: %w", err)
	}
	return b, nil
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Email, Name, Password string
	Language              string
	BusinessSlugs         []string
	Admin                 bool
	Roles                 []string
}

// CreateUser validates, hashes and stores a user with its profiles.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (store.User, error) {
	nu.Email = strings.TrimSpace(nu.Email)
	nu.Name = strings.TrimSpace(nu.Name)
	fe := FieldErrors{}
	if !ValidEmail(nu.Email) {
		fe.Add("email", "invalid_email")
	}
	if msg := nameProblem(nu.Name); msg != "" {
		fe.Add("name", msg)
	}
	for _, r := range nu.Roles {
		if strings.TrimSpace(r) == "" || strings.ContainsAny(r, ",\n") || nameProblem(r) != "" {
			fe.Add("role", "invalid role "+fmt.Sprintf("%q", r))
		}
	}
	if len(fe) > 0 {
		return store.User{}, fe
	}
	var ids []int64
	for _, slug := range nu.BusinessSlugs {
		b, err := s.businesses.BusinessBySlug(ctx, slug)
		if isNotFound(err) {
			return store.User{}, fmt.Errorf("%w: %s", ErrUnknownBusiness, slug)
		}
		if err != nil {
			return store.User{}, fmt.Errorf("create user: %w", err)
		}
		ids = append(ids, b.ID)
	}
	if _, err := s.users.UserByEmail(ctx, nu.Email); err == nil {
		return store.User{}, ErrEmailTaken
	}
	hash, err := s.newPasswordHash(ctx, nu.Password, nu.Email)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{Email: nu.Email, FullName: nu.Name, PasswordHash: hash, IsAdmin: nu.Admin, Active: true,
		Language: nu.Language, Roles: nu.Roles, BusinessIDs: ids, CreatedAt: s.now().UTC()}
	err = s.tx.InTx(ctx, func(q store.Queries) error { return q.CreateUser(ctx, &u) })
	if errors.Is(err, store.ErrConflict) {
		return store.User{}, ErrEmailTaken
	}
	if err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// SetPassword replaces a user's password from the CLI, revoking every
// session and token issued before.
func (s *Service) SetPassword(ctx context.Context, email, pw string) (store.User, error) {
	u, err := s.users.UserByEmail(ctx, email)
	if err != nil {
		return store.User{}, lookupErr(err, "set password")
	}
	hash, err := s.newPasswordHash(ctx, pw, u.Email)
	if err != nil {
		return store.User{}, err
	}
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		return s.changePassword(ctx, q, u, hash, store.Business{ID: u.DefaultBusinessID}, nil, "password.set", Client{UserAgent: "cli"})
	})
	return u, err
}

// SetActive enables or disables a user. Disabling ends every credential
// the user holds (access tokens, refresh tokens, sessions, reset links,
// pending steps) by moving the token version, so a sign-in still running
// when it commits yields dead credentials; enabling moves it again and so
// brings none of them back (SPEC §6).
func (s *Service) SetActive(ctx context.Context, email string, active bool) (store.User, error) {
	u, err := s.users.UserByEmail(ctx, email)
	if err != nil {
		return store.User{}, lookupErr(err, "set active")
	}
	event := "user.enabled"
	if !active {
		event = "user.disabled"
	}
	now := s.now().UTC()
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if err := q.SetUserActive(ctx, u.ID, active, now); err != nil {
			return err
		}
		if err := endCredentials(ctx, q, u.ID, now); err != nil {
			return err
		}
		if !active {
			if err := q.SpendResetTokens(ctx, u.ID, now); err != nil {
				return err
			}
		}
		return s.audit(ctx, q, store.AuditEvent{Type: event, UserID: u.ID}, Client{UserAgent: "cli"})
	})
	if err != nil {
		return store.User{}, fmt.Errorf("set active: %w", err)
	}
	u.Active = active
	return u, nil
}

// endCredentials kills every credential of the user issued so far: the
// token version moves (access tokens, one-time links, sessions, refresh
// tokens and pending second-factor steps all carry the version they were
// issued at), and sessions and refresh tokens are also marked revoked.
func endCredentials(ctx context.Context, q store.Queries, userID int64, now time.Time) error {
	if err := q.RevokeUserTokens(ctx, userID, now); err != nil {
		return err
	}
	if err := q.RevokeUserSessions(ctx, userID, now); err != nil {
		return err
	}
	return q.RevokeRefreshTokens(ctx, userID, "", now)
}
