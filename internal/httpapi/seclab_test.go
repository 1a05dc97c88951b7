package httpapi_test

// Shared helpers of the credential matrix (matrix_test.go) and the
// attacker's tests (attack_test.go): fresh users, credentials of every kind
// the service issues, clients from distinct loopback addresses and mail
// read by recipient. Kept apart from harness_test.go, which others edit.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

// lab is a harness with its seeded fixture, a source of fresh users and
// client addresses, and a record of which mails each recipient has read.
type lab struct {
	h *harness
	f fixture
	n atomic.Int64

	mu     sync.Mutex
	read   map[string]int // recipient -> messages already consumed
	routes map[string]bool

	// fed: business demo's identity providers (SPEC §8); fedN numbers
	// the federated accounts the lab hands out.
	fed  *labFederation
	fedN atomic.Int64
}

// served: routes.go registers pattern.
func (l *lab) served(t *testing.T, pattern string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.routes == nil {
		l.routes = map[string]bool{}
		for _, p := range routePatterns(t) {
			l.routes[p] = true
		}
	}
	return l.routes[pattern]
}

func newLab(t *testing.T, h *harness) *lab {
	t.Helper()
	l := &lab{h: h, f: h.seed(), read: map[string]int{}}
	l.federate(t)
	return l
}

// labBackends runs fn on a SQLite harness and, when SPACEAUTH_TEST_POSTGRES
// is set, on a PostgreSQL one (the harness opens whatever DSN it is given).
func labBackends(t *testing.T, fn func(t *testing.T, l *lab)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newLab(t, newHarness(t))) })
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t) // skips, saying why, without the variable
		fn(t, newLab(t, startHarness(t, harnessOptions{dbPath: dsn})))
	})
}

// client is a fresh browser (own cookie jar) that connects from its own
// loopback address 127.x.y.z, so that per-address throttles of one probe
// never leak into another. Responses are validated against the OpenAPI
// document like every harness client's.
func (l *lab) client(t *testing.T) *http.Client {
	n := l.n.Add(1)
	ip := net.IPv4(127, byte(10+n/62500), byte(n/250%250), byte(n%250+1))
	return l.clientFrom(t, ip)
}

func (l *lab) clientFrom(t *testing.T, ip net.IP) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
	port := l.h.port
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, "127.0.0.1:"+port)
		},
		DisableKeepAlives: true,
	}
	jar, _ := cookiejar.New(nil)
	c := l.h.spec.Client(t, &http.Client{Timeout: 20 * time.Second, Transport: tr})
	c.Jar = jar
	return c
}

// user creates a fresh user, member of demo; admin makes it IsAdmin too, so
// that any credential of it that is wrongly accepted shows as a success
// (API-user endpoints included) rather than as a 403.
func (l *lab) user(t *testing.T, admin bool) store.User {
	t.Helper()
	n := l.n.Add(1)
	u, err := l.h.svc.CreateUser(context.Background(), auth.NewUser{Email: fmt.Sprintf("u%d@example.com", n),
		Name: fmt.Sprintf("User %d", n), Password: pw, BusinessSlugs: []string{"demo"}, Admin: admin})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

// mail waits for the next unread message to `to` whose text matches re and
// returns the first submatch (or the whole match).
func (l *lab) mail(t *testing.T, to string, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		seen := 0
		for _, m := range l.h.smtp.Messages() {
			if len(m.To) == 0 || !strings.EqualFold(m.To[0], to) {
				continue
			}
			seen++
			if seen <= l.read[to] {
				continue
			}
			if sm := re.FindStringSubmatch(m.Text); sm != nil {
				l.read[to] = seen
				l.mu.Unlock()
				return sm[len(sm)-1]
			}
		}
		l.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no mail to %s matching %s", to, re)
	return ""
}

// onlyMail proves that nothing was mailed to `to` so far: it mails a
// sentinel (sentinel() must queue exactly one message matching re), waits
// for it, and fails if any other message to `to` arrived before it (the
// outbox delivers in order).
func (l *lab) onlyMail(t *testing.T, to string, sentinel func(), re *regexp.Regexp) {
	t.Helper()
	sentinel()
	l.mail(t, to, re)
	n := 0
	for _, m := range l.h.smtp.Messages() {
		if len(m.To) > 0 && strings.EqualFold(m.To[0], to) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d messages to %s, want only the sentinel", n, to)
	}
}

// answer is what a probe saw, reduced to what tells a refusal's kind apart:
// never the raw body (the envelope may grow keys).
type answer struct {
	status    int
	envStatus int    // envelope Status, 0 when the body is no envelope
	oauthErr  string // OAuth2 error code
	active    string // introspection's active, "" when absent
	session   bool   // a session cookie was set
	location  string
	effect    bool // the probe's own after-check saw the credential work
	value     string
	body      string
}

func (a answer) String() string {
	return fmt.Sprintf("HTTP %d env %d oauth %q active %q session %v effect %v location %q",
		a.status, a.envStatus, a.oauthErr, a.active, a.session, a.effect, a.location)
}

// sameRefusal: the two answers are the same kind of refusal.
func sameRefusal(a, b answer) bool {
	return a.status == b.status && a.envStatus == b.envStatus && a.oauthErr == b.oauthErr &&
		a.active == b.active && a.session == b.session && a.effect == b.effect
}

// send performs one request with a client and decodes the answer by fields.
func send(t *testing.T, c *http.Client, method, rawURL, ct, body string, hdr ...string) answer {
	t.Helper()
	status, h, raw := do(t, c, method, rawURL, ct, body, hdr...)
	a := answer{status: status, location: h.Get("Location"), body: raw}
	for _, sc := range h.Values("Set-Cookie") {
		if (strings.HasPrefix(sc, "spaceauth_session=") && !strings.HasPrefix(sc, "spaceauth_session=;")) ||
			(strings.HasPrefix(sc, "spaceauth_console=") && !strings.HasPrefix(sc, "spaceauth_console=;")) {
			a.session = true
		}
	}
	if strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		var m map[string]any
		if json.Unmarshal([]byte(raw), &m) == nil {
			if s, ok := m["Status"].(float64); ok {
				a.envStatus = int(s)
			}
			if v, ok := m["Value"].(string); ok {
				a.value = v
			}
			if e, ok := m["error"].(string); ok {
				a.oauthErr = e
			}
			if v, ok := m["access_token"].(string); ok {
				a.value = v
			}
			if v, ok := m["active"].(bool); ok {
				a.active = fmt.Sprint(v)
			}
		}
	}
	return a
}

