package httpapi

import (
	"errors"
	"net/http"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// handleSendCode is SPEC §5.5: email a sign-in code and a magic link. The
// answer is the same whether or not the email has an account.
func (s *Server) handleSendCode(w http.ResponseWriter, r *http.Request) {
	f, err := decodeBody(w, r)
	if err == nil {
		f, err = f.withQuery(r.URL.Query())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fe := auth.FieldErrors{}
	email := emailField(f, fe)
	bid := businessIDField(f, fe)
	if len(fe) > 0 {
		s.fail(w, r, fe)
		return
	}
	err = s.auth.SendSignInCode(r.Context(), auth.SignInCodeRequest{Email: email, BusinessID: bid, Lang: langOf(r), Client: s.client(r)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, nil, "otp_sent")
}

// handleVerifyCode turns an emailed code into a short-lived access token.
func (s *Server) handleVerifyCode(w http.ResponseWriter, r *http.Request) {
	f, err := decodeBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fe := auth.FieldErrors{}
	email := requiredField(f, fe, "email")
	code := requiredField(f, fe, "code")
	if len(fe) > 0 {
		s.fail(w, r, fe)
		return
	}
	tok, err := s.auth.VerifySignInCode(r.Context(), email, code, s.client(r))
	// A user who must reset gets no more from a code than a wrong code
	// gets (SPEC §6: only the reset itself is open to them).
	if errors.Is(err, auth.ErrCodeInvalid) || errors.Is(err, auth.ErrMustReset) {
		writeJSON(w, http.StatusUnauthorized, envelope{Status: 401, Message: s.cat.T(langOf(r), "otp_invalid")})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, tok.Value, "ok")
}
