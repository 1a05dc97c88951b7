package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
)

const csrfCookie = "spaceauth_csrf"

// csrfToken returns the request's CSRF token, setting the cookie when it is
// new. Forms carry it in a hidden field; checkCSRF compares the two
// (double-submit). On top of it every form POST passes Go's
// CrossOriginProtection, which refuses cross-site browser requests outright.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	var b [32]byte
	rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	return v
}

func (s *Server) checkCSRF(r *http.Request, f fields) bool {
	got, _ := f.str("csrf")
	return s.checkCSRFValue(r, got)
}

// checkCSRFValue compares a form's csrf value with the cookie (the console
// parses its own forms, multipart uploads included).
func (s *Server) checkCSRFValue(r *http.Request, got string) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) != 43 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}

// form decodes a page's form POST and checks its CSRF token, answering the
// failure itself (ok false) so that handlers start from valid fields.
func (s *Server) form(w http.ResponseWriter, r *http.Request) (fields, bool) {
	f, err := decodeBody(w, r)
	if err != nil {
		s.failPage(w, r, err)
		return nil, false
	}
	if !s.checkCSRF(r, f) {
		s.failPage(w, r, errCSRF)
		return nil, false
	}
	return f, true
}