// csrfRE and pendingRE (seccore_test.go) read a page's hidden CSRF and
// pending-step fields.

// formCSRF opens the sign-in form with c and returns its CSRF value.
func (l *lab) formCSRF(t *testing.T, c *http.Client) string {
	t.Helper()
	_, _, page := do(t, c, "GET", l.h.tenant("demo")+"/en/user/login", "", "")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on the sign-in form: %s", page)
	}
	return m[1]
}

// cred is one credential of a kind, with what presenting it needs.
type cred struct {
	kind     string
	owner    store.User
	password string // the owner's current password
	secret   string // what is presented: a password, token, code or cookie
	// totpSecret is the owner's authenticator secret once enrolled.
	totpSecret string
	recovery   []string     // unused recovery codes beyond the one a recovery credential presents
	withCode   bool         // a password credential that carries a TOTP code
	browser    *http.Client // the browser holding a pending step
}

// totpCode is a code the owner's authenticator shows one step ahead: never
// the step used to confirm enrolment, and within the accepted ±1 window.
func (c *cred) totpCode(t *testing.T, l *lab) string {
	return code(t, c.totpSecret, l.h.clock.Now().Add(30*time.Second))
}

// freshBearer signs the enrolled owner in now with a recovery code of its
// own (never the step a probe is about to use), "" when refused.
func (l *lab) freshBearer(t *testing.T, c *cred) string {
	t.Helper()
	if len(c.recovery) == 0 {
		t.Fatalf("%s has no recovery code left", c.owner.Email)
	}
	r := c.recovery[len(c.recovery)-1]
	c.recovery = c.recovery[:len(c.recovery)-1]
	return l.signIn(t, l.client(t), c.owner.Email, c.password, r)
}

// enrolOwner turns two-factor on for the credential's owner.
func (l *lab) enrolOwner(t *testing.T, c *cred) {
	t.Helper()
	if c.totpSecret != "" {
		return
	}
	cl := l.client(t)
	bearer := l.signIn(t, cl, c.owner.Email, c.password, "")
	if bearer == "" {
		t.Fatalf("enrolment: %s cannot sign in", c.owner.Email)
	}
	auth := []string{"Authorization", "Bearer " + bearer}
	status, _, body := do(t, cl, "POST", l.h.base()+"/api/sys/users/me/totp", "", "", auth...)
	v, _ := parseEnv(t, body).Value.(map[string]any)
	secret, _ := v["Secret"].(string)
	if status != 200 || secret == "" {
		t.Fatalf("enrolment start: %d %s", status, body)
	}
	status, _, body = do(t, cl, "POST", l.h.base()+"/api/sys/users/me/totp/confirm", ctJSON,
		`{"code":"`+code(t, secret, l.h.clock.Now())+`"}`, auth...)
	if status != 200 {
		t.Fatalf("enrolment confirm: %d %s", status, body)
	}
	v, _ = parseEnv(t, body).Value.(map[string]any)
	rec, _ := v["RecoveryCodes"].([]any)
	if len(rec) == 0 {
		t.Fatalf("no recovery codes: %s", body)
	}
	c.totpSecret = secret
	for _, r := range rec {
		c.recovery = append(c.recovery, r.(string))
	}
	if c.kind == kindRecovery {
		c.secret, c.recovery = c.recovery[0], c.recovery[1:]
	}
}

