package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/httpapi/pages"
)

// handleSSOStart sends the browser to provider {id} of this business
// (SPEC §8), remembering redirectUrl when it passes the §3.3 rule.
func (s *Server) handleSSOStart(w http.ResponseWriter, r *http.Request) error {
	b, _ := businessOf(r)
	lang := langOf(r)
	redirect := r.URL.Query().Get("redirectUrl")
	if redirect != "" && safeRedirect(redirect, lang) != redirect {
		redirect = ""
	}
	authURL, binding, err := s.auth.BeginSSO(r.Context(), auth.SSOStart{Business: b, ProviderID: r.PathValue("id"),
		RedirectURL: redirect, Lang: lang, Client: s.client(r)})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: binding, Path: "/sso/", MaxAge: 600,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, authURL, http.StatusFound)
	return nil
}

// handleSSOCallback is the redirect URI registered at the providers: it
// finishes the flow and lands on the remembered redirectUrl like any
// sign-in. Every refusal looks the same to the browser.
func (s *Server) handleSSOCallback(w http.ResponseWriter, r *http.Request) error {
	b, _ := businessOf(r)
	q := r.URL.Query()
	var binding string
	if c, err := r.Cookie(ssoCookie); err == nil {
		binding = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/sso/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	res, err := s.auth.CompleteSSO(r.Context(), auth.SSOCallback{Business: b, State: q.Get("state"), Code: q.Get("code"),
		Error: q.Get("error"), Binding: binding, Client: s.client(r)})
	if errors.Is(err, auth.ErrSSOFailed) {
		// Back to the sign-in page, which says only that it failed.
		f := s.answer(w, r, onForm, err)
		s.renderLogin(w, r, f.http, s.cat.T(langOf(r), f.key), "")
		return nil
	}
	if err != nil {
		return err
	}
	s.setSession(w, res.Cookie, res.Session.Session.ExpiresAt)
	http.Redirect(w, r, safeRedirect(res.RedirectURL, res.Lang), http.StatusFound)
	return nil
}

// ssoButtons are the provider buttons of the sign-in page; each carries
// the page's redirectUrl on to the provider's return.
func (s *Server) ssoButtons(r *http.Request, lang, redirect string) []pages.SSOButton {
	b, ok := businessOf(r)
	if !ok {
		return nil
	}
	list, err := s.auth.SSOButtons(r.Context(), b)
	if err != nil {
		// The password form still works; the buttons come back with the database.
		s.log.ErrorContext(r.Context(), "identity providers unavailable", "err", err)
		return nil
	}
	var out []pages.SSOButton
	for _, p := range list {
		u := "/" + lang + "/user/sso/" + strconv.FormatInt(p.ID, 10)
		if redirect != "" && safeRedirect(redirect, lang) == redirect {
			u += "?redirectUrl=" + url.QueryEscape(redirect)
		}
		out = append(out, pages.SSOButton{Name: p.Name, URL: u})
	}
	return out
}
