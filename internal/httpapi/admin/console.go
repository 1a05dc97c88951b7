package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/i18n"
	"github.com/spaceauth/spaceauth/internal/store"
)

// CookieName is the console session cookie of the system host: a portal-style
// session at business 0, opened only by the console sign-in (password and
// TOTP of an administrator). It is scoped to /admin and SameSite=Strict.
const CookieName = "spaceauth_console"

// Deps are what the console needs; the httpapi server hands in its error
// table, CSRF and request helpers so that the console answers as the portal.
type Deps struct {
	Auth      *auth.Service
	Catalog   *i18n.Catalog
	Logger    *slog.Logger
	Secure    bool
	Supported func(lang string) bool
	// Rotate rotates the signing keys (token.Ring.Rotate); nil hides rotation.
	Rotate func(ctx context.Context) (string, error)
	// CSRFToken returns (and sets) the double-submit token; CheckCSRF
	// compares a form's value with it in constant time.
	CSRFToken func(w http.ResponseWriter, r *http.Request) string
	CheckCSRF func(r *http.Request, value string) bool
	Client    func(r *http.Request) auth.Client
	Lang      func(r *http.Request) string
	// Business is the tenant of the request's host; false on the system host.
	Business func(r *http.Request) (store.Business, bool)
	// PortalSession is the request's portal session on a tenant host.
	PortalSession func(r *http.Request) (auth.PortalSession, bool, error)
}

// Console serves the operator console's pages.
type Console struct {
	d     Deps
	pages *renderer
	jobs  *jobs
}