// signIn is §3.1 returning "" on any refusal (the attacker's tests count them).
func (l *lab) signIn(t *testing.T, c *http.Client, email, password, totp string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"email": email, "password": password, "totp": totp, "validityInMinutes": 30})
	a := send(t, c, "POST", l.h.base()+"/api/sys/users/token", ctJSON, string(b))
	if a.status == 200 && a.envStatus == 200 {
		return a.value
	}
	return ""
}

// The credential kinds of SPEC §6's table, each as the service issues it.
const (
	kindPassword       = "email+password"
	kindPasswordTOTP   = "email+password+TOTP"
	kindAccess         = "access token"
	kindImpersonation  = "impersonation token"
	kindOneTimeReset   = "one-time JWT: reset completion (§5.4)"
	kindOneTimeMagic   = "one-time JWT: magic link (§5.5)"
	kindOneTimeOTP     = "one-time JWT: OTP verify (§5.5)"
	kindOneTimeLink    = "one-time JWT: link token (§5.3)"
	kindOneTimeMe      = "one-time JWT: AccessToken of me (§5.8)"
	kindRefresh        = "refresh token"
	kindPending        = "pending second-factor step"
	kindEmailCode      = "6-digit emailed code"
	kindResetToken     = "reset token"
	kindRecovery       = "recovery code"
	kindSession        = "session cookie"
	kindConsole        = "console session cookie"
	matrixClientID     = "matrix"
	matrixNewPassword  = "a matrix passphrase"
	matrixReplacedPass = "a replaced passphrase"
)

var (
	mailCodeRE  = regexp.MustCompile(`\b(\d{6})\b`)
	mailMagicRE = regexp.MustCompile(`/user/login\?t=([A-Za-z0-9._%-]+)`)
	mailResetRE = regexp.MustCompile(`/user/newPassword\?token=([A-Za-z0-9_%-]+)`)
)

// errNotServed: this build does not issue the kind at all.
var errNotServed = errors.New("not issued by this build")

// mint issues a credential of kind for a fresh owner. It fails the test
// when the service refuses to issue it: every kind must be obtainable.
func (l *lab) mint(t *testing.T, kind string, admin bool) *cred {
	t.Helper()
	u := l.user(t, admin)
	c := &cred{kind: kind, owner: u, password: pw}
	if err := l.mintFor(t, c); errors.Is(err, errNotServed) {
		// me's AccessToken (SPEC §5.8) lands with another branch; the row runs once it does.
		t.Skipf("%s: not issued by this build", kind)
	} else if err != nil {
		t.Fatalf("mint %s: %v", kind, err)
	}
	return c
}

