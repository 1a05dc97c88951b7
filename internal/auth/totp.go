package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/spaceauth/spaceauth/internal/store"
)

// ErrTOTPEnabled is an enrolment started while two-factor is already on.
var ErrTOTPEnabled = errors.New("auth: two-factor already enabled")

// TOTP parameters (SPEC §5.2): RFC 6238, 30-second steps, 6 digits, SHA-1
// (what authenticator apps implement), one step of skew either way.
const (
	totpPeriod        = 30
	recoveryCodeCount = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// StartTOTP begins enrolment for the bearer's user: a new secret and its
// otpauth:// URI, pending until ConfirmTOTP sees a code from it.
func (s *Service) StartTOTP(ctx context.Context, bearer string) (secret, uri string, err error) {
	u, _, err := s.VerifyBearer(ctx, bearer)
	if err != nil {
		return "", "", err
	}
	return s.StartTOTPFor(ctx, u)
}

// StartTOTPFor is StartTOTP for an already authenticated user (the
// portal's account page).
func (s *Service) StartTOTPFor(ctx context.Context, u store.User) (secret, uri string, err error) {
	if u.TOTPSecret != "" {
		return "", "", ErrTOTPEnabled
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.issuerName(ctx, u), AccountName: u.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return "", "", fmt.Errorf("totp: %w", err)
	}
	sealed, err := s.sealTOTP(u.ID, key.Secret())
	if err != nil {
		return "", "", err
	}
	if err := s.steps.SetTOTPPending(ctx, u.ID, sealed); err != nil {
		return "", "", fmt.Errorf("totp: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

func (s *Service) issuerName(ctx context.Context, u store.User) string {
	if b, err := s.businesses.BusinessByID(ctx, u.DefaultBusinessID); err == nil {
		return b.Name
	}
	return "spaceauth"
}

// ConfirmTOTP turns two-factor on when code matches the pending secret,
// and returns the recovery codes (shown once; only hashes are kept).
func (s *Service) ConfirmTOTP(ctx context.Context, bearer, code string, c Client) ([]string, error) {
	u, _, err := s.VerifyBearer(ctx, bearer)
	if err != nil {
		return nil, err
	}
	return s.ConfirmTOTPFor(ctx, u, code, c)
}

// ConfirmTOTPFor is ConfirmTOTP for an already authenticated user.
func (s *Service) ConfirmTOTPFor(ctx context.Context, u store.User, code string, c Client) ([]string, error) {
	if u.TOTPSecret != "" {
		return nil, ErrTOTPEnabled
	}
	pending, err := s.openTOTP(u.ID, u.TOTPPending)
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(pending, code, s.now())
	if u.TOTPPending == "" || !ok {
		return nil, FieldErrors{"code": {"two_factor_invalid"}}
	}
	codes, hashes, err := newRecoveryCodes(u.ID)
	if err != nil {
		return nil, err
	}
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if err := q.EnableTOTP(ctx, u.ID, u.TOTPPending, step, hashes); err != nil {
			return err
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "totp.enabled", UserID: u.ID}, c)
	})
	if err != nil {
		return nil, fmt.Errorf("totp: %w", err)
	}
	return codes, nil
}

// DisableTOTP turns two-factor off; it takes a current code or a recovery
// code, so a stolen bearer token alone cannot remove the second factor.
func (s *Service) DisableTOTP(ctx context.Context, bearer, code string, c Client) error {
	u, _, err := s.VerifyBearer(ctx, bearer)
	if err != nil {
		return err
	}
	return s.DisableTOTPFor(ctx, u, code, c)
}

// DisableTOTPFor is DisableTOTP for an already authenticated user.
func (s *Service) DisableTOTPFor(ctx context.Context, u store.User, code string, c Client) error {
	if u.TOTPSecret == "" {
		return nil
	}
	// A wrong code here is a guess like any other (SPEC §6 "Second
	// factors"): it counts against the account and the address.
	a, err := s.beginAttempt(ctx, u.Email, c)
	if err != nil {
		return err
	}
	if err := s.finishSignIn(ctx, a, u, code, u.DefaultBusinessID); err != nil {
		if errors.Is(err, ErrTwoFactorInvalid) || errors.Is(err, ErrTwoFactorNeeded) {
			return FieldErrors{"code": {"two_factor_invalid"}}
		}
		return err
	}
	return s.tx.InTx(ctx, func(q store.Queries) error {
		if err := q.DisableTOTP(ctx, u.ID); err != nil {
			return fmt.Errorf("totp: %w", err)
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "totp.disabled", UserID: u.ID}, c)
	})
}

