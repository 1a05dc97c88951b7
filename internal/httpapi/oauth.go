package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/store"
)

type oauthTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// invalidGrantDescription is Nexudus's description of a failed password
// grant (SPEC §5.8).
const invalidGrantDescription = "The email or password is incorrect."

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// handleOAuthToken is SPEC §5.1, the OAuth2 token endpoint: form-encoded
// only, password and refresh_token grants, RFC 6749 errors.
func (s *Server) handleOAuthToken(w http.ResponseWriter, r *http.Request) {
	lang := langOf(r)
	fail := func(status int, code, desc string) {
		writeJSON(w, status, oauthError{Error: code, Description: desc})
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "" && mt != "application/x-www-form-urlencoded" {
		fail(http.StatusBadRequest, "unsupported_grant_type", "the token endpoint takes application/x-www-form-urlencoded bodies only")
		return
	}
	f, err := decodeBody(w, r)
	if err != nil {
		var in *inputError
		if errors.As(err, &in) && in.status == http.StatusRequestEntityTooLarge {
			fail(http.StatusRequestEntityTooLarge, "invalid_request", s.cat.T(lang, "payload_too_large"))
			return
		}
		if errors.As(err, &in) && in.status == http.StatusUnsupportedMediaType {
			fail(http.StatusBadRequest, "unsupported_grant_type", "the token endpoint takes application/x-www-form-urlencoded bodies only")
			return
		}
		fail(http.StatusBadRequest, "invalid_request", s.cat.T(lang, "invalid_request"))
		return
	}
	fe := auth.FieldErrors{}
	grant := field(f, fe, "grant_type")
	clientID := field(f, fe, "client_id")
	if clientID == "" {
		clientID = strings.TrimSpace(r.Header.Get("client_id"))
	}
	if len(fe) > 0 {
		fail(http.StatusBadRequest, "invalid_request", s.cat.T(lang, "invalid_request"))
		return
	}
	var g auth.Grant
	switch grant {
	case "password":
		user, pw := field(f, fe, "username"), field(f, fe, "password")
		if len(fe) > 0 || user == "" || pw == "" {
			fail(http.StatusBadRequest, "invalid_request", "username and password are required")
			return
		}
		totp := field(f, fe, "totp")
		g, err = s.auth.PasswordGrant(r.Context(), user, pw, totp, clientID, s.client(r))
	case "refresh_token":
		rt := field(f, fe, "refresh_token")
		if len(fe) > 0 || rt == "" {
			fail(http.StatusBadRequest, "invalid_request", "refresh_token is required")
			return
		}
		g, err = s.auth.RefreshGrant(r.Context(), rt, clientID, s.client(r))
	case "":
		fail(http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	default:
		fail(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be password or refresh_token")
		return
	}
	var rl *auth.RateLimited
	var mr *auth.MustReset
	switch {
	case errors.Is(err, store.ErrUnavailable):
		s.log.ErrorContext(r.Context(), "storage unavailable", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(unavailableRetry/time.Second)))
		fail(http.StatusServiceUnavailable, "temporarily_unavailable", s.cat.T(lang, "service_unavailable"))
	case errors.As(err, &mr):
		// SPEC §5.1: the description carries a reset token, for
		// completePasswordReset.
		fail(http.StatusBadRequest, "must_reset_password", mr.Token)
	case err == nil:
		writeJSON(w, http.StatusOK, oauthTokenResponse{AccessToken: g.Access.Value, TokenType: "bearer",
			ExpiresIn: int64(g.Access.Claims.ExpiresAt.Sub(g.Access.Claims.IssuedAt) / time.Second), RefreshToken: g.Refresh})
	case errors.Is(err, auth.ErrBadCredentials):
		// The recorded Nexudus wording, verbatim: clients match on it.
		fail(http.StatusBadRequest, "invalid_grant", invalidGrantDescription)
	case errors.Is(err, auth.ErrTwoFactorNeeded), errors.Is(err, auth.ErrTwoFactorInvalid):
		// Nexudus sends the code alone; clients branch on it to ask for
		// the second factor (SPEC §5.8).
		fail(http.StatusBadRequest, "two_factor_auth_check", "")
	case errors.Is(err, auth.ErrInvalidGrant):
		fail(http.StatusBadRequest, "invalid_grant", "the refresh token is invalid, expired or revoked")
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((rl.RetryAfter+time.Second-1)/time.Second))))
		fail(http.StatusTooManyRequests, "temporarily_unavailable", s.cat.T(lang, "too_many_requests"))
	case errors.Is(err, auth.ErrBusy):
		w.Header().Set("Retry-After", "1")
		fail(http.StatusServiceUnavailable, "temporarily_unavailable", s.cat.T(lang, "service_unavailable"))
	default:
		s.log.ErrorContext(r.Context(), "token endpoint failed", "err", err)
		fail(http.StatusInternalServerError, "server_error", s.cat.T(lang, "internal_error"))
	}
}
