package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/spaceauth/spaceauth/internal/store"
)

// PendingTOTP returns the secret and otpauth:// URI of u's enrolment in
// progress, so the account page can show its QR code again; ok is false
// when none is pending.
func (s *Service) PendingTOTP(ctx context.Context, u store.User) (secret, uri string, ok bool) {
	if u.TOTPPending == "" || u.TOTPSecret != "" {
		return "", "", false
	}
	// The same URI totp.Generate made when the enrolment started.
	issuer := s.issuerName(ctx, u)
	v := url.Values{}
	v.Set("secret", u.TOTPPending)
	v.Set("issuer", issuer)
	v.Set("period", strconv.Itoa(totpPeriod))
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	k := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + u.Email, RawQuery: v.Encode()}
	return u.TOTPPending, k.String(), true
}

// RegenerateRecoveryCodes replaces u's recovery codes after a current code
// (TOTP or a recovery code) proves the second factor is at hand; the new
// codes are returned once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, u store.User, code string, c Client) ([]string, error) {
	if u.TOTPSecret == "" {
		return nil, FieldErrors{"code": {"two_factor_invalid"}}
	}
	// A wrong code here is a guess like any other (SPEC §6 "Second
	// factors"): it counts against the account and the address.
	a, err := s.beginAttempt(ctx, u.Email, c)
	if err != nil {
		return nil, err
	}
	if err := s.finishSignIn(ctx, a, u, code, u.DefaultBusinessID); err != nil {
		if isSecondFactorRefusal(err) {
			return nil, FieldErrors{"code": {"two_factor_invalid"}}
		}
		return nil, err
	}
	fresh, err := s.users.UserByID(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("recovery codes: %w", err)
	}
	codes, hashes, err := newRecoveryCodes(u.ID)
	if err != nil {
		return nil, err
	}
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		// EnableTOTP with the same secret and step replaces the codes only.
		if err := q.EnableTOTP(ctx, u.ID, fresh.TOTPSecret, fresh.TOTPLastStep, hashes); err != nil {
			return err
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "totp.recovery_regenerated", UserID: u.ID}, c)
	})
	if err != nil {
		return nil, fmt.Errorf("recovery codes: %w", err)
	}
	return codes, nil
}

func isSecondFactorRefusal(err error) bool {
	return errors.Is(err, ErrTwoFactorInvalid) || errors.Is(err, ErrTwoFactorNeeded)
}
