package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/spaceauth/spaceauth/internal/mail/compose"
	"github.com/spaceauth/spaceauth/internal/password"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/token"
)

// ResetRequest is the input of RequestPasswordReset.
type ResetRequest struct {
	// Business is the tenant the request arrived on; nil on the system host.
	Business *store.Business
	Lang     string
	Email    string
	Client   Client
}

// RequestPasswordReset creates a reset token and queues its email in one
// transaction. It returns ErrNotFound for an unknown, disabled or (on a
// tenant host) foreign user, unless the business hides unknown emails, in
// which case it returns nil and sends nothing.
func (s *Service) RequestPasswordReset(ctx context.Context, r ResetRequest) error {
	p := s.throttle
	if err := s.countRequest(ctx, "reset", r.Email, r.Client, p.ResetPerMail, p.ResetPerAddr, p.ResetWindow); err != nil {
		return err
	}
	return s.resetFloor.pad(ctx, func() (bool, error) { return s.requestPasswordReset(ctx, r) },
		func(err error) bool { return err == nil || errors.Is(err, ErrNotFound) })
}

// requestPasswordReset does the work of RequestPasswordReset past the
// request limits; sent says whether a reset email was queued.
func (s *Service) requestPasswordReset(ctx context.Context, r ResetRequest) (sent bool, err error) {
	u, b, err := s.resetTarget(ctx, r)
	if errors.Is(err, ErrNotFound) {
		if r.Business != nil && r.Business.HideUnknownEmails {
			return false, nil
		}
		return false, ErrNotFound
	}
	if err != nil {
		return false, err
	}
	lang := r.Lang
	if r.Business == nil || lang == "" {
		lang = "en"
	}
	raw, hash, err := newSecret()
	if err != nil {
		return false, err
	}
	link := s.TenantURL(b) + "/" + lang + "/user/newPassword?token=" + url.QueryEscape(raw)
	msg, err := s.composer.Reset(lang, b.Name, u.FullName, link, s.opts.ResetTTL)
	if err != nil {
		return false, fmt.Errorf("reset email: %w", err)
	}
	err = s.recordAndMail(ctx, b, u, "reset", msg, "reset.requested", r.Client, func(q store.Queries, now time.Time) error {
		return q.CreateResetToken(ctx, store.ResetToken{Hash: hash, UserID: u.ID, BusinessID: b.ID, Language: lang,
			CreatedAt: now, ExpiresAt: now.Add(s.opts.ResetTTL), TokenVersion: u.TokenVersion})
	})
	if err != nil {
		return false, fmt.Errorf("request reset: %w", err)
	}
	return true, nil
}

// resetTarget finds the user a reset is for and the business whose portal
// the link points at.
func (s *Service) resetTarget(ctx context.Context, r ResetRequest) (store.User, store.Business, error) {
	u, err := s.users.UserByEmail(ctx, r.Email)
	if isNotFound(err) {
		return store.User{}, store.Business{}, ErrNotFound
	}
	if err != nil {
		return store.User{}, store.Business{}, fmt.Errorf("request reset: %w", err)
	}
	if !u.Active {
		return store.User{}, store.Business{}, ErrNotFound
	}
	if r.Business != nil {
		if !u.InBusiness(r.Business.ID) && !u.IsAdmin {
			return store.User{}, store.Business{}, ErrNotFound
		}
		return u, *r.Business, nil
	}
	// System host: the user's default business, which must exist for the
	// link to have a portal to land on.
	if u.DefaultBusinessID == 0 {
		return store.User{}, store.Business{}, ErrNotFound
	}
	b, err := s.businesses.BusinessByID(ctx, u.DefaultBusinessID)
	if err != nil {
		return store.User{}, store.Business{}, fmt.Errorf("request reset: %w", err)
	}
	return u, b, nil
}

// CheckResetToken reports whether raw is a live reset token for business b.
func (s *Service) CheckResetToken(ctx context.Context, b store.Business, raw string) error {
	_, _, err := s.resetToken(ctx, s.nonTxResetReader(), b, raw)
	return err
}

// nonTxResetReader reads reset tokens and users outside a transaction.
func (s *Service) nonTxResetReader() resetReader {
	return struct {
		TokenStore
		UserStore
	}{s.revocable, s.users}
}

