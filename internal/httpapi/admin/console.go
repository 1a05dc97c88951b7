package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
	// Fail answers err with the portal's error page (the one error table).
	Fail func(w http.ResponseWriter, r *http.Request, err error)
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
	if d.Auth == nil || d.Catalog == nil || d.Fail == nil || d.CSRFToken == nil || d.CheckCSRF == nil ||
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
	case "disable", "enable", "require-reset", "send-reset", "end-sessions", "added", "business", "business_updated", "rotated":
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

// operator returns the console operator of the request. ok false means the
// answer was given: a redirect to sign in, or the error page.
func (c *Console) operator(w http.ResponseWriter, r *http.Request) (auth.Operator, bool) {
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
		c.d.Fail(w, r, err)
		return auth.Operator{}, false
	}
	if !has {
		c.toSignIn(w, r, tenant)
		return auth.Operator{}, false
	}
	var scope *store.Business
	if tenant {
		scope = &b
	}
	op, err := c.d.Auth.ConsoleOperator(ps, scope)
	if errors.Is(err, auth.ErrNoSession) {
		c.toSignIn(w, r, tenant)
		return auth.Operator{}, false
	}
	if err != nil {
		c.d.Fail(w, r, auth.ErrForbidden)
		return auth.Operator{}, false
	}
	return op, true
}

// consoleSession reads the system host's console cookie.
func (c *Console) consoleSession(r *http.Request) (auth.PortalSession, bool, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return auth.PortalSession{}, false, nil
	}
	ps, err := c.d.Auth.Session(r.Context(), store.Business{}, ck.Value)
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

// form parses a console form and checks its CSRF token (on top of the
// CrossOriginProtection the routes wrap every POST in).
func (c *Console) form(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.d.Fail(w, r, auth.FieldErrors{"form": {"invalid_request"}})
		return false
	}
	if !c.d.CheckCSRF(r, r.PostForm.Get("csrf")) {
		c.d.Fail(w, r, errCSRF)
		return false
	}
	return true
}

// errCSRF is answered by the error table as the portal's CSRF failure.
var errCSRF = CSRFError{}

// CSRFError is a console form whose CSRF token did not match.
type CSRFError struct{}

func (CSRFError) Error() string { return "csrf check failed" }

// Home sends the operator to the member list.
func (c *Console) Home(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.operator(w, r); !ok {
		return
	}
	http.Redirect(w, r, "/admin/members", http.StatusSeeOther)
}

// LoginPage is the system host's console sign-in form.
func (c *Console) LoginPage(w http.ResponseWriter, r *http.Request) {
	if _, tenant := c.d.Business(r); tenant {
		c.toSignIn(w, r, true)
		return
	}
	c.show(w, r, http.StatusOK, "login", c.newPage(w, r, "console.login.title", nil))
}

// Login checks email and password, then the TOTP step, and opens the
// console session.
func (c *Console) Login(w http.ResponseWriter, r *http.Request) {
	if _, tenant := c.d.Business(r); tenant {
		c.d.Fail(w, r, auth.ErrNotFound)
		return
	}
	if !c.form(w, r) {
		return
	}
	p := c.newPage(w, r, "console.login.title", nil)
	f := r.PostForm
	p.Email = strings.TrimSpace(f.Get("email"))
	cl := c.d.Client(r)
	cl.Browser = p.CSRF // the pending step is bound to this browser's CSRF cookie
	if pending := f.Get("token"); pending != "" {
		cookie, ps, err := c.d.Auth.PortalTwoFactorSignIn(r.Context(), store.Business{}, p.Email, pending, f.Get("totp"), cl)
		if err != nil {
			c.loginFailed(w, r, p, err)
			return
		}
		expires := ps.Session.CreatedAt.Add(auth.ConsoleSessionTTL)
		if ps.Session.ExpiresAt.Before(expires) {
			expires = ps.Session.ExpiresAt
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: cookie, Path: "/admin", Expires: expires,
			HttpOnly: true, Secure: c.d.Secure, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/admin/members", http.StatusSeeOther)
		return
	}
	err := c.d.Auth.ConsoleSignIn(r.Context(), p.Email, f.Get("password"), cl)
	var pending *auth.TwoFactorPending
	if errors.As(err, &pending) {
		p.TOTPStep, p.Token = true, pending.Token
		c.show(w, r, http.StatusOK, "login", p)
		return
	}
	if err == nil {
		err = errors.New("console sign-in: no second-factor step")
	}
	c.loginFailed(w, r, p, err)
}

// loginFailed shows the sign-in form again with the reason; a storage
// failure or a throttle goes to the error table (never "wrong password").
func (c *Console) loginFailed(w http.ResponseWriter, r *http.Request, p *page, err error) {
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
		c.d.Fail(w, r, err)
		return
	}
	p.Error = c.d.Catalog.T(p.Lang, key)
	c.show(w, r, http.StatusUnauthorized, "login", p)
}

