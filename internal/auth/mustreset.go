package auth

import (
	"context"
	"fmt"

	"github.com/spaceauth/spaceauth/internal/store"
)

// MustReset is a sign-in refused, after the password checked out, because
// the user must choose a new one first. Token is a fresh reset token for
// the user's default business (SPEC §5.1: the description carries it).
type MustReset struct {
	Token    string
	Business store.Business
}

func (e *MustReset) Error() string { return "auth: password must be reset" }

// Is lets errors.Is(err, ErrMustReset) match.
func (e *MustReset) Is(target error) bool { return target == ErrMustReset }

// mustReset returns a *MustReset for a flagged user, else nil.
func (s *Service) mustReset(ctx context.Context, u store.User, b *store.Business) error {
	if !u.MustReset {
		return nil
	}
	var biz store.Business
	switch {
	case b != nil:
		biz = *b
	case u.DefaultBusinessID != 0:
		var err error
		if biz, err = s.businesses.BusinessByID(ctx, u.DefaultBusinessID); err != nil {
			return fmt.Errorf("must reset: %w", err)
		}
	}
	raw, hash, err := newSecret()
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if err := s.revocable.CreateResetToken(ctx, store.ResetToken{Hash: hash, UserID: u.ID, BusinessID: biz.ID, Language: u.Language,
		CreatedAt: now, ExpiresAt: now.Add(s.opts.ResetTTL), TokenVersion: u.TokenVersion}); err != nil {
		return fmt.Errorf("must reset: %w", err)
	}
	return &MustReset{Token: raw, Business: biz}
}

// RequireReset flags a user: every credential ends (SPEC §6: the token
// version moves, so sign-ins in flight die too) and every path but the
// reset itself is refused until the password changes (a reset, or
// set-password).
func (s *Service) RequireReset(ctx context.Context, email string) (store.User, error) {
	u, err := s.users.UserByEmail(ctx, email)
	if err != nil {
		return store.User{}, lookupErr(err, "require reset")
	}
	now := s.now().UTC()
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		if err := q.SetMustReset(ctx, u.ID, true); err != nil {
			return err
		}
		if err := endCredentials(ctx, q, u.ID, now); err != nil {
			return err
		}
		return s.audit(ctx, q, store.AuditEvent{Type: "user.reset_required", UserID: u.ID}, Client{UserAgent: "cli"})
	})
	if err != nil {
		return store.User{}, fmt.Errorf("require reset: %w", err)
	}
	u.MustReset = true
	return u, nil
}
