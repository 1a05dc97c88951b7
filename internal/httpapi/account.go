package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
)

type businessView struct {
	ID   int64  `json:"Id"`
	Name string `json:"Name"`
}

type userInfo struct {
	ID                  int64          `json:"Id"`
	FullName            string         `json:"FullName"`
	Email               string         `json:"Email"`
	DefaultBusinessID   *int64         `json:"DefaultBusinessId"`
	DefaultBusinessName *string        `json:"DefaultBusinessName"`
	Businesses          []businessView `json:"Businesses"`
	IsAdmin             bool           `json:"IsAdmin"`
	TwoFactorEnabled    bool           `json:"TwoFactorEnabled"`
	Language            string         `json:"Language"`
}

// handleMe is SPEC §5.6's GET /{language}/user/me, with Basic or Bearer.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	cred := callerCredentials(r)
	if cred == (auth.Credentials{}) {
		s.fail(w, r, auth.ErrNoCredentials)
		return
	}
	p, err := s.auth.Me(r.Context(), cred, s.client(r))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	u := p.User
	info := userInfo{ID: u.ID, FullName: u.FullName, Email: u.Email, Businesses: []businessView{}, IsAdmin: u.IsAdmin,
		TwoFactorEnabled: u.TOTPSecret != "", Language: u.Language}
	if p.DefaultBusiness != nil {
		info.DefaultBusinessID, info.DefaultBusinessName = &p.DefaultBusiness.ID, &p.DefaultBusiness.Name
	}
	for _, b := range p.Businesses {
		info.Businesses = append(info.Businesses, businessView{ID: b.ID, Name: b.Name})
	}
	writeJSON(w, http.StatusOK, info)
}

type exchangeResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// handleExchange is SPEC §5.3: a one-time token becomes the §5.1 pair.
func (s *Server) handleExchange(w http.ResponseWriter, r *http.Request) {
	f, err := decodeBody(w, r)
	if err == nil {
		f, err = f.withQuery(r.URL.Query())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fe := auth.FieldErrors{}
	raw := requiredField(f, fe, "token")
	minutes, err := f.minutes("validForInMinutes")
	if err != nil {
		fe.Add("validForInMinutes", "invalid_integer")
	}
	if len(fe) > 0 {
		s.fail(w, r, fe)
		return
	}
	g, err := s.auth.Exchange(r.Context(), raw, s.auth.Validity(minutes), s.client(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, exchangeResponse{Token: g.Access.Value, AccessToken: g.Access.Value, TokenType: "bearer",
		ExpiresIn: int64(g.Access.Claims.ExpiresAt.Sub(g.Access.Claims.IssuedAt) / time.Second), RefreshToken: g.Refresh})
}

// handleLinkToken is SPEC §5.3's POST /api/sys/users/token/refresh: the
// bearer gets a short-lived one-time token for a ?t= link.
func (s *Server) handleLinkToken(w http.ResponseWriter, r *http.Request) {
	cred := callerCredentials(r)
	if cred.Bearer == "" {
		s.fail(w, r, auth.ErrNoCredentials)
		return
	}
	tok, err := s.auth.LinkToken(r.Context(), cred.Bearer)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.ok(w, r, tok.Value, "ok")
}

// handleStartReset is SPEC §5.4's start: the same answer for every email.
func (s *Server) handleStartReset(w http.ResponseWriter, r *http.Request) {
	f, err := decodeBody(w, r)
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
	if err := s.auth.StartPasswordReset(r.Context(), email, bid, langOf(r), s.client(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, nil, "reset_sent")
}

// handleCompleteReset is SPEC §5.4's completion: a new password from a
// reset token; the answer carries a one-time token for the exchange.
func (s *Server) handleCompleteReset(w http.ResponseWriter, r *http.Request) {
	f, err := decodeBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fe := auth.FieldErrors{}
	raw := requiredField(f, fe, "token")
	pw := field(f, fe, "password")
	bid := businessIDField(f, fe)
	if _, bad := fe["password"]; !bad && pw == "" {
		fe.Add("password", "field_required")
	}
	if len(fe) > 0 {
		s.fail(w, r, fe)
		return
	}
	tok, err := s.auth.CompletePasswordResetForToken(r.Context(), raw, pw, bid, langOf(r), s.client(r))
	if errors.Is(err, auth.ErrResetInvalid) {
		err = auth.FieldErrors{"token": {"reset_token_invalid"}}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, tok.Value, "ok")
}

// businessIDField reads an optional positive businessId.
func businessIDField(f fields, fe auth.FieldErrors) int64 {
	if _, given := f["businessid"]; !given {
		return 0
	}
	n, err := f.minutes("businessId")
	if err != nil || n == 1<<63-1 {
		fe.Add("businessId", "invalid_integer")
		return 0
	}
	return n
}
