package auth

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spaceauth/spaceauth/internal/store"
)

// Actions an impersonating session or token may not take: each would give
// the impersonator a credential that outlives the impersonation.
const (
	ActionPasskeyRegister    = "passkey.register"
	ActionTOTPEnrol          = "totp.enrol"
	ActionTOTPDisable        = "totp.disable"
	ActionRecoveryRegenerate = "totp.recovery_regenerate"
)

// RefuseImpersonated returns nil when ps was opened by the member, and
// ErrForbidden (audited as credential.refused with the acting
// administrator) when it was opened from an impersonation link.
func (s *Service) RefuseImpersonated(ctx context.Context, ps PortalSession, action string, c Client) error {
	return s.refuseActor(ctx, ps.User.ID, ps.Session.BusinessID, ps.Session.ActorID, action, c)
}

func (s *Service) refuseActor(ctx context.Context, userID, businessID, actorID int64, action string, c Client) error {
	if actorID == 0 {
		return nil
	}
	if err := s.audit(ctx, nil, store.AuditEvent{Type: "credential.refused", UserID: userID, BusinessID: businessID, ActorID: actorID,
		Detail: `{"action":` + strconv.Quote(action) + `,"reason":"impersonation"}`}, c); err != nil {
		return err
	}
	return fmt.Errorf("%s while impersonating: %w", action, ErrForbidden)
}
