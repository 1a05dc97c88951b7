package httpapi

import (
	"net/http"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// handleSendCode is SPEC §5.5: email a sign-in code and a magic link. The
// answer is the same whether or not the email has an account.
func (s *Server) handleSendCode(w http.ResponseWriter, r *http.Request) error {
	f, fe, err := readInput(w, r, fromBodyAndQuery)
	if err != nil {
		return err
	}
	email := emailField(f, fe)
	bid := businessIDField(f, fe)
	if err := fieldErrs(fe); err != nil {
		return err
	}
	err = s.auth.SendSignInCode(r.Context(), auth.SignInCodeRequest{Email: email, BusinessID: bid, Lang: langOf(r), Client: s.client(r)})
	if err != nil {
		return err
	}
	return s.ok(w, r, nil, "otp_sent")
}

// handleVerifyCode turns an emailed code into a short-lived access token.
func (s *Server) handleVerifyCode(w http.ResponseWriter, r *http.Request) error {
	f, fe, err := readInput(w, r, fromBody)
	if err != nil {
		return err
	}
	email := requiredField(f, fe, "email")
	code := requiredField(f, fe, "code")
	if err := fieldErrs(fe); err != nil {
		return err
	}
	tok, err := s.auth.VerifySignInCode(r.Context(), email, code, s.client(r))
	if err != nil {
		return err
	}
	return s.ok(w, r, tok.Value, "ok")
}
