package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// passkeyPageCSP is the policy of the pages with a passkey form (the
// sign-in and account pages): the global one plus the service's own
// scripts (passkey.js) and fetches to the same origin. Nothing inline runs.
const passkeyPageCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// passkeyInput is the body of a ceremony's second half: JSON or a form,
// keys matched case-insensitively; credential is the PublicKeyCredential
// as JSON (an object, or a string holding one, as a form carries it).
type passkeyInput struct {
	Handle, Name, CSRF string
	Credential         []byte
}

func readPasskeyInput(w http.ResponseWriter, r *http.Request) (passkeyInput, error) {
	var in passkeyInput
	body, err := readBody(w, r)
	if err != nil {
		return in, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return in, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return in, &inputError{status: http.StatusBadRequest, key: "invalid_request"}
		}
		for k, v := range m {
			key := strings.ToLower(k)
			if key == "credential" && len(v) > 0 && v[0] == '{' {
				in.Credential = v
				continue
			}
			var str string
			if err := json.Unmarshal(v, &str); err != nil {
				return in, &inputError{status: http.StatusBadRequest, field: k, key: "wrong_type"}
			}
			in.set(key, str)
		}
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return in, &inputError{status: http.StatusBadRequest, key: "invalid_request"}
		}
		for k, vs := range q {
			if len(vs) > 0 {
				in.set(strings.ToLower(k), vs[0])
			}
		}
	default:
		return in, &inputError{status: http.StatusUnsupportedMediaType, key: "unsupported_media_type"}
	}
	return in, nil
}

func (in *passkeyInput) set(key, v string) {
	switch key {
	case "handle":
		in.Handle = v
	case "name":
		in.Name = v
	case "csrf":
		in.CSRF = v
	case "credential":
		in.Credential = []byte(v)
	}
}

// readPasskeyForm is readPasskeyInput for the pages' ceremonies, whose
// bodies carry the page's CSRF token: a wrong one is errCSRF.
func (s *Server) readPasskeyForm(w http.ResponseWriter, r *http.Request) (passkeyInput, error) {
	in, err := readPasskeyInput(w, r)
	if err != nil {
		return passkeyInput{}, err
	}
	if !s.checkCSRF(r, fields{"csrf": {text: in.CSRF, kind: kindString}}) {
		return passkeyInput{}, errCSRF
	}
	return in, nil
}

// ceremonyResponse is the answer to a ceremony's first half.
type ceremonyResponse struct {
	Handle    string          `json:"handle"`
	ExpiresAt time.Time       `json:"expiresAt"`
	Options   json.RawMessage `json:"options"`
}

// writeCeremony answers a JSON ceremony's first half (or its error).
func writeCeremony(w http.ResponseWriter, cer auth.PasskeyCeremony, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ceremonyResponse{Handle: cer.Handle, ExpiresAt: cer.ExpiresAt, Options: cer.Options})
	return nil
}

type passkeyView struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
}

func viewPasskey(p auth.Passkey) passkeyView {
	v := passkeyView{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt}
	if !p.LastUsedAt.IsZero() {
		v.LastUsedAt = &p.LastUsedAt
	}
	return v
}

// handlePasskeySignInBegin is the JSON API's first half of a passkey
// sign-in: options for navigator.credentials.get and the handle to return.
func (s *Server) handlePasskeySignInBegin(w http.ResponseWriter, r *http.Request) error {
	if _, err := readPasskeyInput(w, r); err != nil {
		return err
	}
	b, _ := businessOf(r)
	cer, err := s.auth.BeginPasskeySignIn(r.Context(), b)
	return writeCeremony(w, cer, err)
}

// handlePasskeySignInFinish checks the assertion and answers a one-time
// token for §5.3's exchange (or a §3.3 link), like a verified code.
func (s *Server) handlePasskeySignInFinish(w http.ResponseWriter, r *http.Request) error {
	in, err := readPasskeyInput(w, r)
	if err != nil {
		return err
	}
	if fe := requirePasskeyFields(in, false); len(fe) > 0 {
		return fe
	}
	b, _ := businessOf(r)
	tok, err := s.auth.PasskeySignInToken(r.Context(), b, in.Handle, in.Credential, s.client(r))
	var mr *auth.MustReset
	if errors.As(err, &mr) {
		err = auth.ErrMustReset
	}
	if err != nil {
		return err
	}
	return s.ok(w, r, tok.Value, "ok")
}

func requirePasskeyFields(in passkeyInput, skipHandle bool) auth.FieldErrors {
	fe := auth.FieldErrors{}
	if in.Handle == "" && !skipHandle {
		fe.Add("handle", "field_required")
	}
	if len(in.Credential) == 0 {
		fe.Add("credential", "field_required")
	}
	return fe
}

// passkeyOwner is the bearer's user for the passkey-managing API calls
// (routed on the caller's surface: the bearer is the caller's own).
func (s *Server) passkeyOwner(r *http.Request) (auth.User, error) {
	bearer, err := bearerOnly(r)
	if err != nil {
		return auth.User{}, err
	}
	u, err := s.auth.PasskeyOwner(r.Context(), bearer)
	if err != nil {
		return auth.User{}, fmt.Errorf("passkey owner: %w", err)
	}
	return u, nil
}