// Logout ends the console session (system host) and goes back to sign-in.
func (c *Console) Logout(w http.ResponseWriter, r *http.Request) {
	if !c.form(w, r) {
		return
	}
	if _, tenant := c.d.Business(r); tenant {
		// The tenant console rides on the portal session: the portal's
		// sign-out ends it.
		c.toSignIn(w, r, true)
		return
	}
	ps, has, err := c.consoleSession(r)
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	if has {
		if err := c.d.Auth.ConsoleEndSession(r.Context(), ps, c.d.Client(r)); err != nil {
			c.d.Fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/admin", MaxAge: -1, HttpOnly: true, Secure: c.d.Secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// Members lists and searches members.
func (c *Console) Members(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	q := r.URL.Query().Get("q")
	if len(q) > 200 {
		q = q[:200]
	}
	mq := auth.MemberQuery{Text: q}
	mq.BusinessID, _ = strconv.ParseInt(r.URL.Query().Get("business"), 10, 64)
	list, err := c.d.Auth.ConsoleMembers(r.Context(), op, mq)
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	p := c.newPage(w, r, "console.members.title", &op)
	p.Query, p.Members = q, list
	c.show(w, r, http.StatusOK, "members", p)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, auth.ErrNotFound
	}
	return id, nil
}

// Member shows one member: profiles, roles, sessions, second factor.
func (c *Console) Member(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	id, err := pathID(r)
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	d, err := c.d.Auth.ConsoleMember(r.Context(), op, id)
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	p := c.newPage(w, r, "console.member.title", &op)
	p.Member = &d
	c.show(w, r, http.StatusOK, "member", p)
}

// MemberAction disables, enables, requires a reset, sends a reset email or
// ends the sessions of a member.
func (c *Console) MemberAction(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	if !c.form(w, r) {
		return
	}
	id, err := pathID(r)
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	action := auth.MemberAction(r.PathValue("action"))
	switch action {
	case auth.ActionDisable, auth.ActionEnable, auth.ActionRequireReset, auth.ActionSendReset, auth.ActionEndSessions:
	default:
		c.d.Fail(w, r, auth.ErrNotFound)
		return
	}
	if err := c.d.Auth.ConsoleAct(r.Context(), op, id, action, c.d.Lang(r), c.d.Client(r)); err != nil {
		c.d.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/members/%d?done=%s", id, action), http.StatusSeeOther)
}

// NewMemberForm shows the form that adds a member.
func (c *Console) NewMemberForm(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	p := c.newPage(w, r, "console.member_new.title", &op)
	if err := c.withBusinesses(r, op, p); err != nil {
		c.d.Fail(w, r, err)
		return
	}
	c.show(w, r, http.StatusOK, "member_new", p)
}

// AddMember creates a member from the form.
func (c *Console) AddMember(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	if !c.form(w, r) {
		return
	}
	f := r.PostForm
	nu := auth.NewUser{Email: f.Get("email"), Name: f.Get("name"), Password: f.Get("password"), Language: f.Get("language"),
		Admin: op.Admin() && f.Get("admin") == "1"}
	if b := f.Get("business"); b != "" {
		nu.BusinessSlugs = []string{b}
	}
	for _, role := range strings.Split(f.Get("roles"), ",") {
		if role = strings.TrimSpace(role); role != "" {
			nu.Roles = append(nu.Roles, role)
		}
	}
	if nu.Language != "" && !c.d.Supported(nu.Language) {
		c.memberFormError(w, r, op, []string{c.d.Catalog.T(c.d.Lang(r), "console.unsupported_language")})
		return
	}
	u, err := c.d.Auth.ConsoleAddMember(r.Context(), op, nu, c.d.Client(r))
	if msgs := c.inputProblems(r, err); msgs != nil {
		c.memberFormError(w, r, op, msgs)
		return
	}
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/members/%d?done=added", u.ID), http.StatusSeeOther)
}

// inputProblems turns the errors a form can fix into messages; nil for
// anything else (which goes to the error table).
func (c *Console) inputProblems(r *http.Request, err error) []string {
	lang := c.d.Lang(r)
	var fe auth.FieldErrors
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		var out []string
		for field, msgs := range fe {
			for _, m := range msgs {
				if c.d.Catalog.Has("en", m) {
					m = c.d.Catalog.T(lang, m)
				}
				out = append(out, field+": "+m)
			}
		}
		return out
	case errors.Is(err, auth.ErrEmailTaken):
		return []string{c.d.Catalog.T(lang, "console.email_taken")}
	case errors.Is(err, auth.ErrSlugTaken):
		return []string{c.d.Catalog.T(lang, "console.slug_taken")}
	case errors.Is(err, auth.ErrUnknownBusiness):
		return []string{c.d.Catalog.T(lang, "console.unknown_business")}
	}
	return nil
}

func (c *Console) memberFormError(w http.ResponseWriter, r *http.Request, op auth.Operator, msgs []string) {
	p := c.newPage(w, r, "console.member_new.title", &op)
	p.Errors = msgs
	if err := c.withBusinesses(r, op, p); err != nil {
		c.d.Fail(w, r, err)
		return
	}
	c.show(w, r, http.StatusBadRequest, "member_new", p)
}

// Businesses lists the businesses and their settings.
func (c *Console) Businesses(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	p := c.newPage(w, r, "console.businesses.title", &op)
	if err := c.withBusinesses(r, op, p); err != nil {
		c.d.Fail(w, r, err)
		return
	}
	c.show(w, r, http.StatusOK, "businesses", p)
}

func (c *Console) withBusinesses(r *http.Request, op auth.Operator, p *page) error {
	list, err := c.d.Auth.ConsoleBusinesses(r.Context(), op)
	if err != nil {
		return err
	}
	p.Businesses = list
	p.Providers, err = c.d.Auth.ConsoleProviders(r.Context(), op)
	return err
}

// AddBusiness creates a business (administrators only).
func (c *Console) AddBusiness(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	if !c.form(w, r) {
		return
	}
	f := r.PostForm
	_, err := c.d.Auth.ConsoleAddBusiness(r.Context(), op, auth.NewBusiness{Slug: f.Get("slug"), Name: f.Get("name"),
		Language: f.Get("language"), Domain: f.Get("domain"), HideUnknownEmails: f.Get("hide_unknown_emails") == "1"},
		c.d.Supported, c.d.Client(r))
	if msgs := c.inputProblems(r, err); msgs != nil {
		p := c.newPage(w, r, "console.businesses.title", &op)
		p.Errors = msgs
		if err := c.withBusinesses(r, op, p); err != nil {
			c.d.Fail(w, r, err)
			return
		}
		c.show(w, r, http.StatusBadRequest, "businesses", p)
		return
	}
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/businesses?done=business", http.StatusSeeOther)
}

// UpdateBusiness changes a business's settings (administrators only).
func (c *Console) UpdateBusiness(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	if !c.form(w, r) {
		return
	}
	id, err := pathID(r)
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	f := r.PostForm
	_, err = c.d.Auth.ConsoleUpdateBusiness(r.Context(), op, id, auth.BusinessSettings{Name: f.Get("name"), Language: f.Get("language"),
		Domain: f.Get("domain"), HideUnknownEmails: f.Get("hide_unknown_emails") == "1"}, c.d.Supported, c.d.Client(r))
	if msgs := c.inputProblems(r, err); msgs != nil {
		p := c.newPage(w, r, "console.businesses.title", &op)
		p.Errors = msgs
		if err := c.withBusinesses(r, op, p); err != nil {
			c.d.Fail(w, r, err)
			return
		}
		c.show(w, r, http.StatusBadRequest, "businesses", p)
		return
	}
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/businesses?done=business_updated", http.StatusSeeOther)
}

// auditPage is how many events one page of the audit log shows.
const auditPage = 50

// Audit shows the audit log, newest first, filtered and paged by time.
func (c *Console) Audit(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := store.AuditFilter{Type: strings.TrimSpace(q.Get("type")), Limit: auditPage + 1}
	if len(f.Type) > 100 {
		f.Type = f.Type[:100]
	}
	p := c.newPage(w, r, "console.audit.title", &op)
	p.Filter = auditFilterView{Type: f.Type, User: q.Get("user"), Business: q.Get("business")}
	if v := q.Get("user"); v != "" {
		f.UserID, _ = strconv.ParseInt(v, 10, 64)
	}
	if v := q.Get("business"); v != "" {
		f.BusinessID, _ = strconv.ParseInt(v, 10, 64)
	}
	if v := q.Get("before"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			f.Until = time.Unix(0, n)
		}
	}
	list, err := c.d.Auth.ConsoleAudit(r.Context(), op, f)
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	if len(list) > auditPage {
		list = list[:auditPage]
		older := url.Values{}
		for k, v := range map[string]string{"type": p.Filter.Type, "user": p.Filter.User, "business": p.Filter.Business} {
			if v != "" {
				older.Set(k, v)
			}
		}
		// Paging by time: the next page starts before the oldest event shown.
		older.Set("before", strconv.FormatInt(list[len(list)-1].At.UnixNano(), 10))
		p.OlderURL = "/admin/audit?" + older.Encode()
	}
	p.Events = list
	c.show(w, r, http.StatusOK, "audit", p)
}

// Keys shows the key rotation form (administrators only).
func (c *Console) Keys(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	if !op.Admin() {
		c.d.Fail(w, r, auth.ErrForbidden)
		return
	}
	p := c.newPage(w, r, "console.keys.title", &op)
	p.KeyID = r.URL.Query().Get("kid")
	if len(p.KeyID) > 100 {
		p.KeyID = ""
	}
	c.show(w, r, http.StatusOK, "keys", p)
}

// RotateKeys makes a new signing key; the old ones keep verifying.
func (c *Console) RotateKeys(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	if !c.form(w, r) {
		return
	}
	if c.d.Rotate == nil {
		c.d.Fail(w, r, auth.ErrNotFound)
		return
	}
	if r.PostForm.Get("confirm") != "1" {
		// A rotation is deliberate: the form says so with a checkbox.
		c.d.Fail(w, r, auth.FieldErrors{"confirm": {"field_required"}})
		return
	}
	kid, err := c.d.Auth.ConsoleRotateKeys(r.Context(), op, c.d.Rotate, c.d.Client(r))
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/keys?done=rotated&kid="+url.QueryEscape(kid), http.StatusSeeOther)
}
