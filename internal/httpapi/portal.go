package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/httpapi/pages"
	"github.com/spaceauth/spaceauth/internal/i18n"
)

// handleLogin is SPEC §3.3 with t (portal sign-in by token) and §5.6
// without it (the sign-in form).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if !q.Has("t") {
		msg := ""
		if q.Get("signedOut") == "1" {
			// The confirmation after signing out (issue #15.6).
			msg = s.cat.T(langOf(r), "signed_out")
		}
		s.renderLogin(w, r, http.StatusOK, msg, q.Get("redirectUrl"))
		return nil
	}
	b, _ := businessOf(r)
	cookie, ps, err := s.auth.PortalSignIn(r.Context(), b, q.Get("t"), s.client(r))
	if err != nil {
		if errors.Is(err, auth.ErrLinkInvalid) && !wantsJSON(r) {
			// Its own page, which says how to get a fresh link.
			f := s.answer(w, r, onPage, err)
			p := s.page(r)
			p.Status = f.http
			p.Message = s.cat.T(p.Lang, f.key)
			s.pages.Render(w, f.http, "link_invalid", p)
			return nil
		}
		return err
	}
	s.setSession(w, cookie, ps.Session.ExpiresAt)
	http.Redirect(w, r, safeRedirect(q.Get("redirectUrl"), langOf(r)), http.StatusFound)
	return nil
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg, redirect string) {
	s.renderLoginFor(w, r, status, msg, redirect, "")
}

// renderLoginFor is renderLogin keeping the email typed (issue #15.4). A
// failure (status 400 and up) is shown as an error, in red, like every
// other error of the portal; a notice stays a notice.
func (s *Server) renderLoginFor(w http.ResponseWriter, r *http.Request, status int, msg, redirect, email string) {
	p := s.formPage(w, r, "login", redirect)
	p.Email = email
	if status >= 400 && msg != "" {
		p.Errors = []string{msg}
	} else {
		p.Message = msg
	}
	p.ActionURL = "/" + p.Lang + "/user/login"
	p.Passkey = &pages.PasskeySignInView{BeginURL: "/" + p.Lang + "/user/passkey/begin", ActionURL: "/" + p.Lang + "/user/passkey"}
	w.Header().Set("Content-Security-Policy", passkeyPageCSP)
	if redirect != "" && safeRedirect(redirect, p.Lang) == redirect {
		p.ActionURL += "?redirectUrl=" + url.QueryEscape(redirect)
		p.Passkey.ActionURL += "?redirectUrl=" + url.QueryEscape(redirect)
	}
	p.SSO = s.ssoButtons(r, p.Lang, redirect)
	s.pages.Render(w, status, "login", p)
}

// formPage is the data of a page whose form posts to /{language}/user/
// {action}: a CSRF token (and its cookie), and the action URL, which keeps
// a redirect only when it is safe.
func (s *Server) formPage(w http.ResponseWriter, r *http.Request, action, redirect string) pages.Page {
	p := s.page(r)
	p.CSRF = s.csrfToken(w, r)
	p.ActionURL = "/" + p.Lang + "/user/" + action
	if redirect != "" && safeRedirect(redirect, p.Lang) == redirect {
		p.ActionURL += "?redirectUrl=" + url.QueryEscape(redirect)
	}
	return p
}

// handleLoginForm signs in with the form's email and password.
func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request, f fields) error {
	b, _ := businessOf(r)
	email, _ := f.str("email")
	pw, _ := f.str("password")
	redirect := r.URL.Query().Get("redirectUrl")
	lang := langOf(r)
	// The form passed the CSRF check, so the browser holds this cookie: a
	// pending second-factor step is bound to it (SPEC §6 matrix).
	c := s.client(r)
	if bc, err := r.Cookie(csrfCookie); err == nil {
		c.Browser = bc.Value
	}
	if pendingToken, _ := f.str("token"); pendingToken != "" {
		s.finishTOTPStep(w, r, f, email, pendingToken, redirect, c)
		return nil
	}
	if email == "" || pw == "" {
		s.renderLoginFor(w, r, http.StatusBadRequest, s.cat.T(lang, "invalid_credentials"), redirect, email)
		return nil
	}
	cookie, ps, err := s.auth.PortalPasswordSignIn(r.Context(), b, email, pw, "", c)
	var pending *auth.TwoFactorPending
	if errors.As(err, &pending) {
		s.renderTOTPStep(w, r, http.StatusOK, email, pending.Token, "", redirect)
		return nil
	}
	s.finishSignIn(w, r, cookie, ps, err, redirect, email)
	return nil
}

