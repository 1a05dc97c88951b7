package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/httpapi/admin"
	"github.com/spaceauth/spaceauth/internal/store"
)

// unavailableRetry is the Retry-After of an answer to a storage failure:
// long enough not to hammer a database that is coming back.
const unavailableRetry = 5 * time.Second

// failure is how one error is answered.
type failure struct {
	http   int // HTTP status
	status int // envelope Status (usually the same)
	key    string
	errs   map[string][]string // i18n keys per field
	retry  time.Duration
}

// classify is the one table from errors to answers (SPEC §2, §3).
func classify(err error) failure {
	var in *inputError
	var fe auth.FieldErrors
	var rl *auth.RateLimited
	switch {
	case errors.Is(err, store.ErrUnavailable):
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
	case errors.Is(err, auth.ErrBadCredentials):
		// The seed documents a failed credential check as HTTP 200 with
		// Status 500, and clients read WasSuccessful from it.
		return failure{http: 200, status: 500, key: "invalid_credentials"}
	case errors.Is(err, auth.ErrTwoFactorNeeded):
		return failure{http: 200, status: 500, key: "two_factor_required"}
	case errors.Is(err, auth.ErrTwoFactorInvalid):
		return failure{http: 200, status: 500, key: "two_factor_invalid"}
	case errors.Is(err, auth.ErrMustReset):
		return failure{http: 200, status: 500, key: "must_reset_password"}
	case errors.Is(err, auth.ErrNoCredentials), errors.Is(err, auth.ErrNoSession):
		return failure{http: 401, status: 401, key: "unauthorized"}
	case errors.Is(err, auth.ErrLinkInvalid):
		return failure{http: 401, status: 401, key: "link_invalid"}
	case errors.Is(err, auth.ErrForbidden), errors.Is(err, auth.ErrSecondFactorRequired):
		return failure{http: 403, status: 403, key: "forbidden"}
	case errors.Is(err, auth.ErrNotFound):
		return failure{http: 404, status: 404, key: "not_found"}
	case errors.Is(err, auth.ErrResetInvalid):
		return failure{http: 400, status: 400, key: "reset_token_invalid"}
	case errors.Is(err, auth.ErrSSOFailed):
		return failure{http: 401, status: 401, key: "sso_failed"}
	case errors.Is(err, auth.ErrProviderUnavailable):
		// The identity provider is down or broken: try again later, as
		// with the database (SPEC §2), never a refusal of the person.
		return failure{http: 503, status: 503, key: "service_unavailable", retry: 5 * time.Second}
	case errors.Is(err, auth.ErrBusy):
		return failure{http: 503, status: 503, key: "service_unavailable", retry: time.Second}
	case errors.Is(err, errMethodNotAllowed):
		return failure{http: 405, status: 405, key: "method_not_allowed"}
	case errors.Is(err, errNoRoute):
		return failure{http: 404, status: 404, key: "not_found"}
	case errors.Is(err, errCSRF), errors.As(err, new(admin.CSRFError)):
		return failure{http: 403, status: 403, key: "csrf_failed"}
	}
	return failure{http: 500, status: 500, key: "internal_error"}
}

var (
	errMethodNotAllowed = errors.New("method not allowed")
	errNoRoute          = errors.New("no route")
	errCSRF             = errors.New("csrf check failed")
)

// fail answers err as an envelope; only internal faults are logged with
// their detail, which never reaches the client.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.failWith(w, r, err, "")
}

// failWith is fail with the message key replaced (e.g. user_not_found).
func (s *Server) failWith(w http.ResponseWriter, r *http.Request, err error, key string) {
	f := s.answer(w, r, err)
	if key != "" {
		f.key = key
	}
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
// with the status.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, err error) failure {
	f := classify(err)
	switch {
	case f.http == http.StatusInternalServerError:
		s.log.ErrorContext(r.Context(), "request failed", "err", err)
	case errors.Is(err, store.ErrUnavailable):
		s.log.ErrorContext(r.Context(), "storage unavailable", "err", err)
	}
	if f.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.retry+time.Second-1)/time.Second)))
	}
	if f.http == http.StatusUnauthorized && !errors.Is(err, auth.ErrLinkInvalid) {
		w.Header().Set("WWW-Authenticate", `Basic realm="spaceauth"`)
	}
	return f
}

// failPage answers err with the HTML error page, or with an envelope when
// the client asked for JSON.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	// An outage page goes only to a client that asked for HTML (SPEC §2):
	// API clients on the portal's paths (me, exists) get an envelope.
	if wantsJSON(r) || (errors.Is(err, store.ErrUnavailable) && !wantsHTML(r)) {
		s.fail(w, r, err)
		return
	}
	f := s.answer(w, r, err)
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