// handlePasskeyRegisterBegin starts adding a passkey for the bearer.
func (s *Server) handlePasskeyRegisterBegin(w http.ResponseWriter, r *http.Request) error {
	if _, err := readPasskeyInput(w, r); err != nil {
		return err
	}
	u, err := s.passkeyOwner(r)
	if err != nil {
		return err
	}
	b, _ := businessOf(r)
	cer, err := s.auth.BeginPasskeyRegistration(r.Context(), u, b)
	return writeCeremony(w, cer, err)
}

// handlePasskeyRegisterFinish stores the bearer's new passkey.
func (s *Server) handlePasskeyRegisterFinish(w http.ResponseWriter, r *http.Request) error {
	in, err := readPasskeyInput(w, r)
	if err != nil {
		return err
	}
	u, err := s.passkeyOwner(r)
	if err != nil {
		return err
	}
	if fe := requirePasskeyFields(in, false); len(fe) > 0 {
		return fe
	}
	b, _ := businessOf(r)
	p, err := s.auth.FinishPasskeyRegistration(r.Context(), u, b, in.Handle, in.Name, in.Credential, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewPasskey(p))
	return nil
}

// handlePasskeyList lists the bearer's passkeys at this host.
func (s *Server) handlePasskeyList(w http.ResponseWriter, r *http.Request) error {
	u, err := s.passkeyOwner(r)
	if err != nil {
		return err
	}
	b, _ := businessOf(r)
	list, err := s.auth.Passkeys(r.Context(), u, b)
	if err != nil {
		return err
	}
	out := make([]passkeyView, 0, len(list))
	for _, p := range list {
		out = append(out, viewPasskey(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handlePasskeyRename renames one of the bearer's passkeys.
func (s *Server) handlePasskeyRename(w http.ResponseWriter, r *http.Request) error {
	in, err := readPasskeyInput(w, r)
	if err != nil {
		return err
	}
	u, b, id, err := s.ownedPasskey(r)
	if err != nil {
		return err
	}
	if err := s.auth.RenamePasskey(r.Context(), u, b, id, in.Name, s.client(r)); err != nil {
		return err
	}
	return s.ok(w, r, nil, "ok")
}

// handlePasskeyDelete removes one of the bearer's passkeys.
func (s *Server) handlePasskeyDelete(w http.ResponseWriter, r *http.Request) error {
	u, b, id, err := s.ownedPasskey(r)
	if err != nil {
		return err
	}
	if err := s.auth.RemovePasskey(r.Context(), u, b, id, s.client(r)); err != nil {
		return err
	}
	return s.ok(w, r, nil, "ok")
}

// ownedPasskey is the bearer's user, the host's business and the passkey id
// of a call about one of the bearer's passkeys (a malformed id is
// ErrNotFound).
func (s *Server) ownedPasskey(r *http.Request) (auth.User, auth.Business, int64, error) {
	u, err := s.passkeyOwner(r)
	if err != nil {
		return auth.User{}, auth.Business{}, 0, err
	}
	id, ok := passkeyID(r)
	if !ok {
		return auth.User{}, auth.Business{}, 0, auth.ErrNotFound
	}
	b, _ := businessOf(r)
	return u, b, id, nil
}

func passkeyID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// setCeremony remembers the ceremony this browser began.
func (s *Server) setCeremony(w http.ResponseWriter, handle string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: webauthnCookie, Value: handle, Path: "/", Expires: expires,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
}

// sendCeremony answers a page's ceremony's first half (or its error): the
// options for passkey.js, the handle in a cookie.
func (s *Server) sendCeremony(w http.ResponseWriter, cer auth.PasskeyCeremony, err error) error {
	if err != nil {
		return err
	}
	s.setCeremony(w, cer.Handle, cer.ExpiresAt)
	writeJSON(w, http.StatusOK, cer.Options)
	return nil
}

// takeCeremonyCookie returns this browser's ceremony handle and forgets it.
func (s *Server) takeCeremonyCookie(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(webauthnCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: webauthnCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	return c.Value
}

// handlePortalPasskeyBegin is the sign-in page's first half (fetched by
// passkey.js): the options, with the handle in a cookie.
func (s *Server) handlePortalPasskeyBegin(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.readPasskeyForm(w, r); err != nil {
		return err
	}
	b, _ := businessOf(r)
	cer, err := s.auth.BeginPasskeySignIn(r.Context(), b)
	return s.sendCeremony(w, cer, err)
}

// handlePortalPasskeySignIn is the sign-in page's second half: a form
// carrying the assertion; success opens a portal session like a password.
func (s *Server) handlePortalPasskeySignIn(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readPasskeyForm(w, r)
	if err != nil {
		return err
	}
	redirect := r.URL.Query().Get("redirectUrl")
	lang := langOf(r)
	b, _ := businessOf(r)
	handle := s.takeCeremonyCookie(w, r)
	cookie, ps, err := s.auth.PortalPasskeySignIn(r.Context(), b, handle, in.Credential, s.client(r))
	if s.mustResetRedirect(w, r, err) {
		return nil
	}
	if err != nil {
		// The sign-in page again, with classify's answer as a page's.
		f := s.answer(w, r, onPage, err)
		s.renderLogin(w, r, f.http, s.cat.T(lang, f.key), redirect)
		return nil
	}
	s.setSession(w, cookie, ps.Session.ExpiresAt)
	http.Redirect(w, r, safeRedirect(redirect, lang), http.StatusFound)
	return nil
}

// accountSession is the signed-in session of an account-page action. ok
// is false when there is none: a JSON client or a ceremony's first half
// gets ErrNoSession, a page is sent to sign in (and err is nil, the answer
// written). Storage trouble is returned as such, never as no session.
func (s *Server) accountSession(w http.ResponseWriter, r *http.Request) (ps auth.PortalSession, ok bool, err error) {
	ps, ok, err = s.currentSession(r)
	if err != nil {
		return auth.PortalSession{}, false, err
	}
	if ok {
		return ps, true, nil
	}
	if wantsJSON(r) || strings.HasSuffix(r.URL.Path, "/begin") {
		return auth.PortalSession{}, false, auth.ErrNoSession
	}
	lang := langOf(r)
	http.Redirect(w, r, "/"+lang+"/user/login?redirectUrl="+url.QueryEscape("/"+lang+"/user/account"), http.StatusFound)
	return auth.PortalSession{}, false, nil
}

// credentialSession is accountSession for the actions that add or remove
// a lasting credential (a passkey, TOTP, recovery codes): a session opened
// from an impersonation link is refused them (403, audited).
func (s *Server) credentialSession(w http.ResponseWriter, r *http.Request, action string) (auth.PortalSession, bool, error) {
	ps, ok, err := s.accountSession(w, r)
	if !ok {
		return ps, false, err
	}
	if err := s.auth.RefuseImpersonated(r.Context(), ps, action, s.client(r)); err != nil {
		return auth.PortalSession{}, false, err
	}
	return ps, true, nil
}

// handleAccountPasskeyBegin starts adding a passkey from the account page.
func (s *Server) handleAccountPasskeyBegin(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.readPasskeyForm(w, r); err != nil {
		return err
	}
	ps, ok, err := s.credentialSession(w, r, auth.ActionPasskeyRegister)
	if !ok {
		return err
	}
	b, _ := businessOf(r)
	cer, err := s.auth.BeginPasskeyRegistration(r.Context(), ps.User, b)
	return s.sendCeremony(w, cer, err)
}

// accountDone goes back to the account page with a notice.
func accountDone(w http.ResponseWriter, r *http.Request, notice string) {
	http.Redirect(w, r, "/"+langOf(r)+"/user/account?done="+notice, http.StatusSeeOther)
}

// handleAccountPasskeyAdd stores the passkey the account page registered.
func (s *Server) handleAccountPasskeyAdd(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readPasskeyForm(w, r)
	if err != nil {
		return err
	}
	ps, ok, err := s.credentialSession(w, r, auth.ActionPasskeyRegister)
	if !ok {
		return err
	}
	b, _ := businessOf(r)
	handle := s.takeCeremonyCookie(w, r)
	if _, err := s.auth.FinishPasskeyRegistration(r.Context(), ps.User, b, handle, in.Name, in.Credential, s.client(r)); err != nil {
		return s.accountError(w, r, err)
	}
	accountDone(w, r, "passkey_added")
	return nil
}

// handleAccountPasskeyRename and handleAccountPasskeyRemove manage one
// passkey from the account page.
func (s *Server) handleAccountPasskeyRename(w http.ResponseWriter, r *http.Request, f fields) error {
	return s.accountPasskeyChange(w, r, f, func(ps auth.PortalSession, b auth.Business, id int64, f fields) error {
		name, err := f.str("name")
		if err != nil {
			return auth.FieldErrors{"name": {"invalid_text"}}
		}
		return s.auth.RenamePasskey(r.Context(), ps.User, b, id, name, s.client(r))
	}, "passkey_renamed")
}

func (s *Server) handleAccountPasskeyRemove(w http.ResponseWriter, r *http.Request, f fields) error {
	return s.accountPasskeyChange(w, r, f, func(ps auth.PortalSession, b auth.Business, id int64, _ fields) error {
		return s.auth.RemovePasskey(r.Context(), ps.User, b, id, s.client(r))
	}, "passkey_removed")
}

func (s *Server) accountPasskeyChange(w http.ResponseWriter, r *http.Request, f fields, change func(auth.PortalSession, auth.Business, int64, fields) error, notice string) error {
	ps, ok, err := s.accountSession(w, r)
	if !ok {
		return err
	}
	id, ok := passkeyID(r)
	if !ok {
		return auth.ErrNotFound
	}
	b, _ := businessOf(r)
	if err := change(ps, b, id, f); err != nil {
		return s.accountError(w, r, err)
	}
	accountDone(w, r, notice)
	return nil
}