func (l *lab) mintFor(t *testing.T, c *cred) error {
	t.Helper()
	h, cl, email := l.h, l.client(t), c.owner.Email
	access := func() (string, error) {
		if tok := l.signIn(t, cl, email, c.password, ""); tok != "" {
			return tok, nil
		}
		return "", fmt.Errorf("sign-in of %s refused", email)
	}
	var err error
	switch c.kind {
	case kindPassword:
		c.secret = c.password
	case kindPasswordTOTP:
		l.enrolOwner(t, c)
		c.secret, c.withCode = c.password, true
	case kindAccess:
		c.secret, err = access()
	case kindImpersonation:
		a := send(t, cl, "POST", h.base()+"/api/sys/users/"+itoa(c.owner.ID)+"/token/refresh", "", "",
			"Authorization", basic("admin@example.com", pw))
		if a.status != 200 || a.envStatus != 200 || a.value == "" {
			return fmt.Errorf("impersonation: %s", a)
		}
		c.secret = a.value
	case kindOneTimeReset:
		a := send(t, cl, "POST", h.base()+"/api/sys/users/startPasswordReset", ctJSON,
			`{"Email":"`+email+`","BusinessId":`+itoa(l.f.demo.ID)+`}`)
		if a.status != 200 {
			return fmt.Errorf("startPasswordReset: %s", a)
		}
		tok, _ := url.QueryUnescape(l.mail(t, email, mailResetRE))
		a = send(t, cl, "POST", h.base()+"/api/sys/users/completePasswordReset", ctJSON,
			`{"Token":"`+tok+`","Password":"`+matrixNewPassword+`"}`)
		if a.status != 200 || a.value == "" {
			return fmt.Errorf("completePasswordReset: %s", a)
		}
		c.secret, c.password = a.value, matrixNewPassword
	case kindOneTimeMagic, kindOneTimeOTP, kindEmailCode:
		a := send(t, cl, "GET", h.base()+"/api/sys/users/sendOtp?email="+url.QueryEscape(email)+"&businessId="+itoa(l.f.demo.ID), "", "")
		if a.status != 200 {
			return fmt.Errorf("sendOtp: %s", a)
		}
		switch c.kind {
		case kindOneTimeMagic:
			c.secret, _ = url.QueryUnescape(l.mail(t, email, mailMagicRE))
		case kindEmailCode:
			c.secret = l.mail(t, email, mailCodeRE)
		default:
			codeV := l.mail(t, email, mailCodeRE)
			a = send(t, cl, "POST", h.base()+"/api/sys/users/verifyOtp", ctJSON, `{"email":"`+email+`","code":"`+codeV+`"}`)
			if a.status != 200 || a.value == "" {
				return fmt.Errorf("verifyOtp: %s", a)
			}
			c.secret = a.value
		}
	case kindOneTimeLink, kindOneTimeMe:
		bearer, err := access()
		if err != nil {
			return err
		}
		if c.kind == kindOneTimeLink {
			a := send(t, cl, "POST", h.base()+"/api/sys/users/token/refresh", "", "", "Authorization", "Bearer "+bearer)
			if a.status != 200 || a.value == "" {
				return fmt.Errorf("link token: %s", a)
			}
			c.secret = a.value
			break
		}
		_, _, body := do(t, cl, "GET", h.tenant("demo")+"/en/user/me", "", "", "Authorization", "Bearer "+bearer)
		var me struct{ AccessToken string }
		json.Unmarshal([]byte(body), &me)
		if me.AccessToken == "" {
			return errNotServed
		}
		c.secret = me.AccessToken
	case kindRefresh:
		st, r := oauth(t, h, cl, ctForm, form("grant_type", "password", "username", email, "password", c.password, "client_id", matrixClientID))
		if st != 200 || r.RefreshToken == "" {
			return fmt.Errorf("password grant: %d %+v", st, r)
		}
		c.secret = r.RefreshToken
	case kindPending:
		l.enrolOwner(t, c)
		c.browser = l.client(t)
		csrf := l.formCSRF(t, c.browser)
		_, _, page := do(t, c.browser, "POST", h.tenant("demo")+"/en/user/login", ctForm, form("csrf", csrf, "email", email, "password", c.password))
		m := pendingRE.FindStringSubmatch(page)
		if m == nil {
			return fmt.Errorf("no TOTP step: %s", page)
		}
		c.secret = m[1]
	case kindResetToken:
		a := send(t, cl, "GET", h.tenant("demo")+"/en/user/resetPassword?email="+url.QueryEscape(email), "", "")
		if a.status != 200 {
			return fmt.Errorf("reset request: %s", a)
		}
		c.secret, _ = url.QueryUnescape(l.mail(t, email, mailResetRE))
	case kindRecovery:
		l.enrolOwner(t, c)
	case kindSession:
		tok, err := access()
		if err != nil {
			return err
		}
		b := l.client(t)
		if a := send(t, b, "GET", h.tenant("demo")+"/en/user/login?t="+url.QueryEscape(tok), "", ""); a.status != 302 || !a.session {
			return fmt.Errorf("portal sign-in: %s", a)
		}
		u, _ := url.Parse(h.tenant("demo"))
		for _, ck := range b.Jar.Cookies(u) {
			if ck.Name == "spaceauth_session" {
				c.secret = ck.Value
			}
		}
	case kindConsole:
		// The system host's console: an administrator with two-factor on.
		if !c.owner.IsAdmin {
			return fmt.Errorf("a console session needs an administrator owner")
		}
		l.enrolOwner(t, c)
		b := l.client(t)
		if a := consoleLogin(t, l, b, c); a.status != 303 || !a.session {
			return fmt.Errorf("console sign-in: %s", a)
		}
		u, _ := url.Parse(h.base() + "/admin/")
		for _, ck := range b.Jar.Cookies(u) {
			if ck.Name == "spaceauth_console" {
				c.secret = ck.Value
			}
		}
	case kindOIDC, kindLDAP:
		err = l.mintFederated(t, c)
	default:
		return fmt.Errorf("unknown kind %q", c.kind)
	}
	if err == nil && c.secret == "" {
		err = fmt.Errorf("empty %s", c.kind)
	}
	return err
}

// scramble returns a value shaped like s (same length, same separators,
// digits stay digits) that is not s: the "no credential at all" baseline.
func scramble(s string) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for {
		b := []byte(s)
		r := make([]byte, len(b))
		rand.Read(r)
		for i, ch := range b {
			switch {
			case ch >= '0' && ch <= '9':
				b[i] = '0' + r[i]%10
			case ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
				b[i] = letters[int(r[i])%len(letters)]
			}
		}
		if string(b) != s {
			return string(b)
		}
	}
}
