package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
)

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

// form decodes a page's form POST and checks its CSRF token, so that
// handlers start from valid fields.
func (s *Server) form(w http.ResponseWriter, r *http.Request) (fields, error) {
	f, err := decodeBody(w, r)
	if err != nil {
		return nil, err
	}
	if !s.checkCSRF(r, f) {
		return nil, errCSRF
	}
	return f, nil
}

// formPost is a portal form's route: fn sees the form's fields only after
// the body decoded and its CSRF token checked; failures are pages.
func (s *Server) formPost(fn func(w http.ResponseWriter, r *http.Request, f fields) error) http.Handler {
	return s.html(func(w http.ResponseWriter, r *http.Request) error {
		f, err := s.form(w, r)
		if err != nil {
			return err
		}
		return fn(w, r, f)
	})
}
