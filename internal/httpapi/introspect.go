package httpapi

import (
	"net/http"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// apiToken reads the token field and the caller of §5.7's endpoints.
func (s *Server) apiToken(w http.ResponseWriter, r *http.Request) (auth.Credentials, string, error) {
	var raw string
	if err := readInput(w, r, fromBody, func(in *input) { raw = in.required("token") }); err != nil {
		return auth.Credentials{}, "", err
	}
	cred := callerCredentials(r)
	if cred == (auth.Credentials{}) {
		return auth.Credentials{}, "", auth.ErrNoCredentials
	}
	return cred, raw, nil
}

// handleIntrospect is RFC 7662 for resource servers (SPEC §5.7).
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) error {
	cred, raw, err := s.apiToken(w, r)
	if err != nil {
		return err
	}
	in, err := s.auth.Introspect(r.Context(), cred, raw, s.client(r))
	if err != nil {
		return err
	}
	if !in.Active {
		writeJSON(w, http.StatusOK, map[string]bool{"active": false})
		return nil
	}
	c := in.Claims
	out := map[string]any{"active": true, "token_type": in.TokenType, "sub": c.Subject, "exp": c.ExpiresAt.Unix(),
		"iat": c.IssuedAt.Unix(), "username": c.Email, "email": c.Email, "name": c.Name}
	if in.TokenType == "access_token" {
		out["iss"], out["jti"], out["nbf"], out["bid"] = c.Issuer, c.ID, c.NotBefore.Unix(), c.BusinessID
	} else {
		out["client_id"] = in.ClientID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleRevoke is RFC 7009 (SPEC §5.7): 200 whether or not there was
// anything to revoke.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) error {
	cred, raw, err := s.apiToken(w, r)
	if err != nil {
		return err
	}
	if err := s.auth.Revoke(r.Context(), cred, raw, s.client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
