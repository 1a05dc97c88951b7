package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// bearerOnly reads the bearer of the signed-in-user endpoints of §5.2.
func (s *Server) bearerOnly(w http.ResponseWriter, r *http.Request) (string, bool) {
	cred := callerCredentials(r)
	if cred.Bearer == "" || cred.Email != "" {
		s.fail(w, r, auth.ErrNoCredentials)
		return "", false
	}
	return cred.Bearer, true
}

// totpFail maps the refusals of the enrolment endpoints.
func (s *Server) totpFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, auth.ErrTOTPEnabled):
		writeJSON(w, http.StatusConflict, envelope{Status: 409, Message: s.cat.T(langOf(r), "invalid_request")})
	default:
		s.apiFail(w, r, err)
	}
}

// handleTOTPStart begins two-factor enrolment (SPEC §5.2).
func (s *Server) handleTOTPStart(w http.ResponseWriter, r *http.Request) {
	if _, err := decodeBody(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	bearer, ok := s.bearerOnly(w, r)
	if !ok {
		return
	}
	secret, uri, err := s.auth.StartTOTP(r.Context(), bearer)
	if err != nil {
		s.totpFail(w, r, err)
		return
	}
	s.ok(w, r, map[string]string{"Secret": secret, "Uri": uri}, "ok")
}

// handleTOTPConfirm turns two-factor on with a first code.
func (s *Server) handleTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	f, err := decodeBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fe := auth.FieldErrors{}
	code := requiredField(f, fe, "code")
	if len(fe) > 0 {
		s.fail(w, r, fe)
		return
	}
	bearer, ok := s.bearerOnly(w, r)
	if !ok {
		return
	}
	codes, err := s.auth.ConfirmTOTP(r.Context(), bearer, code, s.client(r))
	if err != nil {
		s.totpFail(w, r, err)
		return
	}
	s.ok(w, r, map[string][]string{"RecoveryCodes": codes}, "ok")
}

// handleTOTPDisable turns two-factor off, given a current or recovery code.
func (s *Server) handleTOTPDisable(w http.ResponseWriter, r *http.Request) {
	f, err := decodeBody(w, r)
	if err == nil {
		f, err = f.withQuery(r.URL.Query())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fe := auth.FieldErrors{}
	code := strings.TrimSpace(field(f, fe, "code"))
	if len(fe) > 0 {
		s.fail(w, r, fe)
		return
	}
	bearer, ok := s.bearerOnly(w, r)
	if !ok {
		return
	}
	if err := s.auth.DisableTOTP(r.Context(), bearer, code, s.client(r)); err != nil {
		s.totpFail(w, r, err)
		return
	}
	s.ok(w, r, nil, "ok")
}
