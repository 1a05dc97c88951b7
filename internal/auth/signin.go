package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/token"
)

// Token is an issued access token and its claims.
type Token struct {
	Value  string
	Claims token.Claims
}

// PasswordSignIn is the input of SignInWithPassword.
type PasswordSignIn struct {
	Email    string
	Password string
	Validity time.Duration
	TOTP     string
	Client   Client
}

// SignInWithPassword checks email and password and issues an access token.
// Unknown email, wrong password and disabled user all return
// ErrBadCredentials after the same amount of hashing work.
func (s *Service) SignInWithPassword(ctx context.Context, in PasswordSignIn) (Token, error) {
	a, u, err := s.passwordChecked(ctx, in)
	if err != nil {
		return Token{}, err
	}
	tok, err := s.issue(ctx, u, token.KindAccess, 0, in.Validity)
	if err != nil {
		a.succeed(ctx)
		return Token{}, err
	}
	// The token is handed out only once its issuance is on record: the
	// event and the release of the attempt's slots share one commit.
	if err := a.succeedAudited(ctx, signInEvent(u, u.DefaultBusinessID, 0, "password", tok.Claims.ID)); err != nil {
		return Token{}, err
	}
	return tok, nil
}

// checkPassword verifies credentials where a password alone is asked for
// (API callers; a user with two-factor on is then refused by the caller).
// For such a user a right password is no full sign-in: the attempt's slot is
// given back but the account's earlier failures, wrong codes among them,
// stay counted.
func (s *Service) checkPassword(ctx context.Context, email, password string, c Client) (store.User, error) {
	a, u, err := s.passwordAttempt(ctx, email, password, c)
	if err != nil {
		return store.User{}, err
	}
	if u.TOTPSecret != "" {
		a.refund(ctx)
	} else {
		a.succeed(ctx)
	}
	return u, nil
}

// passwordAttempt takes the attempt's failure slots, then verifies the
// password (and upgrades a legacy or weaker hash). A wrong password closes
// the attempt as a failure; a right one returns it open, for the second
// factor to close.
func (s *Service) passwordAttempt(ctx context.Context, email, password string, c Client) (*attempt, store.User, error) {
	if s.pool.full(false) {
		return nil, store.User{}, ErrBusy
	}
	a, err := s.beginAttempt(ctx, email, c)
	if err != nil {
		return nil, store.User{}, err
	}
	// The user and its businesses' password rules in one read.
	u, rules, err := s.users.SignInUserByEmail(ctx, email)
	if err != nil && !isNotFound(err) {
		a.refund(ctx)
		return nil, store.User{}, fmt.Errorf("sign in: %w", err)
	}
	found := err == nil
	floor, err := s.hashFloor(ctx)
	if err != nil {
		a.refund(ctx)
		return nil, store.User{}, fmt.Errorf("sign in: %w", err)
	}
	var ok, rehash bool
	var verr error
	var took time.Duration
	perr := s.pool.do(ctx, a.suspect, func() {
		start := time.Now()
		defer func() { took = time.Since(start) }()
		if !found {
			s.hasher.VerifyDummy(password)
			return
		}
		ok, rehash, verr = s.hasher.Verify(password, u.PasswordHash)
	})
	if perr != nil {
		a.refund(ctx)
		return nil, store.User{}, perr
	}
	if found && verr == nil && s.legacyHash(u.PasswordHash) {
		s.hashCost.observe(s.hasher.CostClass(u.PasswordHash), took)
	}
	if verr != nil {
		s.log.ErrorContext(ctx, "stored password hash unreadable", "user", u.ID, "err", verr)
		ok = false
	}
	if !ok || !u.Active {
		// Every failure takes at least what the costliest stored kind of
		// hash takes, whatever kind this one was.
		padTo(ctx, floor, took)
		return nil, store.User{}, a.fail(ctx, store.AuditEvent{UserID: u.ID, Detail: failureDetail(found, ok, u.Active)}, ErrBadCredentials)
	}
	if passwordRefused(u, rules) {
		// Same answer (and time) as a wrong password; the reason is in the
		// audit log (SPEC §8).
		padTo(ctx, floor, took)
		return nil, store.User{}, a.fail(ctx, store.AuditEvent{UserID: u.ID, Detail: `{"reason":"password_refused_by_business"}`}, ErrBadCredentials)
	}
	if rehash {
		s.upgradeHash(ctx, u, password)
	}
	return a, u, nil
}

func failureDetail(found, ok, active bool) string {
	switch {
	case !found:
		return `{"reason":"unknown_email"}`
	case !ok:
		return `{"reason":"wrong_password"}`
	case !active:
		return `{"reason":"disabled"}`
	}
	return ""
}

