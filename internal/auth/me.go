package auth

import (
	"context"
	"fmt"

	"github.com/spaceauth/spaceauth/internal/store"
)

// Profile is the user record of GET /{language}/user/me and of
// POST /api/sys/users/validate (SPEC §5.6, §5.8).
type Profile struct {
	User            store.User
	DefaultBusiness *store.Business
	Businesses      []store.Business
	// AccessToken is a fresh one-time token for one §3.3 ?t= sign-in.
	AccessToken Token
}

// Me authenticates with Basic or Bearer credentials and describes the user.
// Email and password stand for the user only with the second factor when
// one is enrolled (cred.TOTP), as in §3.1 (SPEC §6 credential matrix).
func (s *Service) Me(ctx context.Context, cred Credentials, c Client) (Profile, error) {
	var u store.User
	var err error
	if cred.Bearer == "" && cred.present() {
		u, err = s.passwordCheck(ctx, PasswordSignIn{Email: cred.Email, Password: cred.Password, TOTP: cred.TOTP, Client: c})
	} else {
		u, err = s.Authenticate(ctx, cred, c)
	}
	if err != nil {
		return Profile{}, err
	}
	return s.profile(ctx, u)
}

// ValidateCredentials is POST /api/sys/users/validate (SPEC §5.8): the
// check of §3.1 - throttling, the second factor, must-reset - answered with
// the user record instead of an access token.
func (s *Service) ValidateCredentials(ctx context.Context, in PasswordSignIn) (Profile, error) {
	u, err := s.passwordCheck(ctx, in)
	if err != nil {
		return Profile{}, err
	}
	p, err := s.profile(ctx, u)
	if err != nil {
		return Profile{}, err
	}
	if err := s.auditSignIn(ctx, nil, u, u.DefaultBusinessID, 0, "validate", p.AccessToken.Claims.ID, in.Client); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// passwordCheck is every check SignInWithPassword makes before it issues
// a token: the password (throttled), the second factor when enrolled, and
// the must-reset flag.
func (s *Service) passwordCheck(ctx context.Context, in PasswordSignIn) (store.User, error) {
	a, u, err := s.passwordChecked(ctx, in)
	if err != nil {
		return store.User{}, err
	}
	a.succeed(ctx)
	return u, nil
}

// passwordChecked is passwordCheck that returns the attempt open when
// every check passed, for the caller to close (succeed, or its release in
// the commit of what the sign-in writes). On an error it is closed.
func (s *Service) passwordChecked(ctx context.Context, in PasswordSignIn) (*attempt, store.User, error) {
	if in.Email == "" || in.Password == "" {
		return nil, store.User{}, ErrBadCredentials
	}
	a, u, err := s.passwordAttempt(ctx, in.Email, in.Password, in.Client)
	if err != nil {
		return nil, store.User{}, err
	}
	// A wrong code is a failed sign-in here too (SPEC §6 second factors).
	if err := s.checkSecondFactor(ctx, a, u, in.TOTP, u.DefaultBusinessID); err != nil {
		return nil, store.User{}, err
	}
	if err := s.mustReset(ctx, u, nil); err != nil {
		// The password and the second factor were right: the sign-in
		// succeeded as far as the throttle goes.
		a.succeed(ctx)
		return nil, store.User{}, err
	}
	return a, u, nil
}

// profile gathers u's businesses and a fresh one-time token.
func (s *Service) profile(ctx context.Context, u store.User) (Profile, error) {
	p := Profile{User: u}
	view := s.cache.view(ctx)
	for _, id := range u.BusinessIDs {
		b, err := view.businessByID(ctx, id)
		if err != nil {
			return Profile{}, fmt.Errorf("me: %w", err)
		}
		p.Businesses = append(p.Businesses, b)
	}
	for i := range p.Businesses {
		if p.Businesses[i].ID == u.DefaultBusinessID {
			p.DefaultBusiness = &p.Businesses[i]
		}
	}
	tok, err := s.OneTimeToken(ctx, u)
	if err != nil {
		return Profile{}, err
	}
	p.AccessToken = tok
	return p, nil
}
