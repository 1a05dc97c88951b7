package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// userRecord is the recorded Nexudus user record (SPEC §5.8), keys in
// Nexudus's order. What spaceauth keeps no data for carries Nexudus's empty
// value (UniqueId, LastAccess, UpdatedBy: null; Validated: false, since
// spaceauth does not verify addresses); its own extras come last.
type userRecord struct {
	ID                  int64    `json:"Id"`
	UniqueID            *string  `json:"UniqueId"`
	FullName            string   `json:"FullName"`
	Email               string   `json:"Email"`
	AccessToken         string   `json:"AccessToken"`
	DefaultBusinessID   *int64   `json:"DefaultBusinessId"`
	DefaultBusinessName *string  `json:"DefaultBusinessName"`
	Businesses          []int64  `json:"Businesses"`
	UserRoles           []string `json:"UserRoles"`
	Active              bool     `json:"Active"`
	IsAdmin             bool     `json:"IsAdmin"`
	Validated           bool     `json:"Validated"`
	MustResetPassword   bool     `json:"MustResetPassword"`
	LastAccess          *string  `json:"LastAccess"`
	CreatedOn           *string  `json:"CreatedOn"`
	UpdatedOn           *string  `json:"UpdatedOn"`
	UpdatedBy           *string  `json:"UpdatedBy"`
	ToStringText        string   `json:"ToStringText"`
	TwoFactorEnabled    bool     `json:"TwoFactorEnabled"`
	Language            string   `json:"Language"`
}

// recordTime is the record's date format: UTC, whole seconds; null for a
// time spaceauth did not record.
func recordTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05Z")
	return &s
}

// newUserRecord renders p. Role ids are the role names: spaceauth's roles
// are strings, and a name is as stable as any number we could assign.
func newUserRecord(p auth.Profile) userRecord {
	u := p.User
	rec := userRecord{ID: u.ID, FullName: u.FullName, Email: u.Email, AccessToken: p.AccessToken.Value,
		Businesses: []int64{}, UserRoles: []string{}, Active: u.Active, IsAdmin: u.IsAdmin,
		MustResetPassword: u.MustReset, CreatedOn: recordTime(u.CreatedAt), UpdatedOn: recordTime(u.UpdatedAt),
		ToStringText: u.FullName + " - " + u.Email, TwoFactorEnabled: u.TOTPSecret != "", Language: u.Language}
	if p.DefaultBusiness != nil {
		rec.DefaultBusinessID, rec.DefaultBusinessName = &p.DefaultBusiness.ID, &p.DefaultBusiness.Name
	}
	for _, b := range p.Businesses {
		rec.Businesses = append(rec.Businesses, b.ID)
	}
	rec.UserRoles = append(rec.UserRoles, u.Roles...)
	return rec
}

// handleMe is SPEC §5.6/§5.8's GET /{language}/user/me, with Basic (plus
// ?totp= when two-factor is on) or Bearer.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	cred := callerCredentials(r)
	if cred == (auth.Credentials{}) {
		return auth.ErrNoCredentials
	}
	cred.TOTP = r.URL.Query().Get("totp")
	p, err := s.auth.Me(r.Context(), cred, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newUserRecord(p))
	return nil
}

// handleValidate is SPEC §5.8's POST /api/sys/users/validate: §3.1's check,
// answered with the user record.
func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) error {
	var in auth.PasswordSignIn
	if err := readInput(w, r, fromBody, func(f *input) { in = passwordSignIn(f) }); err != nil {
		return err
	}
	in.Client = s.client(r)
	p, err := s.auth.ValidateCredentials(r.Context(), in)
	if err != nil {
		return err
	}
	return s.ok(w, r, newUserRecord(p), "ok")
}

// handleUserExists is SPEC §5.8's GET /{language}/user/exists?email=: a
// bare JSON true or false, counted like a reset request; a business that
// hides unknown emails has no such endpoint.
func (s *Server) handleUserExists(w http.ResponseWriter, r *http.Request) error {
	b, _ := businessOf(r)
	if b.HideUnknownEmails {
		return errNoRoute
	}
	var email string
	if err := readInput(w, r, fromQuery, func(in *input) { email = in.email() }, "email"); err != nil {
		return err
	}
	found, err := s.auth.UserExists(r.Context(), b, email, s.client(r))
	if errors.Is(err, auth.ErrNotFound) {
		// No such business for this host: the endpoint does not exist.
		return errNoRoute
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, found)
	return nil
}

type businessByHost struct {
	ID         int64  `json:"Id"`
	Name       string `json:"Name"`
	WebAddress string `json:"WebAddress"`
}

// handleBusinessByHost is SPEC §5.8's GET /api/sys/businesses/getByHost:
// a business named by slug, tenant host or custom domain, and the host
// its portal answers on.
func (s *Server) handleBusinessByHost(w http.ResponseWriter, r *http.Request) error {
	var host string
	if err := readInput(w, r, fromQuery, func(in *input) { host = in.required("host") }, "host"); err != nil {
		return err
	}
	b, err := s.auth.BusinessByHostOrSlug(r.Context(), host)
	if err != nil {
		return err
	}
	web := s.auth.TenantURL(b)
	if u, err := url.Parse(web); err == nil {
		web = u.Host
	}
	writeJSON(w, http.StatusOK, businessByHost{ID: b.ID, Name: b.Name, WebAddress: strings.ToLower(web)})
	return nil
}
