package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/httpapi/admin"
)

// unavailableRetry is the Retry-After of an answer to a storage failure:
// long enough not to hammer a database that is coming back.
const unavailableRetry = 5 * time.Second

// surface is where an error is answered. One error means different things
// on different endpoints (SPEC §2, §3, §5): a wrong password is the seed's
// HTTP 200/Status 500 on the token endpoints but a 401 where it is the
// caller's own credential. classify holds every such row, so the surfaces
// are named here rather than remapped in handlers.
type surface int

const (
	// onToken: the seed's endpoints (SPEC §3), and the default.
	onToken surface = iota
	// onCaller: endpoints whose credentials are the caller's own (§5.2,
	// §5.3's link token, §5.7): bad credentials, or a right password of a
	// two-factor account (Basic carries no code), are no credentials; a
	// user who must reset is refused with the reason (SPEC §6).
	onCaller
	// onMe: GET /{language}/user/me (§5.8), onCaller except that it takes
	// a code (?totp=), so a missing or wrong one says so.
	onMe
	// onCode: verifyOtp (§5.5): a user who must reset gets no more from a
	// code than a wrong code gets (SPEC §6).
	onCode
	// onResetRequest: §3.4's reset request names an unknown user.
	onResetRequest
	// onResetComplete: §5.4's completion reports a bad token as a field.
	onResetComplete
	// onForm: the portal's sign-in form (§5.6) re-renders the form; a
	// failed check is a 401 page, without a Basic challenge.
	onForm
	// onPage: the portal's other pages (§5.6), as onToken.
	onPage
	// onOAuth: the OAuth2 token endpoint (§5.1), rendered by failOAuth.
	onOAuth
	// onAccount: a refused action re-rendered on the account page (§9), as
	// onPage except that the member is signed in, so a new passkey that
	// fails is a bad request rather than no credential.
	onAccount
)

// failure is how one error is answered.
type failure struct {
	http      int // HTTP status
	status    int // envelope Status (usually the same)
	key       string
	errs      map[string][]string // i18n keys per field
	retry     time.Duration
	challenge bool // send WWW-Authenticate: Basic
}

// classify is the one table from errors to answers (SPEC §2, §3). Every
// exported error of package auth has a row (TestEveryAuthErrorHasARow).
func classify(err error, on surface) failure {
	var in *inputError
	var fe auth.FieldErrors
	var rl *auth.RateLimited
	var pending *auth.TwoFactorPending
	unauthorized := failure{http: 401, status: 401, key: "unauthorized", challenge: true}
	caller := on == onCaller || on == onMe
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		// First: a storage failure is never an authentication answer,
		// whatever else the error says (SPEC §2).
		return failure{http: 503, status: 503, key: "service_unavailable", retry: unavailableRetry}
	case errors.As(err, &in):
		f := failure{http: in.status, status: in.status, key: in.key}
		if in.status == http.StatusBadRequest {
			f.key = "invalid_request"
			if in.field != "" {
				f.errs = map[string][]string{in.field: {in.key}}
			} else {
				f.key = in.key
			}
		}
		return f
	case errors.As(err, &fe):
		return failure{http: 400, status: 400, key: "invalid_request", errs: fe}
	case errors.As(err, &rl):
		return failure{http: 429, status: 429, key: "too_many_requests", retry: rl.RetryAfter}
	case on == onMe && (errors.Is(err, auth.ErrTwoFactorNeeded) || errors.Is(err, auth.ErrTwoFactorInvalid)):
		// Not a credential yet: refused as none, with the reason.
		f := unauthorized
		f.key = "two_factor_required"
		return f
	case caller && (errors.Is(err, auth.ErrBadCredentials) || errors.Is(err, auth.ErrTwoFactorNeeded)):
		return unauthorized
	case caller && errors.Is(err, auth.ErrMustReset):
		return failure{http: 403, status: 403, key: "must_reset_password"}
	case on == onCode && (errors.Is(err, auth.ErrCodeInvalid) || errors.Is(err, auth.ErrMustReset)):
		return failure{http: 401, status: 401, key: "otp_invalid"}
	case on == onForm && errors.Is(err, auth.ErrBadCredentials):
		return failure{http: 401, status: 500, key: "invalid_credentials"}
	case on == onForm && errors.Is(err, auth.ErrTwoFactorInvalid):
		// The pending sign-in may be spent or out of tries: start over.
		return failure{http: 401, status: 500, key: "two_factor_invalid"}
	case on == onResetRequest && errors.Is(err, auth.ErrNotFound):
		return failure{http: 404, status: 404, key: "user_not_found"}
	case on == onAccount && errors.Is(err, auth.ErrPasskeyInvalid):
		return failure{http: 400, status: 400, key: "passkey_invalid"}
	case on == onResetComplete && errors.Is(err, auth.ErrResetInvalid):
		return failure{http: 400, status: 400, key: "invalid_request", errs: map[string][]string{"token": {"reset_token_invalid"}}}
	case errors.As(err, &pending):
		return failure{http: 200, status: 500, key: "two_factor_required"}
	case errors.As(err, new(admin.CSRFError)):
		return failure{http: 403, status: 403, key: "csrf_failed"}
	}
	for _, row := range sentinelRows() {
		for _, target := range row.errs {
			if errors.Is(err, target) {
				return row.f
			}
		}
	}
	return failure{http: 500, status: 500, key: "internal_error"}
}

