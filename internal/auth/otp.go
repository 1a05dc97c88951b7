package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/token"
)

// ErrCodeInvalid is a sign-in code that is wrong, expired, spent or out of
// tries.
var ErrCodeInvalid = errors.New("auth: sign-in code invalid")

// Passwordless sign-in codes (SPEC §5.5).
const (
	codeTTL = 10 * time.Minute
	// codeRequestWindow is the window of the code-request counters.
	codeRequestWindow = time.Hour
	codeMaxTries      = 5
	codePerMail       = 5 // code requests per email per hour
	codePerAddr       = 50
)

// SignInCodeRequest is the input of SendSignInCode.
type SignInCodeRequest struct {
	Email      string
	BusinessID int64 // 0: the user's default business
	Lang       string
	Client     Client
}

// SendSignInCode emails a 6-digit code and a magic sign-in link. It
// answers the same whether or not the email belongs to anyone (nil), except
// when the caller is over its request limit.
func (s *Service) SendSignInCode(ctx context.Context, r SignInCodeRequest) error {
	if err := s.countRequest(ctx, "otp", r.Email, r.Client, codePerMail, codePerAddr, codeRequestWindow); err != nil {
		return err
	}
	return s.codeFloor.pad(ctx, func() (bool, error) { return s.sendSignInCode(ctx, r) },
		func(err error) bool { return err == nil })
}

// sendSignInCode does the work of SendSignInCode past the request limits;
// sent says whether a code was queued.
func (s *Service) sendSignInCode(ctx context.Context, r SignInCodeRequest) (sent bool, err error) {
	u, err := s.users.UserByEmail(ctx, r.Email)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("send code: %w", err)
	}
	bid := r.BusinessID
	if bid == 0 {
		bid = u.DefaultBusinessID
	}
	// Accounts with two-factor on get no passwordless codes: a mailbox
	// alone must not stand in for the second factor.
	// Nor do users who must reset: the reset is their only way in.
	if !u.Active || u.MustReset || u.TOTPSecret != "" || bid == 0 || !u.IsAdmin && !u.InBusiness(bid) {
		return false, nil
	}
	b, err := s.businesses.BusinessByID(ctx, bid)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("send code: %w", err)
	}
	lang := r.Lang
	if lang == "" {
		lang = "en"
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return false, fmt.Errorf("send code: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	link, err := s.issue(ctx, u, token.KindOneTime, 0, codeTTL)
	if err != nil {
		return false, err
	}
	loginURL := s.TenantURL(b) + "/" + lang + "/user/login?t=" + url.QueryEscape(link.Value)
	msg, err := s.composer.SignInCode(lang, b.Name, u.FullName, code, loginURL, codeTTL)
	if err != nil {
		return false, fmt.Errorf("code email: %w", err)
	}
	err = s.recordAndMail(ctx, b, u, "sign-in-code", msg, "code.requested", r.Client, func(q store.Queries, now time.Time) error {
		o := store.OTP{UserID: u.ID, BusinessID: b.ID, CodeHash: codeHash(u.ID, code), CreatedAt: now, ExpiresAt: now.Add(codeTTL)}
		return q.CreateOTP(ctx, &o)
	})
	if err != nil {
		return false, fmt.Errorf("send code: %w", err)
	}
	return true, nil
}

// codeHash binds a code to its user: six digits are no secret against an
// offline search, but the store never holds them in the clear.
func codeHash(userID int64, code string) []byte {
	h := sha256.Sum256([]byte(strconv.FormatInt(userID, 10) + ":" + code))
	return h[:]
}

// VerifySignInCode checks an emailed code and returns a short-lived
// one-time token (for the portal's t= or the exchange, never a bearer). Each code allows codeMaxTries attempts;
// failures also count against the account's sign-in throttle.
func (s *Service) VerifySignInCode(ctx context.Context, email, code string, c Client) (Token, error) {
	a, err := s.beginAttempt(ctx, email, c)
	if err != nil {
		return Token{}, err
	}
	defer a.refund(ctx) // storage errors are no guess
	fail := func(u store.User) (Token, error) {
		return Token{}, a.fail(ctx, store.AuditEvent{UserID: u.ID, Detail: `{"method":"code"}`}, ErrCodeInvalid)
	}
	u, err := s.users.UserByEmail(ctx, email)
	if isNotFound(err) {
		return fail(store.User{})
	}
	if err != nil {
		return Token{}, fmt.Errorf("verify code: %w", err)
	}
	o, err := s.steps.LatestOTP(ctx, u.ID)
	if isNotFound(err) {
		return fail(u)
	}
	if err != nil {
		return Token{}, fmt.Errorf("verify code: %w", err)
	}
	// A code sent before the user's last revocation (password change,
	// disable, enable, sign-out everywhere, require-reset) died with it
	// (SPEC §6: those end every pending credential).
	if !u.Active || !o.SpentAt.IsZero() || !s.now().Before(o.ExpiresAt) || !o.CreatedAt.After(u.TokensRevokedAt) {
		return fail(u)
	}
	tries, err := s.steps.OTPTry(ctx, o.ID)
	if err != nil {
		return Token{}, fmt.Errorf("verify code: %w", err)
	}
	if tries > codeMaxTries || subtle.ConstantTimeCompare(codeHash(u.ID, code), o.CodeHash) != 1 {
		return fail(u)
	}
	spent, err := s.steps.SpendOTP(ctx, o.ID, s.now().UTC())
	if err != nil {
		return Token{}, fmt.Errorf("verify code: %w", err)
	}
	if !spent {
		return fail(u)
	}
	a.succeed(ctx)
	if u.MustReset {
		// SPEC §6: passwordless is no way around a required reset. The
		// code is spent; the answer is the usual refusal.
		return Token{}, ErrCodeInvalid
	}
	tok, err := s.issue(ctx, u, token.KindOneTime, 0, codeTTL)
	if err != nil {
		return Token{}, err
	}
	if err := s.auditSignIn(ctx, nil, u, o.BusinessID, 0, "code", tok.Claims.ID, c); err != nil {
		return Token{}, err
	}
	return tok, nil
}