// finishSignIn ends a sign-in from the form: the session and its redirect,
// the new-password page for a user who must reset, or the form again (the
// email kept) with classify's answer on the form's surface.
func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request, cookie string, ps auth.PortalSession, err error, redirect, email string) {
	if s.mustResetRedirect(w, r, err) {
		return
	}
	lang := langOf(r)
	if err != nil {
		b, _ := businessOf(r)
		f := s.answer(w, r, onForm, err)
		s.renderLoginFor(w, r, f.http, s.signInProblem(lang, b, err, f), redirect, email)
		return
	}
	s.setSession(w, cookie, ps.Session.ExpiresAt)
	http.Redirect(w, r, safeRedirect(redirect, lang), http.StatusFound)
}

// signInProblem is the portal form's message for a refused sign-in: how
// long a locked account must wait, and "not a member of this space" after
// a right password at a business where the account has no profile (issue
// #15.4, #15.5); otherwise the error table's message.
func (s *Server) signInProblem(lang string, b auth.Business, err error, f failure) string {
	var rl *auth.RateLimited
	switch {
	case errors.Is(err, auth.ErrNotMember):
		return s.cat.T(lang, "not_member", b.Name)
	case errors.As(err, &rl) && rl.RetryAfter > 0:
		if rl.RetryAfter < time.Minute {
			return s.cat.T(lang, "locked_seconds", int((rl.RetryAfter+time.Second-1)/time.Second))
		}
		return s.cat.T(lang, "locked_minutes", int((rl.RetryAfter+time.Minute-1)/time.Minute))
	}
	return s.cat.T(lang, f.key)
}

// handleForgotForm shows the "forgot password" form.
func (s *Server) handleForgotForm(w http.ResponseWriter, r *http.Request) error {
	s.pages.Render(w, http.StatusOK, "forgot", s.formPage(w, r, "forgot", ""))
	return nil
}

// handleForgot requests a reset email from the form. The page always says
// the same thing, so the form is no oracle for which emails exist.
func (s *Server) handleForgot(w http.ResponseWriter, r *http.Request, f fields) error {
	b, _ := businessOf(r)
	p := s.formPage(w, r, "forgot", "")
	email, _ := f.str("email")
	email = strings.TrimSpace(email)
	if !auth.ValidEmail(email) {
		p.Errors = []string{s.cat.T(p.Lang, "invalid_email")}
		s.pages.Render(w, http.StatusBadRequest, "forgot", p)
		return nil
	}
	err := s.auth.RequestPasswordReset(r.Context(), auth.ResetRequest{Business: &b, Lang: p.Lang, Email: email, Client: s.client(r)})
	if err != nil && !errors.Is(err, auth.ErrNotFound) {
		return err
	}
	p.Message = s.cat.T(p.Lang, "reset_sent")
	s.pages.Render(w, http.StatusOK, "forgot", p)
	return nil
}

