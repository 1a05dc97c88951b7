package httpapi

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pquerna/otp"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/httpapi/pages"
)

// accountNotices are the account page's ?done= notices (anything else is
// ignored, so the parameter cannot put text on the page).
var accountNotices = map[string]string{
	"passkey_added":   "page.account.passkey_added",
	"passkey_renamed": "page.account.passkey_renamed",
	"passkey_removed": "page.account.passkey_removed",
	"totp_disabled":   "page.account.totp_disabled",
}

// renderAccount renders the account page of ps; fill adds what one action
// wants shown (an enrolment, recovery codes, an error).
func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, ps auth.PortalSession, status int, fill func(*pages.Page)) error {
	ctx := r.Context()
	list, err := s.auth.Sessions(ctx, ps.User.ID)
	if err != nil {
		return err
	}
	b, _ := businessOf(r)
	keys, err := s.auth.Passkeys(ctx, ps.User, b)
	if err != nil {
		return err
	}
	p := s.page(r)
	p.CSRF = s.csrfToken(w, r)
	p.User = &pages.UserView{Name: ps.User.FullName, Email: ps.User.Email}
	for _, sess := range list {
		p.Sessions = append(p.Sessions, pages.SessionView{ID: sess.ID, ClientIP: sess.ClientIP,
			Device:    deviceName(sess.UserAgent, func(b, o string) string { return s.cat.T(p.Lang, "page.account.device_on", b, o) }),
			CreatedAt: sess.CreatedAt, LastSeenAt: sess.LastSeenAt, Current: sess.ID == ps.Session.ID})
	}
	base := "/" + p.Lang + "/user/account"
	for _, k := range keys {
		id := strconv.FormatInt(k.ID, 10)
		p.Passkeys = append(p.Passkeys, pages.PasskeyView{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt,
			RenameURL: base + "/passkeys/" + id + "/rename", RemoveURL: base + "/passkeys/" + id + "/remove"})
	}
	p.Security = &pages.SecurityView{TOTPEnabled: ps.User.TOTPSecret != "",
		PasskeyBeginURL: base + "/passkeys/begin", PasskeyAddURL: base + "/passkeys",
		TOTPStartURL: base + "/totp", TOTPConfirmURL: base + "/totp/confirm",
		TOTPRecoveryURL: base + "/totp/recovery", TOTPDisableURL: base + "/totp/disable"}
	if key, ok := accountNotices[r.URL.Query().Get("done")]; ok && r.Method == http.MethodGet {
		p.Message = s.cat.T(p.Lang, key)
	}
	if fill != nil {
		fill(&p)
	}
	w.Header().Set("Content-Security-Policy", passkeyPageCSP)
	s.pages.Render(w, status, "account", p)
	return nil
}

// accountError shows a refused account-page action on the page itself;
// anything that is not the member's mistake (storage trouble) is returned,
// for the error page with its status.
func (s *Server) accountError(w http.ResponseWriter, r *http.Request, err error) error {
	var fe auth.FieldErrors
	refusal := errors.As(err, &fe) || errors.Is(err, auth.ErrPasskeyInvalid) || errors.Is(err, auth.ErrNotFound) ||
		errors.Is(err, auth.ErrTOTPEnabled) || errors.Is(err, auth.ErrForbidden)
	ps, ok, serr := s.currentSession(r)
	if !refusal || !ok || serr != nil {
		return err
	}
	f := s.answer(w, r, onAccount, err)
	lang := langOf(r)
	return s.renderAccount(w, r, ps, f.http, func(p *pages.Page) {
		for _, keys := range fe {
			for _, k := range keys {
				p.Errors = append(p.Errors, s.cat.T(lang, k))
			}
		}
		if len(p.Errors) == 0 {
			p.Errors = []string{s.cat.T(lang, f.key)}
		}
		if secret, uri, ok := s.auth.PendingTOTP(r.Context(), ps.User); ok && len(fe["code"]) > 0 && p.Security != nil && !p.Security.TOTPEnabled {
			p.Security.SetupSecret, p.Security.SetupQR = secret, qrDataURL(uri)
		}
	})
}

