package httpapi

import (
	"net/http"
	"strings"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// bearerOnly reads the bearer of the signed-in-user endpoints of §5.2.
func bearerOnly(r *http.Request) (string, error) {
	cred := callerCredentials(r)
	if cred.Bearer == "" || cred.Email != "" {
		return "", auth.ErrNoCredentials
	}
	return cred.Bearer, nil
}

// handleTOTPStart begins two-factor enrolment (SPEC §5.2).
func (s *Server) handleTOTPStart(w http.ResponseWriter, r *http.Request) error {
	if err := readInput(w, r, fromBody, nil); err != nil {
		return err
	}
	bearer, err := bearerOnly(r)
	if err != nil {
		return err
	}
	secret, uri, err := s.auth.StartTOTP(r.Context(), bearer)
	if err != nil {
		return err
	}
	return s.ok(w, r, map[string]string{"Secret": secret, "Uri": uri}, "ok")
}

// handleTOTPConfirm turns two-factor on with a first code.
func (s *Server) handleTOTPConfirm(w http.ResponseWriter, r *http.Request) error {
	var code string
	if err := readInput(w, r, fromBody, func(in *input) { code = in.required("code") }); err != nil {
		return err
	}
	bearer, err := bearerOnly(r)
	if err != nil {
		return err
	}
	codes, err := s.auth.ConfirmTOTP(r.Context(), bearer, code, s.client(r))
	if err != nil {
		return err
	}
	return s.ok(w, r, map[string][]string{"RecoveryCodes": codes}, "ok")
}

// handleTOTPDisable turns two-factor off, given a current or recovery code.
func (s *Server) handleTOTPDisable(w http.ResponseWriter, r *http.Request) error {
	var code string
	if err := readInput(w, r, fromBodyAndQuery, func(in *input) { code = strings.TrimSpace(in.text("code")) }); err != nil {
		return err
	}
	bearer, err := bearerOnly(r)
	if err != nil {
		return err
	}
	if err := s.auth.DisableTOTP(r.Context(), bearer, code, s.client(r)); err != nil {
		return err
	}
	return s.ok(w, r, nil, "ok")
}
