package httpapi

import (
	"errors"
	"net/http"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// apiToken reads the token field and the caller of §5.7's endpoints.
func (s *Server) apiToken(w http.ResponseWriter, r *http.Request) (auth.Credentials, string, bool) {
	f, err := decodeBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return auth.Credentials{}, "", false
	}
	fe := auth.FieldErrors{}
	raw := requiredField(f, fe, "token")
	if len(fe) > 0 {
		s.fail(w, r, fe)
		return auth.Credentials{}, "", false
	}
	cred := callerCredentials(r)
	if cred == (auth.Credentials{}) {
		s.fail(w, r, auth.ErrNoCredentials)
		return auth.Credentials{}, "", false
	}
	return cred, raw, true
}

// apiFail answers a caller failure on the endpoints outside the seed's
// token endpoints: bad credentials are a 401 there, not HTTP 200/Status 500.
// A right password of a two-factor account is no credential there either
// (Basic carries no code), so it is refused the same way.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, auth.ErrBadCredentials) || errors.Is(err, auth.ErrTwoFactorNeeded) {
		err = auth.ErrNoCredentials
	}
	if errors.Is(err, auth.ErrMustReset) {
		// SPEC §6: a user who must reset may do nothing else; say why.
		s.failWith(w, r, auth.ErrForbidden, "must_reset_password")
		return
	}
	s.fail(w, r, err)
}

// handleIntrospect is RFC 7662 for resource servers (SPEC §5.7).
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	cred, raw, ok := s.apiToken(w, r)
	if !ok {
		return
	}
	in, err := s.auth.Introspect(r.Context(), cred, raw, s.client(r))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if !in.Active {
		writeJSON(w, http.StatusOK, map[string]bool{"active": false})
		return
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
}

// handleRevoke is RFC 7009 (SPEC §5.7): 200 whether or not there was
// anything to revoke.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	cred, raw, ok := s.apiToken(w, r)
	if !ok {
		return
	}
	if err := s.auth.Revoke(r.Context(), cred, raw, s.client(r)); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