// handleLogout ends the session (everywhere=1: every session and token of
// the user) and goes back to the sign-in page. It is POST with CSRF only
// (SPEC §6): a GET, which any page can make a browser send, is 405.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, f fields) error {
	v, _ := f.str("everywhere")
	everywhere := v == "1" || v == "true"
	// The sign-in page confirms the sign-out (issue #15.6).
	next := "/" + langOf(r) + "/user/login?signedOut=1"
	ps, ok, err := s.currentSession(r)
	if err != nil {
		// A logout that could not be checked is not answered as done.
		return err
	}
	if ok {
		// A session opened through an identity provider with a logout URL
		// ends there too (SPEC §8).
		logout := s.auth.SSOLogoutURL(r.Context(), ps.Session.ID)
		if err := s.auth.SignOut(r.Context(), ps, everywhere, s.client(r)); err != nil {
			return err
		}
		if logout != "" {
			next = logout
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, next, http.StatusFound)
	return nil
}

// currentSession returns the request's live session; ok is false when there
// is none. err is a failure to look it up, which is not "signed out".
func (s *Server) currentSession(r *http.Request) (ps auth.PortalSession, ok bool, err error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return auth.PortalSession{}, false, nil
	}
	b, _ := businessOf(r)
	ps, err = s.auth.Session(r.Context(), b, c.Value)
	if errors.Is(err, auth.ErrNoSession) {
		return auth.PortalSession{}, false, nil
	}
	if err != nil {
		return auth.PortalSession{}, false, fmt.Errorf("session lookup: %w", err)
	}
	return ps, true, nil
}

func (s *Server) setSession(w http.ResponseWriter, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// page is the data every page starts from.
func (s *Server) page(r *http.Request) pages.Page {
	lang := langOf(r)
	p := pages.Page{Lang: lang, Status: http.StatusOK,
		LoginURL:   "/" + lang + "/user/login",
		ForgotURL:  "/" + lang + "/user/forgot",
		LogoutURL:  "/" + lang + "/user/logout",
		AccountURL: "/" + lang + "/user/account"}
	if b, ok := businessOf(r); ok {
		p.BusinessName = b.Name
	} else {
		p.BusinessName = "spaceauth"
	}
	return p
}

// errorPage is page for an answer given outside the tenant middleware (a
// 404 for an unknown path, a language that is not served): it is still
// branded with the business of the Host and in the path's language, or
// the business's, when there is one (issue #15.3).
func (s *Server) errorPage(r *http.Request) pages.Page {
	if _, ok := businessOf(r); ok {
		return s.page(r)
	}
	b, err := s.auth.BusinessForHost(r.Context(), r.Host)
	if err != nil {
		return s.page(r)
	}
	ctx := context.WithValue(r.Context(), keyBusiness, b)
	if _, ok := r.Context().Value(keyLang).(string); !ok {
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		lang, ok := i18n.Match(first)
		if !ok {
			lang, ok = i18n.Match(b.Language)
		}
		if ok {
			ctx = context.WithValue(ctx, keyLang, lang)
		}
	}
	return s.page(r.WithContext(ctx))
}

// renderTOTPStep asks for the authenticator code of a half-done sign-in.
func (s *Server) renderTOTPStep(w http.ResponseWriter, r *http.Request, status int, email, pending, msg, redirect string) {
	p := s.formPage(w, r, "login", redirect)
	p.TOTPStep, p.Email, p.Token, p.Message = true, email, pending, msg
	s.pages.Render(w, status, "login", p)
}

// finishTOTPStep checks the code of the TOTP step and opens the session.
func (s *Server) finishTOTPStep(w http.ResponseWriter, r *http.Request, f fields, email, pending, redirect string, c auth.Client) {
	b, _ := businessOf(r)
	code, _ := f.str("totp")
	cookie, ps, err := s.auth.PortalTwoFactorSignIn(r.Context(), b, email, pending, code, c)
	s.finishSignIn(w, r, cookie, ps, err, redirect, email)
}

// mustResetRedirect sends a user who must change their password to the
// new-password page with a fresh reset token.
func (s *Server) mustResetRedirect(w http.ResponseWriter, r *http.Request, err error) bool {
	var mr *auth.MustReset
	if !errors.As(err, &mr) {
		return false
	}
	http.Redirect(w, r, "/"+langOf(r)+"/user/newPassword?token="+url.QueryEscape(mr.Token), http.StatusFound)
	return true
}
