package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spaceauth/spaceauth/internal/store"
)

// BusinessByHostOrSlug finds the business a client names by its tenant
// host, its custom domain or its bare slug (SPEC §5.8 getByHost). A full
// URL is read for its host. ErrNotFound when nothing matches.
func (s *Service) BusinessByHostOrSlug(ctx context.Context, name string) (store.Business, error) {
	name = strings.TrimSpace(name)
	if strings.Contains(name, "://") {
		u, err := url.Parse(name)
		if err != nil {
			return store.Business{}, ErrNotFound
		}
		name = u.Host
	}
	name = strings.ToLower(strings.TrimSuffix(stripPort(name), "."))
	if name == "" {
		return store.Business{}, ErrNotFound
	}
	if !strings.Contains(name, ".") {
		b, err := s.cache.view(ctx).businessBySlug(ctx, name)
		if err != nil {
			return store.Business{}, lookupErr(err, "business by slug")
		}
		return b, nil
	}
	return s.BusinessForHost(ctx, name)
}

// UserExists answers GET /{language}/user/exists (SPEC §5.8) for business
// b: whether email belongs to an active user who may sign in there, the
// same test a reset request applies. The question is counted like a reset
// request (per email and per address), since it is the same oracle. A
// business that hides unknown emails does not answer at all (ErrNotFound).
func (s *Service) UserExists(ctx context.Context, b store.Business, email string, c Client) (bool, error) {
	if b.HideUnknownEmails {
		return false, ErrNotFound
	}
	p := s.throttle
	if err := s.countRequest(ctx, "exists", email, c, p.ResetPerMail, p.ResetPerAddr, p.ResetWindow); err != nil {
		return false, err
	}
	_, _, err := s.resetTarget(ctx, ResetRequest{Business: &b, Email: email})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("user exists: %w", err)
}