// finishSignIn closes attempt a, whose password (or first step) checked
// out for u, with u's second factor: users without one succeed; a missing
// code gives the slots back (ErrTwoFactorNeeded); a wrong or replayed code
// is a failed sign-in of the account and the address, audited
// (ErrTwoFactorInvalid). Because the attempt's slot is held through the
// code check, concurrent guesses are bounded by the allowance too.
func (s *Service) finishSignIn(ctx context.Context, a *attempt, u store.User, code string, businessID int64) error {
	if err := s.checkSecondFactor(ctx, a, u, code, businessID); err != nil {
		return err
	}
	a.succeed(ctx)
	return nil
}

// checkSecondFactor is finishSignIn that leaves the attempt open when the
// second factor passes, for the caller to close with what it writes.
func (s *Service) checkSecondFactor(ctx context.Context, a *attempt, u store.User, code string, businessID int64) error {
	err := s.secondFactor(ctx, u, code)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTwoFactorInvalid):
		return a.fail(ctx, store.AuditEvent{UserID: u.ID, BusinessID: businessID, Detail: `{"reason":"two_factor"}`}, err)
	default: // a missing code, or a storage error: no guess was made
		a.refund(ctx)
		return err
	}
}

// secondFactor checks code for a user with two-factor on: a TOTP code
// within one step of now, never one of a step already used, or an unused
// recovery code. Users without two-factor pass.
func (s *Service) secondFactor(ctx context.Context, u store.User, code string) error {
	if u.TOTPSecret == "" {
		return nil
	}
	code = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), " ", ""))
	if code == "" {
		return ErrTwoFactorNeeded
	}
	if step, ok := matchTOTP(s.totpSecretOf(ctx, u), code, s.now()); ok {
		fresh, err := s.steps.UseTOTPStep(ctx, u.ID, step)
		if err != nil {
			return fmt.Errorf("totp: %w", err)
		}
		if fresh {
			return nil
		}
		return ErrTwoFactorInvalid // a replay
	}
	used, err := s.steps.UseRecoveryCode(ctx, u.ID, recoveryHash(u.ID, code), s.now().UTC())
	if err != nil {
		return fmt.Errorf("totp: %w", err)
	}
	if !used {
		return ErrTwoFactorInvalid
	}
	return nil
}

// matchTOTP finds the step (now ±1) whose code is code.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	if secret == "" || len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for _, step := range []int64{cur - 1, cur, cur + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// newRecoveryCodes makes a fresh set of recovery codes and their hashes.
func newRecoveryCodes(userID int64) (codes []string, hashes [][]byte, err error) {
	codes = make([]string, recoveryCodeCount)
	hashes = make([][]byte, recoveryCodeCount)
	for i := range codes {
		var b [10]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, nil, fmt.Errorf("totp: %w", err)
		}
		codes[i] = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
		hashes[i] = recoveryHash(userID, codes[i])
	}
	return codes, hashes, nil
}

func recoveryHash(userID int64, code string) []byte { return codeHash(userID, "recovery:"+code) }

// TwoFactorPending is returned by PortalPasswordSignIn when the password
// checked out and a code is needed: Token identifies the half-done sign-in
// for PortalTwoFactorSignIn (5 minutes, 5 tries, single use, in the same
// browser only).
type TwoFactorPending struct{ Token string }

func (e *TwoFactorPending) Error() string { return "auth: two-factor code needed" }

