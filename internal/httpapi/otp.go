package httpapi

import (
	"net/http"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// handleSendCode is SPEC §5.5: email a sign-in code and a magic link. The
// answer is the same whether or not the email has an account.
func (s *Server) handleSendCode(w http.ResponseWriter, r *http.Request) error {
	var email string
	var bid int64
	if err := readInput(w, r, fromBodyAndQuery, func(in *input) { email, bid = in.email(), in.businessID() }); err != nil {
		return err
	}
	req := auth.SignInCodeRequest{Email: email, BusinessID: bid, Lang: langOf(r), Client: s.client(r)}
	if err := s.auth.SendSignInCode(r.Context(), req); err != nil {
		return err
	}
	return s.ok(w, r, nil, "otp_sent")
}

// handleVerifyCode turns an emailed code into a short-lived access token.
func (s *Server) handleVerifyCode(w http.ResponseWriter, r *http.Request) error {
	var email, code string
	if err := readInput(w, r, fromBody, func(in *input) { email, code = in.required("email"), in.required("code") }); err != nil {
		return err
	}
	tok, err := s.auth.VerifySignInCode(r.Context(), email, code, s.client(r))
	if err != nil {
		return err
	}
	return s.ok(w, r, tok.Value, "ok")
}