// upgradeHash re-hashes a password that verified against a legacy or weaker
// hash. Failure is logged, never fatal: the sign-in already succeeded.
func (s *Service) upgradeHash(ctx context.Context, u store.User, password string) {
	var h string
	var err error
	if perr := s.pool.do(ctx, false, func() { h, err = s.hasher.Hash(password) }); perr != nil {
		return
	}
	if err == nil {
		err = s.users.SetPasswordHash(ctx, u.ID, h, s.now())
	}
	if err != nil {
		s.log.WarnContext(ctx, "password hash upgrade failed", "user", u.ID, "err", err)
	}
}

// issue signs a token of kind (token.KindAccess or token.KindOneTime) for
// u at u.TokenVersion, the version read before u's credential was checked,
// so a revocation that commits meanwhile kills it. actorID, when not 0, is
// the impersonating user: the token carries act, and an access token
// becomes an impersonation token.
func (s *Service) issue(ctx context.Context, u store.User, kind string, actorID int64, validity time.Duration) (Token, error) {
	if validity <= 0 {
		validity = s.opts.DefaultValidity
	}
	c := token.Claims{
		Subject:    strconv.FormatInt(u.ID, 10),
		Email:      u.Email,
		Name:       u.FullName,
		BusinessID: u.DefaultBusinessID,
		Version:    u.TokenVersion,
		Kind:       kind,
	}
	if actorID != 0 {
		c.Actor = &token.Actor{Subject: strconv.FormatInt(actorID, 10)}
		if kind == token.KindAccess {
			c.Kind = token.KindImpersonation
		}
	}
	raw, claims, err := s.tokens.Issue(ctx, c, validity)
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	return Token{Value: raw, Claims: claims}, nil
}