// New builds the console.
func New(d Deps) (*Console, error) {
	if d.Auth == nil || d.Catalog == nil || d.CSRFToken == nil || d.CheckCSRF == nil ||
		d.Client == nil || d.Lang == nil || d.Business == nil || d.PortalSession == nil || d.Supported == nil {
		return nil, errors.New("console: missing dependency")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	r, err := newRenderer(d.Catalog)
	if err != nil {
		return nil, err
	}
	return &Console{d: d, pages: r, jobs: newJobs()}, nil
}

// page is the data of every console page.
type page struct {
	Lang, BusinessName, CSRF string
	Operator                 *auth.Operator
	Title                    string // i18n key of the page title
	Message                  string // localized notice
	Error                    string // localized error
	Errors                   []string
	Refresh                  int // seconds; the progress page reloads itself

	Email, Token string // console sign-in
	TOTPStep     bool
	Query        string

	Members    []auth.Member
	Member     *auth.MemberDetail
	Businesses []store.Business
	Providers  map[int64][]store.Provider
	Events     []store.AuditEvent
	Filter     auditFilterView
	OlderURL   string
	Job        *jobView
	Languages  []string
	KeyID      string
	CanRotate  bool
}

type auditFilterView struct {
	Type, User, Business string
}

func (c *Console) newPage(w http.ResponseWriter, r *http.Request, title string, op *auth.Operator) *page {
	p := &page{Lang: c.d.Lang(r), Title: title, Operator: op, CSRF: c.d.CSRFToken(w, r), BusinessName: "spaceauth",
		Languages: i18n.Supported(), CanRotate: c.d.Rotate != nil}
	if b, ok := c.d.Business(r); ok {
		p.BusinessName = b.Name
	}
	if m := r.URL.Query().Get("done"); m != "" && validNotice(m) {
		p.Message = c.d.Catalog.T(p.Lang, "console.done."+m)
	}
	return p
}

func validNotice(m string) bool {
	switch m {
	case "disable", "enable", "require-reset", "send-reset", "end-sessions", "remove-passkey", "added", "business", "business_updated", "rotated":
		return true
	}
	return false
}

func (c *Console) show(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	if err := c.pages.render(w, status, name, p); err != nil {
		c.d.Logger.ErrorContext(r.Context(), "console render", "page", name, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

// operator returns the console operator of the request. ok false means
// there is none: err says why, or, when nil, the answer was a redirect to
// sign in.
func (c *Console) operator(w http.ResponseWriter, r *http.Request) (auth.Operator, bool, error) {
	b, tenant := c.d.Business(r)
	var (
		ps  auth.PortalSession
		has bool
		err error
	)
	if tenant {
		ps, has, err = c.d.PortalSession(r)
	} else {
		ps, has, err = c.consoleSession(r)
	}
	if err != nil {
		return auth.Operator{}, false, err
	}
	if !has {
		c.toSignIn(w, r, tenant)
		return auth.Operator{}, false, nil
	}
	var scope *auth.Business
	if tenant {
		scope = &b
	}
	op, err := c.d.Auth.ConsoleOperator(ps, scope)
	if errors.Is(err, auth.ErrNoSession) {
		c.toSignIn(w, r, tenant)
		return auth.Operator{}, false, nil
	}
	if err != nil {
		return auth.Operator{}, false, auth.ErrForbidden
	}
	return op, true, nil
}

// consoleSession reads the system host's console cookie.
func (c *Console) consoleSession(r *http.Request) (auth.PortalSession, bool, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return auth.PortalSession{}, false, nil
	}
	ps, err := c.d.Auth.Session(r.Context(), auth.Business{}, ck.Value)
	if errors.Is(err, auth.ErrNoSession) {
		return auth.PortalSession{}, false, nil
	}
	if err != nil {
		return auth.PortalSession{}, false, fmt.Errorf("console session: %w", err)
	}
	return ps, true, nil
}

func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request, tenant bool) {
	if tenant {
		lang := c.d.Lang(r)
		http.Redirect(w, r, "/"+lang+"/user/login?redirectUrl="+url.QueryEscape("/admin/members"), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// admin is operator for the pages only administrators see: anyone else
// signed in is refused.
func (c *Console) admin(w http.ResponseWriter, r *http.Request) (auth.Operator, bool, error) {
	op, ok, err := c.operator(w, r)
	if ok && !op.Admin() {
		return op, false, auth.ErrForbidden
	}
	return op, ok, err
}

// posted is operator for a console form's POST, whose CSRF token is
// checked too.
func (c *Console) posted(w http.ResponseWriter, r *http.Request) (auth.Operator, bool, error) {
	op, ok, err := c.operator(w, r)
	if !ok {
		return op, false, err
	}
	if err := c.form(w, r); err != nil {
		return op, false, err
	}
	return op, true, nil
}

// postedID is posted for a form about one record: its id from the path
// (a malformed one is ErrNotFound).
func (c *Console) postedID(w http.ResponseWriter, r *http.Request) (auth.Operator, int64, bool, error) {
	op, ok, err := c.posted(w, r)
	if !ok {
		return op, 0, false, err
	}
	id, err := pathID(r)
	if err != nil {
		return op, 0, false, err
	}
	return op, id, true, nil
}

// formDone ends a form's POST: what the form can fix is the form again
// with messages, any other error goes to the error table, success is a
// redirect (see other) to done.
func (c *Console) formDone(w http.ResponseWriter, r *http.Request, op auth.Operator, page string, err error, done string) error {
	if msgs := c.inputProblems(r, err); msgs != nil {
		return c.formError(w, r, op, page, msgs)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, done, http.StatusSeeOther)
	return nil
}

// form parses a console form and checks its CSRF token (on top of the
// CrossOriginProtection the routes wrap every POST in).
func (c *Console) form(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return auth.FieldErrors{"form": {"invalid_request"}}
	}
	if !c.d.CheckCSRF(r, r.PostForm.Get("csrf")) {
		return errCSRF
	}
	return nil
}

// errCSRF is answered by the error table as the portal's CSRF failure.
var errCSRF = CSRFError{}

// CSRFError is a console form whose CSRF token did not match.
type CSRFError struct{}

func (CSRFError) Error() string { return "csrf check failed" }

// Home sends the operator to the member list.
func (c *Console) Home(w http.ResponseWriter, r *http.Request) error {
	if _, ok, err := c.operator(w, r); !ok {
		return err
	}
	http.Redirect(w, r, "/admin/members", http.StatusSeeOther)
	return nil
}

// LoginPage is the system host's console sign-in form.
func (c *Console) LoginPage(w http.ResponseWriter, r *http.Request) error {
	if _, tenant := c.d.Business(r); tenant {
		c.toSignIn(w, r, true)
		return nil
	}
	c.show(w, r, http.StatusOK, "login", c.newPage(w, r, "console.login.title", nil))
	return nil
}

// Login checks email and password, then the TOTP step, and opens the
// console session.
func (c *Console) Login(w http.ResponseWriter, r *http.Request) error {
	if _, tenant := c.d.Business(r); tenant {
		return auth.ErrNotFound
	}
	if err := c.form(w, r); err != nil {
		return err
	}
	p := c.newPage(w, r, "console.login.title", nil)
	f := r.PostForm
	p.Email = strings.TrimSpace(f.Get("email"))
	cl := c.d.Client(r)
	cl.Browser = p.CSRF // the pending step is bound to this browser's CSRF cookie
	if pending := f.Get("token"); pending != "" {
		cookie, ps, err := c.d.Auth.PortalTwoFactorSignIn(r.Context(), auth.Business{}, p.Email, pending, f.Get("totp"), cl)
		if err != nil {
			return c.loginFailed(w, r, p, err)
		}
		expires := ps.Session.CreatedAt.Add(auth.ConsoleSessionTTL)
		if ps.Session.ExpiresAt.Before(expires) {
			expires = ps.Session.ExpiresAt
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: cookie, Path: "/admin", Expires: expires,
			HttpOnly: true, Secure: c.d.Secure, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/admin/members", http.StatusSeeOther)
		return nil
	}
	err := c.d.Auth.ConsoleSignIn(r.Context(), p.Email, f.Get("password"), cl)
	var pending *auth.TwoFactorPending
	if errors.As(err, &pending) {
		p.TOTPStep, p.Token = true, pending.Token
		c.show(w, r, http.StatusOK, "login", p)
		return nil
	}
	if err == nil {
		err = errors.New("console sign-in: no second-factor step")
	}
	return c.loginFailed(w, r, p, err)
}

// loginFailed shows the sign-in form again with the reason; a storage
// failure or a throttle goes to the error table (never "wrong password").
func (c *Console) loginFailed(w http.ResponseWriter, r *http.Request, p *page, err error) error {
	key := ""
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		key = "invalid_credentials"
	case errors.Is(err, auth.ErrTwoFactorInvalid), errors.Is(err, auth.ErrTwoFactorNeeded):
		key = "two_factor_invalid"
	case errors.Is(err, auth.ErrSecondFactorRequired):
		key = "console.second_factor_required"
	case errors.Is(err, auth.ErrMustReset):
		key = "must_reset_password"
	default:
		return err
	}
	p.Error = c.d.Catalog.T(p.Lang, key)
	c.show(w, r, http.StatusUnauthorized, "login", p)
	return nil
}

// Logout ends the console session (system host) and goes back to sign-in.
func (c *Console) Logout(w http.ResponseWriter, r *http.Request) error {
	if err := c.form(w, r); err != nil {
		return err
	}
	if _, tenant := c.d.Business(r); tenant {
		// The tenant console rides on the portal session: the portal's
		// sign-out ends it.
		c.toSignIn(w, r, true)
		return nil
	}
	ps, has, err := c.consoleSession(r)
	if err != nil {
		return err
	}
	if has {
		if err := c.d.Auth.ConsoleEndSession(r.Context(), ps, c.d.Client(r)); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/admin", MaxAge: -1, HttpOnly: true, Secure: c.d.Secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
	return nil
}
