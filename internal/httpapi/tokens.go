package httpapi

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// handleSignIn is SPEC §3.1: a token from email and password.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) error {
	var in auth.PasswordSignIn
	var minutes int64
	if err := readInput(w, r, fromBody, func(f *input) {
		in = passwordSignIn(f)
		minutes = f.minutes("validityInMinutes")
	}); err != nil {
		return err
	}
	in.Validity, in.Client = s.auth.Validity(minutes), s.client(r)
	tok, err := s.auth.SignInWithPassword(r.Context(), in)
	if err != nil {
		return err
	}
	return s.ok(w, r, tok.Value, "ok")
}

// passwordSignIn reads §3.1's email, password and optional code.
func passwordSignIn(in *input) auth.PasswordSignIn {
	return auth.PasswordSignIn{Email: in.given("email"), Password: in.given("password"), TOTP: in.text("totp")}
}

// handleImpersonate is SPEC §3.2: a token for user {id}, asked by an API user.
func (s *Server) handleImpersonate(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeBody(w, r)
	_, top := f["validityinminutes"]
	_, nested := f["auth.validityinminutes"]
	if err == nil && (top || !nested) {
		// Only the validity may come from the URL: caller credentials in a
		// query string would end up in access logs. §3.2 ranks the body's
		// auth.validityInMinutes above the query.
		f, err = f.withQuery(r.URL.Query(), "validityInMinutes")
	}
	if err != nil {
		return err
	}
	in := newInput(f)
	var minutes int64
	for _, name := range []string{"validityInMinutes", "auth.validityInMinutes"} {
		if in.has(name) && minutes == 0 {
			minutes = in.minutes(name)
		}
	}
	cred := callerCredentials(r)
	if cred == (auth.Credentials{}) {
		cred.Email, cred.Password = in.text("email"), in.text("password")
	}
	if err := in.err(); err != nil {
		return err
	}
	tok, err := s.auth.Impersonate(r.Context(), auth.Impersonation{
		Caller: cred, TargetID: r.PathValue("id"), Validity: s.auth.Validity(minutes), Client: s.client(r)})
	if err != nil {
		return err
	}
	return s.ok(w, r, tok.Value, "ok")
}

var errBadMinutes = &inputError{status: http.StatusBadRequest, field: "validityInMinutes", key: "invalid_integer"}

// callerCredentials reads the Authorization header: Basic email:password or
// Bearer token. A header that is present but unreadable still counts as
// credentials (which then fail) rather than as none.
func callerCredentials(r *http.Request) auth.Credentials {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return auth.Credentials{}
	}
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return auth.Credentials{Bearer: "\x00invalid"}
		}
		email, pw, ok := strings.Cut(string(raw), ":")
		if !ok || email == "" || pw == "" {
			return auth.Credentials{Bearer: "\x00invalid"}
		}
		return auth.Credentials{Email: email, Password: pw}
	case "bearer":
		if rest == "" {
			return auth.Credentials{Bearer: "\x00invalid"}
		}
		return auth.Credentials{Bearer: rest}
	}
	return auth.Credentials{Bearer: "\x00invalid"}
}