func (s *Service) resetToken(ctx context.Context, q resetReader, b store.Business, raw string) (store.ResetToken, store.User, error) {
	if raw == "" || len(raw) > 256 {
		return store.ResetToken{}, store.User{}, ErrResetInvalid
	}
	hash := secretHash(raw)
	t, err := q.ResetTokenByHash(ctx, hash)
	if isNotFound(err) {
		return store.ResetToken{}, store.User{}, ErrResetInvalid
	}
	if err != nil {
		return store.ResetToken{}, store.User{}, fmt.Errorf("reset token: %w", err)
	}
	if subtle.ConstantTimeCompare(t.Hash, hash) != 1 || !t.SpentAt.IsZero() || !s.now().Before(t.ExpiresAt) || t.BusinessID != b.ID {
		return store.ResetToken{}, store.User{}, ErrResetInvalid
	}
	u, err := q.UserByID(ctx, t.UserID)
	if isNotFound(err) {
		return store.ResetToken{}, store.User{}, ErrResetInvalid
	}
	if err != nil {
		return store.ResetToken{}, store.User{}, fmt.Errorf("reset token: %w", err)
	}
	// A link made before a revocation (or by a request still running when
	// it committed) died with it.
	if !u.Active || t.TokenVersion != u.TokenVersion {
		return store.ResetToken{}, store.User{}, ErrResetInvalid
	}
	return t, u, nil
}

// PasswordReset is the input of CompletePasswordReset.
type PasswordReset struct {
	Business store.Business
	Lang     string
	Token    string
	Password string
	Confirm  string
	Client   Client
}

// CompletePasswordReset sets a new password from a reset token. On success
// every reset token of the user is spent, every session and token issued
// before now is revoked, and a "password changed" email is queued.
func (s *Service) CompletePasswordReset(ctx context.Context, r PasswordReset) error {
	_, u, err := s.resetToken(ctx, s.nonTxResetReader(), r.Business, r.Token)
	if err != nil {
		return err
	}
	if r.Password != r.Confirm {
		return FieldErrors{"confirm": {"passwords_differ"}}
	}
	hash, err := s.newPasswordHash(ctx, r.Password, u.Email)
	if err != nil {
		return err
	}
	lang := r.Lang
	if lang == "" {
		lang = u.Language
	}
	loginURL := s.TenantURL(r.Business) + "/" + lang + "/user/login"
	msg, err := s.composer.PasswordChanged(lang, r.Business.Name, u.FullName, loginURL, s.now())
	if err != nil {
		return fmt.Errorf("password-changed email: %w", err)
	}
	err = s.tx.InTx(ctx, func(q store.Queries) error {
		// Of two concurrent completions with one token, exactly one spends it.
		spent, err := q.SpendResetToken(ctx, secretHash(r.Token), s.now().UTC())
		if err != nil {
			return fmt.Errorf("complete reset: %w", err)
		}
		if !spent {
			return ErrResetInvalid
		}
		return s.changePassword(ctx, q, u, hash, r.Business, &msg, "reset.completed", r.Client)
	})
	if err != nil {
		return err
	}
	s.opts.MailQueued()
	return nil
}

// newPasswordHash checks the policy and hashes on the bounded pool.
func (s *Service) newPasswordHash(ctx context.Context, pw, email string) (string, error) {
	if err := s.policy.Check(pw, email); err != nil {
		var pe *password.PolicyError
		if errors.As(err, &pe) {
			return "", FieldErrors{"password": {pe.Reason}}
		}
		return "", fmt.Errorf("password policy: %w", err)
	}
	var hash string
	var herr error
	if err := s.pool.do(ctx, false, func() { hash, herr = s.hasher.Hash(pw) }); err != nil {
		return "", err
	}
	if herr != nil {
		return "", fmt.Errorf("hash password: %w", herr)
	}
	return hash, nil
}

