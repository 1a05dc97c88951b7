package httpapi

import (
	"errors"
	"net/http"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// handleResetRequest is SPEC §3.4: send a password-reset email. On a tenant
// host the business and language come from the request; on the system host
// there is neither.
func (s *Server) handleResetRequest(w http.ResponseWriter, r *http.Request) error {
	var email string
	if err := readInput(w, r, fromBodyAndQuery, func(in *input) { email = in.email() }); err != nil {
		return err
	}
	req := auth.ResetRequest{Email: email, Lang: langOf(r), Client: s.client(r)}
	if b, ok := businessOf(r); ok {
		req.Business = &b
	}
	if err := s.auth.RequestPasswordReset(r.Context(), req); err != nil {
		return err
	}
	return s.ok(w, r, nil, "reset_sent")
}

// handleNewPasswordForm shows the form the reset email links to.
func (s *Server) handleNewPasswordForm(w http.ResponseWriter, r *http.Request) error {
	b, _ := businessOf(r)
	raw := r.URL.Query().Get("token")
	if err := s.auth.CheckResetToken(r.Context(), b, raw); err != nil {
		return err
	}
	p := s.formPage(w, r, "newPassword", "")
	p.Token = raw
	s.pages.Render(w, http.StatusOK, "new_password", p)
	return nil
}

// handleNewPassword sets the new password.
func (s *Server) handleNewPassword(w http.ResponseWriter, r *http.Request, f fields) error {
	b, _ := businessOf(r)
	raw, _ := f.str("token")
	if raw == "" {
		raw = r.URL.Query().Get("token")
	}
	pw, _ := f.str("password")
	confirm, _ := f.str("confirm")
	err := s.auth.CompletePasswordReset(r.Context(), auth.PasswordReset{
		Business: b, Lang: langOf(r), Token: raw, Password: pw, Confirm: confirm, Client: s.client(r)})
	var verr auth.FieldErrors
	switch {
	case errors.As(err, &verr):
		p := s.formPage(w, r, "newPassword", "")
		p.Token = raw
		for _, keys := range verr {
			for _, k := range keys {
				p.Errors = append(p.Errors, s.cat.T(p.Lang, k))
			}
		}
		s.pages.Render(w, http.StatusBadRequest, "new_password", p)
	case err != nil:
		return err
	default:
		s.pages.Render(w, http.StatusOK, "new_password_done", s.page(r))
	}
	return nil
}
