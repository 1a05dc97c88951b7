package httpapi

import (
	"net/http"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
)

type exchangeResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// handleExchange is SPEC §5.3: a one-time token becomes the §5.1 pair.
func (s *Server) handleExchange(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodHead {
		// GET is served for the portal (SPEC §5.8), but a HEAD would spend
		// the one-time token and show nobody the pair.
		w.Header().Set("Allow", "GET, POST")
		return errMethodNotAllowed
	}
	var raw string
	var minutes int64
	if err := readInput(w, r, fromBodyAndQuery, func(in *input) {
		raw, minutes = in.required("token"), in.minutes("validForInMinutes")
	}); err != nil {
		return err
	}
	g, err := s.auth.Exchange(r.Context(), raw, s.auth.Validity(minutes), s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, exchangeResponse{Token: g.Access.Value, AccessToken: g.Access.Value, TokenType: "bearer",
		ExpiresIn: int64(g.Access.Claims.ExpiresAt.Sub(g.Access.Claims.IssuedAt) / time.Second), RefreshToken: g.Refresh})
	return nil
}

// handleLinkToken is SPEC §5.3's /api/sys/users/token/refresh (GET or POST): the
// bearer gets a short-lived one-time token for a ?t= link.
func (s *Server) handleLinkToken(w http.ResponseWriter, r *http.Request) error {
	cred := callerCredentials(r)
	if cred.Bearer == "" {
		return auth.ErrNoCredentials
	}
	tok, err := s.auth.LinkToken(r.Context(), cred.Bearer)
	if err != nil {
		return err
	}
	return s.ok(w, r, tok.Value, "ok")
}

// handleStartReset is SPEC §5.4's start: the same answer for every email.
func (s *Server) handleStartReset(w http.ResponseWriter, r *http.Request) error {
	var email string
	var bid int64
	if err := readInput(w, r, fromBody, func(in *input) { email, bid = in.email(), in.businessID() }); err != nil {
		return err
	}
	if err := s.auth.StartPasswordReset(r.Context(), email, bid, langOf(r), s.client(r)); err != nil {
		return err
	}
	return s.ok(w, r, nil, "reset_sent")
}

// handleCompleteReset is SPEC §5.4's completion: a new password from a
// reset token; the answer carries a one-time token for the exchange.
func (s *Server) handleCompleteReset(w http.ResponseWriter, r *http.Request) error {
	var raw, pw string
	var bid int64
	if err := readInput(w, r, fromBody, func(in *input) {
		raw, pw, bid = in.required("token"), in.given("password"), in.businessID()
	}); err != nil {
		return err
	}
	tok, err := s.auth.CompletePasswordResetForToken(r.Context(), raw, pw, bid, langOf(r), s.client(r))
	if err != nil {
		return err
	}
	return s.ok(w, r, tok.Value, "ok")
}