// sentinelRows are classify's rows that depend on the error alone, the
// same on every surface, in the order they are tried.
func sentinelRows() []struct {
	errs []error
	f    failure
} {
	return []struct {
		errs []error
		f    failure
	}{
		// The seed documents a failed credential check as HTTP 200 with
		// Status 500, and clients read WasSuccessful from it.
		{[]error{auth.ErrBadCredentials}, failure{http: 200, status: 500, key: "invalid_credentials"}},
		{[]error{auth.ErrTwoFactorNeeded}, failure{http: 200, status: 500, key: "two_factor_required"}},
		{[]error{auth.ErrTwoFactorInvalid}, failure{http: 200, status: 500, key: "two_factor_invalid"}},
		{[]error{auth.ErrMustReset}, failure{http: 200, status: 500, key: "must_reset_password"}},
		{[]error{auth.ErrNoCredentials, auth.ErrNoSession}, failure{http: 401, status: 401, key: "unauthorized", challenge: true}},
		{[]error{auth.ErrLinkInvalid}, failure{http: 401, status: 401, key: "link_invalid"}},
		// A refused passkey assertion: a browser ceremony, so no Basic
		// challenge (it would open a password dialog over the page).
		{[]error{auth.ErrPasskeyInvalid}, failure{http: 401, status: 401, key: "passkey_invalid"}},
		{[]error{auth.ErrCodeInvalid}, failure{http: 401, status: 401, key: "otp_invalid"}},
		// Only the OAuth2 endpoint meets it; failOAuth words it.
		{[]error{auth.ErrInvalidGrant}, failure{http: 400, status: 400, key: "invalid_grant"}},
		{[]error{auth.ErrForbidden, auth.ErrSecondFactorRequired}, failure{http: 403, status: 403, key: "forbidden"}},
		{[]error{auth.ErrNotFound, auth.ErrUnknownBusiness}, failure{http: 404, status: 404, key: "not_found"}},
		{[]error{auth.ErrTOTPEnabled, auth.ErrEmailTaken, auth.ErrSlugTaken}, failure{http: 409, status: 409, key: "invalid_request"}},
		{[]error{auth.ErrResetInvalid}, failure{http: 400, status: 400, key: "reset_token_invalid"}},
		{[]error{auth.ErrSSOFailed}, failure{http: 401, status: 401, key: "sso_failed"}},
		// The identity provider is down or broken: try again later, as
		// with the database (SPEC §2), never a refusal of the person.
		{[]error{auth.ErrProviderUnavailable}, failure{http: 503, status: 503, key: "service_unavailable", retry: 5 * time.Second}},
		{[]error{auth.ErrBusy}, failure{http: 503, status: 503, key: "service_unavailable", retry: time.Second}},
		{[]error{errMethodNotAllowed}, failure{http: 405, status: 405, key: "method_not_allowed"}},
		{[]error{errNoRoute}, failure{http: 404, status: 404, key: "not_found"}},
		{[]error{errCSRF}, failure{http: 403, status: 403, key: "csrf_failed"}},
	}
}

