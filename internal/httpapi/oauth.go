package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
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

// grantRefusal is a token request refused before any credential is
// checked, with its RFC 6749 code and description.
type grantRefusal struct{ code, desc string }

func (e *grantRefusal) Error() string { return "oauth: " + e.code + ": " + e.desc }

const formOnly = "the token endpoint takes application/x-www-form-urlencoded bodies only"

// handleOAuthToken is SPEC §5.1, the OAuth2 token endpoint: form-encoded
// only, password and refresh_token grants, RFC 6749 errors (failOAuth).
func (s *Server) handleOAuthToken(w http.ResponseWriter, r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "" && mt != "application/x-www-form-urlencoded" {
		return &grantRefusal{"unsupported_grant_type", formOnly}
	}
	f, err := decodeBody(w, r)
	if err != nil {
		return err
	}
	in := newInput(f)
	grant := in.text("grant_type")
	clientID := in.text("client_id")
	if clientID == "" {
		clientID = strings.TrimSpace(r.Header.Get("client_id"))
	}
	if err := in.err(); err != nil {
		return err
	}
	var g auth.Grant
	switch grant {
	case "password":
		user, pw := in.text("username"), in.text("password")
		if in.err() != nil || user == "" || pw == "" {
			return &grantRefusal{"invalid_request", "username and password are required"}
		}
		totp := in.text("totp")
		g, err = s.auth.PasswordGrant(r.Context(), user, pw, totp, clientID, s.client(r))
	case "refresh_token":
		rt := in.text("refresh_token")
		if in.err() != nil || rt == "" {
			return &grantRefusal{"invalid_request", "refresh_token is required"}
		}
		g, err = s.auth.RefreshGrant(r.Context(), rt, clientID, s.client(r))
	case "":
		return &grantRefusal{"invalid_request", "grant_type is required"}
	default:
		return &grantRefusal{"unsupported_grant_type", "grant_type must be password or refresh_token"}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, oauthTokenResponse{AccessToken: g.Access.Value, TokenType: "bearer",
		ExpiresIn: int64(g.Access.Claims.ExpiresAt.Sub(g.Access.Claims.IssuedAt) / time.Second), RefreshToken: g.Refresh})
	return nil
}

// failOAuth renders classify's answer in RFC 6749's shape: a second
// renderer of the one classification, not a second table.
func (s *Server) failOAuth(w http.ResponseWriter, r *http.Request, err error) {
	lang := langOf(r)
	f := s.answer(w, r, onOAuth, err)
	status, code, desc := http.StatusBadRequest, "invalid_request", s.cat.T(lang, "invalid_request")
	var gr *grantRefusal
	var mr *auth.MustReset
	switch {
	case errors.As(err, &gr):
		code, desc = gr.code, gr.desc
	case f.key == "unsupported_media_type":
		code, desc = "unsupported_grant_type", formOnly
	case f.key == "payload_too_large":
		status, desc = f.http, s.cat.T(lang, f.key)
	case f.key == "must_reset_password":
		// SPEC §5.1: the description carries a reset token, for
		// completePasswordReset.
		code, desc = "must_reset_password", ""
		if errors.As(err, &mr) {
			desc = mr.Token
		}
	case f.key == "invalid_credentials":
		// The recorded Nexudus wording, verbatim: clients match on it.
		code, desc = "invalid_grant", invalidGrantDescription
	case f.key == "two_factor_required" || f.key == "two_factor_invalid":
		// Nexudus sends the code alone; clients branch on it to ask for
		// the second factor (SPEC §5.8).
		code, desc = "two_factor_auth_check", ""
	case f.key == "invalid_grant":
		code, desc = "invalid_grant", "the refresh token is invalid, expired or revoked"
	case f.http == http.StatusTooManyRequests || f.http == http.StatusServiceUnavailable:
		status, code, desc = f.http, "temporarily_unavailable", s.cat.T(lang, f.key)
	case f.http != http.StatusBadRequest:
		// Nothing else is expected of a grant: a server fault.
		status, code, desc = http.StatusInternalServerError, "server_error", s.cat.T(lang, "internal_error")
	}
	writeJSON(w, status, oauthError{Error: code, Description: desc})
}