// changePassword replaces the hash and revokes everything issued before.
// msg, when not nil, is queued to the user in the same transaction.
func (s *Service) changePassword(ctx context.Context, q store.Queries, u store.User, hash string, b store.Business, msg *compose.Message, event string, c Client) error {
	now := s.now().UTC()
	steps := []func() error{
		func() error { return q.SetPasswordHash(ctx, u.ID, hash, now) },
		func() error { return q.SpendResetTokens(ctx, u.ID, now) },
		func() error { return q.RevokeUserTokens(ctx, u.ID, now) },
		func() error { return q.RevokeUserSessions(ctx, u.ID, now) },
		func() error { return q.RevokeRefreshTokens(ctx, u.ID, "", now) },
		func() error { return q.SetMustReset(ctx, u.ID, false) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("change password: %w", err)
		}
	}
	if msg != nil {
		if err := enqueueMail(ctx, q, "password-changed", b, u, *msg, now); err != nil {
			return fmt.Errorf("change password: %w", err)
		}
	}
	return s.audit(ctx, q, store.AuditEvent{Type: event, UserID: u.ID, BusinessID: b.ID}, c)
}

// recordAndMail stores what a mailed secret needs (record), queues msg to u
// and audits event in one transaction, then wakes the mail worker: a code
// or link is never stored without its email, nor mailed without its record.
func (s *Service) recordAndMail(ctx context.Context, b store.Business, u store.User, kind string, msg compose.Message,
	event string, c Client, record func(q store.Queries, now time.Time) error) error {
	now := s.now().UTC()
	err := s.tx.InTx(ctx, func(q store.Queries) error {
		if err := record(q, now); err != nil {
			return err
		}
		if err := enqueueMail(ctx, q, kind, b, u, msg, now); err != nil {
			return err
		}
		return s.audit(ctx, q, store.AuditEvent{Type: event, UserID: u.ID, BusinessID: b.ID}, c)
	})
	if err != nil {
		return err
	}
	s.opts.MailQueued()
	return nil
}

// enqueueMail queues msg, of the given kind, from business b to user u in
// the transaction q: every email the flows send goes out this one way.
func enqueueMail(ctx context.Context, q store.Queries, kind string, b store.Business, u store.User, msg compose.Message, now time.Time) error {
	m := store.Mail{Kind: kind, FromName: b.Name, To: u.Email, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, CreatedAt: now}
	return q.EnqueueMail(ctx, &m)
}

// StartPasswordReset is SPEC §5.4's start: like RequestPasswordReset for the
// business with id businessID (0: the user's default business), but it
// never says whether the email exists.
func (s *Service) StartPasswordReset(ctx context.Context, email string, businessID int64, lang string, c Client) error {
	r := ResetRequest{Email: email, Lang: lang, Client: c}
	if businessID != 0 {
		b, err := s.businesses.BusinessByID(ctx, businessID)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("start reset: %w", err)
		}
		r.Business = &b
	}
	err := s.RequestPasswordReset(ctx, r)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// CompletePasswordResetForToken is SPEC §5.4's completion: it sets the
// password from a reset token (of business businessID when not 0) and
// returns a one-time token for §5.3's exchange.
func (s *Service) CompletePasswordResetForToken(ctx context.Context, raw, password string, businessID int64, lang string, c Client) (Token, error) {
	if raw == "" || len(raw) > 256 {
		return Token{}, ErrResetInvalid
	}
	t, err := s.revocable.ResetTokenByHash(ctx, secretHash(raw))
	if isNotFound(err) || err == nil && businessID != 0 && businessID != t.BusinessID {
		return Token{}, ErrResetInvalid
	}
	if err != nil {
		return Token{}, fmt.Errorf("complete reset: %w", err)
	}
	b, err := s.businesses.BusinessByID(ctx, t.BusinessID)
	if err != nil {
		return Token{}, ErrResetInvalid
	}
	if err := s.CompletePasswordReset(ctx, PasswordReset{Business: b, Lang: lang, Token: raw, Password: password, Confirm: password, Client: c}); err != nil {
		return Token{}, err
	}
	u, err := s.users.UserByID(ctx, t.UserID) // reloaded: its token version moved
	if err != nil {
		return Token{}, fmt.Errorf("complete reset: %w", err)
	}
	return s.issue(ctx, u, token.KindOneTime, 0, LinkTokenTTL)
}