const pendingTTL = 5 * time.Minute

// beginTwoFactor stores the pending step: a credential of its own (SPEC §6
// matrix), kept apart from sign-in codes, bound to c.Browser and carrying
// u.TokenVersion as read before the password check.
func (s *Service) beginTwoFactor(ctx context.Context, u store.User, b store.Business, c Client) error {
	if c.Browser == "" {
		return errors.New("two-factor: no browser binding for the pending step")
	}
	raw, hash, err := newSecret()
	if err != nil {
		return err
	}
	now := s.now().UTC()
	p := store.PendingSignIn{Hash: hash, BrowserHash: secretHash(c.Browser), UserID: u.ID, BusinessID: b.ID,
		TokenVersion: u.TokenVersion, CreatedAt: now, ExpiresAt: now.Add(pendingTTL)}
	if err := s.steps.CreatePendingSignIn(ctx, p); err != nil {
		return fmt.Errorf("two-factor: %w", err)
	}
	return &TwoFactorPending{Token: raw}
}

// PortalTwoFactorSignIn finishes a portal sign-in begun with a password,
// in the browser that began it. email is the form's field; the account is
// the pending step's own.
func (s *Service) PortalTwoFactorSignIn(ctx context.Context, b store.Business, email, pending, code string, c Client) (string, PortalSession, error) {
	if pending == "" || len(pending) > 256 || c.Browser == "" {
		return "", PortalSession{}, ErrTwoFactorInvalid
	}
	hash := secretHash(pending)
	p, err := s.steps.PendingSignInByHash(ctx, hash)
	if isNotFound(err) {
		return "", PortalSession{}, ErrTwoFactorInvalid
	}
	if err != nil {
		return "", PortalSession{}, fmt.Errorf("two-factor: %w", err)
	}
	if !p.SpentAt.IsZero() || !s.now().Before(p.ExpiresAt) || p.BusinessID != b.ID ||
		subtle.ConstantTimeCompare(p.BrowserHash, secretHash(c.Browser)) != 1 {
		return "", PortalSession{}, ErrTwoFactorInvalid
	}
	u, err := s.users.UserByID(ctx, p.UserID)
	if isNotFound(err) {
		return "", PortalSession{}, ErrTwoFactorInvalid
	}
	if err != nil {
		return "", PortalSession{}, fmt.Errorf("two-factor: %w", err)
	}
	// The throttle is the account's, whatever email the form carries.
	a, err := s.beginAttempt(ctx, u.Email, c)
	if err != nil {
		return "", PortalSession{}, err
	}
	defer a.refund(ctx) // unless the code decided: a bad pending step is no guess
	if !u.Active || u.TOTPSecret == "" || u.TokenVersion != p.TokenVersion {
		return "", PortalSession{}, ErrTwoFactorInvalid
	}
	tries, err := s.steps.PendingSignInTry(ctx, hash)
	if err != nil {
		return "", PortalSession{}, fmt.Errorf("two-factor: %w", err)
	}
	if tries > codeMaxTries {
		return "", PortalSession{}, ErrTwoFactorInvalid
	}
	if err := s.finishSignIn(ctx, a, u, code, b.ID); err != nil {
		if errors.Is(err, ErrTwoFactorNeeded) {
			err = ErrTwoFactorInvalid
		}
		return "", PortalSession{}, err
	}
	spent, err := s.steps.SpendPendingSignIn(ctx, hash, s.now().UTC())
	if err != nil {
		return "", PortalSession{}, fmt.Errorf("two-factor: %w", err)
	}
	if !spent {
		return "", PortalSession{}, ErrTwoFactorInvalid
	}
	if err := s.mustReset(ctx, u, &b); err != nil {
		return "", PortalSession{}, err
	}
	sess, cookie, err := s.openSession(ctx, u, b, c, 0, nil, "password+totp")
	if err != nil {
		return "", PortalSession{}, err
	}
	return cookie, PortalSession{Session: sess, User: u}, nil
}