// actorOf is the impersonating user's id of claims, 0 when none.
func actorOf(c token.Claims) int64 {
	if c.Actor == nil {
		return 0
	}
	id, err := strconv.ParseInt(c.Actor.Subject, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// Credentials are a caller's proof of identity, first present wins:
// Basic (Email+Password from the header), Bearer, then body email+password.
type Credentials struct {
	Email    string
	Password string
	Bearer   string
	// TOTP is the second factor that goes with Email and Password where
	// a flow accepts it (SPEC §6 matrix); Authenticate ignores it.
	TOTP string
}

func (c Credentials) present() bool { return c.Bearer != "" || c.Email != "" || c.Password != "" }

// Authenticate resolves credentials to an active user.
func (s *Service) Authenticate(ctx context.Context, cred Credentials, c Client) (store.User, error) {
	u, _, err := s.authenticate(ctx, cred, c)
	return u, err
}

// authenticate is Authenticate that also returns the impersonating user
// behind a bearer impersonation token (0 when none).
func (s *Service) authenticate(ctx context.Context, cred Credentials, c Client) (store.User, int64, error) {
	if !cred.present() {
		return store.User{}, 0, ErrNoCredentials
	}
	if cred.Bearer != "" {
		u, claims, err := s.VerifyBearer(ctx, cred.Bearer)
		if err != nil {
			if errors.Is(err, ErrBadCredentials) {
				return store.User{}, 0, ErrBadCredentials
			}
			return store.User{}, 0, err // storage: never a denial
		}
		return u, actorOf(claims), nil
	}
	u, err := s.passwordCaller(ctx, cred, c)
	return u, 0, err
}

// passwordCaller authenticates an API caller by email and password.
func (s *Service) passwordCaller(ctx context.Context, cred Credentials, c Client) (store.User, error) {
	if cred.Email == "" || cred.Password == "" {
		return store.User{}, ErrBadCredentials
	}
	u, err := s.checkPassword(ctx, cred.Email, cred.Password, c)
	if err != nil {
		return store.User{}, err
	}
	if u.TOTPSecret != "" {
		// A password alone does not stand for a user with two-factor on:
		// such a caller authenticates with a bearer token instead.
		return store.User{}, ErrTwoFactorNeeded
	}
	if u.MustReset {
		// SPEC §6: a user who must reset can only complete a reset.
		return store.User{}, ErrMustReset
	}
	return u, nil
}

// VerifyBearer checks an access token: signature, expiry, kind (a one-time
// token is no bearer, SPEC §6), revocation of the token and of the user's
// tokens, and that the user is still active and need not reset.
func (s *Service) VerifyBearer(ctx context.Context, raw string) (store.User, token.Claims, error) {
	claims, err := s.tokens.Verify(ctx, raw)
	if err != nil || claims.OneTime() {
		return store.User{}, token.Claims{}, ErrBadCredentials
	}
	u, err := s.liveUser(ctx, claims)
	if err != nil {
		return store.User{}, token.Claims{}, err
	}
	return u, claims, nil
}

// holder loads user id through view and says whether what was issued to it
// at token version still holds: the user exists, is active, need not reset,
// and has not moved its version since (disable, password change, sign-out
// everywhere and require-reset all move it). Only storage failures are errors.
func holder(ctx context.Context, view stateView, id, version int64) (store.User, bool, error) {
	u, err := view.user(ctx, id)
	if isNotFound(err) {
		return store.User{}, false, nil
	}
	if err != nil {
		return store.User{}, false, err
	}
	return u, u.Active && !u.MustReset && version == u.TokenVersion, nil
}

// liveUser loads the token's user and applies every revocation rule.
func (s *Service) liveUser(ctx context.Context, c token.Claims) (store.User, error) {
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 {
		return store.User{}, ErrBadCredentials
	}
	view := s.cache.view(ctx)
	u, ok, err := holder(ctx, view, id, c.Version)
	if err != nil {
		return store.User{}, fmt.Errorf("verify token: %w", err)
	}
	if !ok {
		return store.User{}, ErrBadCredentials
	}
	revoked, err := view.revoked(ctx, c.ID)
	if err != nil {
		return store.User{}, fmt.Errorf("verify token: %w", err)
	}
	if revoked {
		return store.User{}, ErrBadCredentials
	}
	return u, nil
}

// Impersonation is the input of Impersonate.
type Impersonation struct {
	Caller   Credentials
	TargetID string // as it arrived in the path
	Validity time.Duration
	Client   Client
}

// Impersonate issues a token for another user to an API user (SPEC §6
// "Impersonation"): an admin may act for anyone; a holder of the User-Edit
// role only for a user of one of its businesses who is no administrator
// and holds no role the caller lacks. Nobody acts for a user who must
// reset their password.
func (s *Service) Impersonate(ctx context.Context, in Impersonation) (Token, error) {
	caller, callerActor, err := s.authenticate(ctx, in.Caller, in.Client)
	if err != nil {
		return Token{}, err
	}
	// A caller that is itself impersonated acts with its own rights, but
	// the person behind it stays the actor of whatever it mints.
	actor := caller.ID
	if callerActor != 0 {
		actor = callerActor
	}
	if !caller.IsAdmin && !caller.HasRole(RoleUserEdit) {
		return Token{}, ErrForbidden
	}
	id, err := strconv.ParseInt(in.TargetID, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != in.TargetID {
		return Token{}, ErrNotFound
	}
	target, err := s.users.UserByID(ctx, id)
	if err != nil {
		return Token{}, lookupErr(err, "impersonate")
	}
	// A User-Edit caller learns nothing about users outside its businesses.
	if !target.Active || !caller.IsAdmin && !sharesBusiness(caller, target) {
		return Token{}, ErrNotFound
	}
	if !caller.IsAdmin && (target.IsAdmin || !rolesWithin(target, caller)) || target.MustReset {
		if err := s.audit(ctx, nil, store.AuditEvent{Type: "impersonation.refused", UserID: target.ID, ActorID: actor,
			BusinessID: target.DefaultBusinessID}, in.Client); err != nil {
			return Token{}, err
		}
		return Token{}, ErrForbidden
	}
	tok, err := s.issue(ctx, target, token.KindAccess, actor, in.Validity)
	if err != nil {
		return Token{}, err
	}
	if err := s.audit(ctx, nil, store.AuditEvent{Type: "token.impersonated", UserID: target.ID, ActorID: actor,
		BusinessID: target.DefaultBusinessID, Detail: `{"jti":"` + tok.Claims.ID + `"}`}, in.Client); err != nil {
		return Token{}, err
	}
	return tok, nil
}

// RoleUserEdit lets an API user act on the users of its businesses.
const RoleUserEdit = "User-Edit"

// rolesWithin reports whether every role of target is also caller's: an
// impersonation must not gain the caller a right it does not hold.
func rolesWithin(target, caller store.User) bool {
	for _, r := range target.Roles {
		if !caller.HasRole(r) {
			return false
		}
	}
	return true
}

func sharesBusiness(a, b store.User) bool {
	for _, id := range a.BusinessIDs {
		if b.InBusiness(id) {
			return true
		}
	}
	return false
}

// ValidEmail reports whether s is a bare email address (no display name),
// at most 254 bytes, without control characters.
func ValidEmail(s string) bool {
	if s == "" || len(s) > 254 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == ' ' {
			return false
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.HasPrefix(s[at+1:], ".") && !strings.HasSuffix(s, ".")
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// lookupErr is a failed lookup's error for the caller: the store's
// not-found becomes ErrNotFound, anything else (a storage failure among
// them) is wrapped with what and stays what it was.
func lookupErr(err error, what string) error {
	if isNotFound(err) {
		return ErrNotFound
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isUnavailable reports a storage failure, which must reach the caller as
// one and never become a denial (SPEC §2).
func isUnavailable(err error) bool { return errors.Is(err, store.ErrUnavailable) }
