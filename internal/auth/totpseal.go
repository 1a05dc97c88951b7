package auth

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spaceauth/spaceauth/internal/store"
)

// TOTP secrets are sealed at rest like signing keys when a key-encryption
// key is configured (SPEC §6, issue #10.9), bound to their user's id.
// Secrets stored before (unsealed) are still read as they are.

func totpAAD(userID int64) string { return "totp:" + strconv.FormatInt(userID, 10) }

// sealTOTP is secret as it is stored for userID.
func (s *Service) sealTOTP(userID int64, secret string) (string, error) {
	sealed, err := s.opts.TOTPSealer.Seal(secret, totpAAD(userID))
	if err != nil {
		return "", fmt.Errorf("totp: seal secret: %w", err)
	}
	return sealed, nil
}

// openTOTP is a stored (pending or active) secret of userID in clear.
func (s *Service) openTOTP(userID int64, stored string) (string, error) {
	plain, err := s.opts.TOTPSealer.Open(stored, totpAAD(userID))
	if err != nil {
		return "", fmt.Errorf("totp: open secret of user %d: %w", userID, err)
	}
	return plain, nil
}

// totpSecretOf is u's active secret in clear for checking a code. A secret
// that does not open (a missing or wrong key-encryption key) gives "", so
// that every code is refused: the failure is logged for the operator.
func (s *Service) totpSecretOf(ctx context.Context, u store.User) string {
	plain, err := s.openTOTP(u.ID, u.TOTPSecret)
	if err != nil {
		s.log.ErrorContext(ctx, "two-factor secret unreadable; codes are refused", "user", u.ID, "err", err)
		return ""
	}
	return plain
}