// retryAfter is the one rounding of a wait into Retry-After: whole seconds,
// up, at least one.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

var (
	errMethodNotAllowed = errors.New("method not allowed")
	errNoRoute          = errors.New("no route")
	errCSRF             = errors.New("csrf check failed")
)

// handler is a route: it writes its own success and returns its failure,
// which ServeHTTP answers through classify on the route's surface, as an
// envelope, an HTML page or an OAuth2 error (SPEC §2, §5.1).
type handler struct {
	s  *Server
	on surface
	fn func(http.ResponseWriter, *http.Request) error
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.fn(w, r); err != nil {
		h.s.render(w, r, h.on, err)
	}
}

// api is a route answered with envelopes (or OAuth2 errors, on onOAuth).
func (s *Server) api(on surface, fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return handler{s: s, on: on, fn: fn}
}

// html is a portal page route: failures are error pages unless the client
// asked for JSON.
func (s *Server) html(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return handler{s: s, on: onPage, fn: fn}
}

// render answers err as the surface's shape.
func (s *Server) render(w http.ResponseWriter, r *http.Request, on surface, err error) {
	switch {
	case on == onOAuth:
		s.failOAuth(w, r, err)
	case on == onPage || on == onForm || on == onAccount, errors.Is(err, errNoRoute) && wantsHTML(r):
		s.failPage(w, r, on, err)
	default:
		s.failOn(w, r, on, err)
	}
}

// fail answers err as an envelope of the seed's endpoints.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.failOn(w, r, onToken, err)
}

// failOn answers err as an envelope; only internal faults are logged with
// their detail, which never reaches the client.
func (s *Server) failOn(w http.ResponseWriter, r *http.Request, on surface, err error) {
	f := s.answer(w, r, on, err)
	lang := langOf(r)
	var errs map[string][]string
	if len(f.errs) > 0 {
		errs = make(map[string][]string, len(f.errs))
		for field, keys := range f.errs {
			for _, k := range keys {
				errs[field] = append(errs[field], s.cat.T(lang, k))
			}
		}
	}
	writeJSON(w, f.http, envelope{Status: f.status, Message: s.cat.T(lang, f.key), Errors: errs})
}

// answer classifies err, logs internal faults and sets the headers that go
// with the answer.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, on surface, err error) failure {
	f := classify(err, on)
	switch {
	case f.http == http.StatusInternalServerError:
		s.log.ErrorContext(r.Context(), "request failed", "err", err)
	case errors.Is(err, auth.ErrUnavailable):
		s.log.ErrorContext(r.Context(), "storage unavailable", "err", err)
	}
	if f.retry > 0 {
		w.Header().Set("Retry-After", retryAfter(f.retry))
	}
	if f.challenge {
		w.Header().Set("WWW-Authenticate", `Basic realm="spaceauth"`)
	}
	return f
}

// failPage answers err with the HTML error page, or with an envelope when
// the client asked for JSON.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, on surface, err error) {
	// An outage page goes only to a client that asked for HTML (SPEC §2):
	// API clients on the portal's paths (me, exists) get an envelope.
	if wantsJSON(r) || (errors.Is(err, auth.ErrUnavailable) && !wantsHTML(r)) {
		s.failOn(w, r, on, err)
		return
	}
	f := s.answer(w, r, on, err)
	p := s.errorPage(r)
	p.Status = f.http
	p.Message = s.cat.T(p.Lang, f.key)
	s.pages.Render(w, f.http, "error", p)
}

// wantsJSON reports whether the client prefers JSON to HTML.
func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "text/html")
}

// wantsHTML reports whether the client asked for HTML.
func wantsHTML(r *http.Request) bool { return strings.Contains(r.Header.Get("Accept"), "text/html") }