// handleAccount shows who is signed in, their sessions (with a readable
// device name), passkeys and two-factor settings.
func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) error {
	ps, ok, err := s.accountSession(w, r)
	if !ok {
		return err
	}
	return s.renderAccount(w, r, ps, http.StatusOK, nil)
}

// handleAccountTOTPStart begins enrolment: the page shows the QR code and
// the secret, and asks for a code.
func (s *Server) handleAccountTOTPStart(w http.ResponseWriter, r *http.Request, f fields) error {
	ps, ok, err := s.credentialSession(w, r, auth.ActionTOTPEnrol)
	if !ok {
		return err
	}
	secret, uri, err := s.auth.StartTOTPFor(r.Context(), ps.User)
	if err != nil {
		return s.accountError(w, r, err)
	}
	return s.renderAccount(w, r, ps, http.StatusOK, func(p *pages.Page) {
		p.Security.SetupSecret, p.Security.SetupQR = secret, qrDataURL(uri)
	})
}

// handleAccountTOTPConfirm turns two-factor on with a code from the app
// and shows the recovery codes, once.
func (s *Server) handleAccountTOTPConfirm(w http.ResponseWriter, r *http.Request, f fields) error {
	return s.accountNewCodes(w, r, f, auth.ActionTOTPEnrol, func(u *auth.User, code string) ([]string, error) {
		codes, err := s.auth.ConfirmTOTPFor(r.Context(), *u, code, s.client(r))
		if err == nil {
			u.TOTPSecret = "on" // only the page's view of it
		}
		return codes, err
	}, "page.account.totp_enabled")
}

// handleAccountTOTPRecovery replaces the recovery codes (a current code
// proves the second factor is at hand).
func (s *Server) handleAccountTOTPRecovery(w http.ResponseWriter, r *http.Request, f fields) error {
	return s.accountNewCodes(w, r, f, auth.ActionRecoveryRegenerate, func(u *auth.User, code string) ([]string, error) {
		return s.auth.RegenerateRecoveryCodes(r.Context(), *u, code, s.client(r))
	}, "page.account.recovery_regenerated")
}

// accountNewCodes is an account-page action that takes a current code and
// answers new recovery codes: issue gets the session's user (to update
// the page's view of it) and the code from the form. A session opened by
// an impersonation is refused action (credentialSession).
func (s *Server) accountNewCodes(w http.ResponseWriter, r *http.Request, f fields, action string, issue func(u *auth.User, code string) ([]string, error), notice string) error {
	ps, ok, err := s.credentialSession(w, r, action)
	if !ok {
		return err
	}
	code, _ := f.str("code")
	codes, err := issue(&ps.User, code)
	if err != nil {
		return s.accountError(w, r, err)
	}
	return s.showRecoveryCodes(w, r, ps, codes, notice)
}

func (s *Server) showRecoveryCodes(w http.ResponseWriter, r *http.Request, ps auth.PortalSession, codes []string, notice string) error {
	return s.renderAccount(w, r, ps, http.StatusOK, func(p *pages.Page) {
		p.Message = s.cat.T(p.Lang, notice)
		p.Security.RecoveryCodes = codes
		p.Security.RecoveryDownload = template.URL("data:text/plain;charset=utf-8," + url.PathEscape(strings.Join(codes, "\r\n")+"\r\n"))
	})
}

// handleAccountTOTPDisable turns two-factor off with a current code.
func (s *Server) handleAccountTOTPDisable(w http.ResponseWriter, r *http.Request, f fields) error {
	ps, ok, err := s.credentialSession(w, r, auth.ActionTOTPDisable)
	if !ok {
		return err
	}
	code, _ := f.str("code")
	if err := s.auth.DisableTOTPFor(r.Context(), ps.User, code, s.client(r)); err != nil {
		return s.accountError(w, r, err)
	}
	accountDone(w, r, "totp_disabled")
	return nil
}

// qrDataURL renders an otpauth:// URI as a PNG QR code in a data: URL, so
// the secret never leaves the page in a request of its own.
func qrDataURL(uri string) template.URL {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return ""
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}
