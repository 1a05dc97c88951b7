package httpapi_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/federation/fedtest"
	"github.com/spaceauth/spaceauth/internal/store"
)

// The people of the test OpenID provider (zitadel's example OP, run as its
// own process). alice's address is verified there; mallory claims alice's
// address without the provider having verified it.
var fedOPUsers = []fedtest.OPUser{
	{ID: "op-alice", Username: "alice", Password: "alice-at-the-op", Email: "alice@example.com", EmailVerified: true, Name: "Alice Martin"},
	{ID: "op-mallory", Username: "mallory", Password: "mallory-at-the-op", Email: "alice@example.com", EmailVerified: false, Name: "Mallory"},
	{ID: "op-newbie", Username: "newbie", Password: "newbie-at-the-op", Email: "newbie@example.com", EmailVerified: true, Name: "Nina Newbie"},
	{ID: "op-unverified-new", Username: "ghost", Password: "ghost-at-the-op", Email: "ghost@example.com", EmailVerified: false, Name: "Ghost"},
	// Verified addresses of people the business does not own: bob is a
	// member of other only, admin administers every business.
	{ID: "op-bob", Username: "bob", Password: "bob-at-the-op", Email: "bob@example.com", EmailVerified: true, Name: "Bob"},
	{ID: "op-admin", Username: "admin", Password: "admin-at-the-op", Email: "admin@example.com", EmailVerified: true, Name: "Admin"},
}

// fedEnv is a harness with the test OP connected to business demo.
type fedEnv struct {
	h    *harness
	f    fixture
	op   *fedtest.OP
	prov store.Provider
}

func newFedEnv(t *testing.T, np auth.NewProvider) *fedEnv {
	t.Helper()
	h := startHarness(t, harnessOptions{kek: "harness-kek"})
	f := h.seed()
	op := fedtest.StartOP(t, fedOPUsers, h.tenant("demo")+"/sso/callback", h.tenant("other")+"/sso/callback")
	np.Kind, np.Issuer, np.ClientID, np.ClientSecret = store.ProviderOIDC, op.Issuer, op.ClientID, op.ClientSecret
	if np.BusinessSlug == "" {
		np.BusinessSlug = "demo"
	}
	if np.Name == "" {
		np.Name = "Test OP"
	}
	p, err := h.svc.AddProvider(context.Background(), np)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Sealed {
		t.Fatal("the client secret was not sealed")
	}
	return &fedEnv{h: h, f: f, op: op, prov: p}
}

// fedBrowser is a spaceauth client (responses checked against the OpenAPI
// document) and a plain client for the provider, sharing one cookie jar.
type fedBrowser struct {
	sa, op *http.Client
}

func (e *fedEnv) browser() fedBrowser {
	jar, _ := cookiejar.New(nil)
	sa := e.h.client()
	sa.Jar = jar
	return fedBrowser{sa: sa, op: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// start clicks the provider button of slug's sign-in page and returns the
// provider URL the fedBrowser is sent to.
func (e *fedEnv) start(t *testing.T, b fedBrowser, slug string, providerID int64, redirect string) string {
	t.Helper()
	u := e.h.tenant(slug) + "/en/user/sso/" + itoa(providerID)
	if redirect != "" {
		u += "?redirectUrl=" + url.QueryEscape(redirect)
	}
	status, hdr, body := do(t, b.sa, "GET", u, "", "")
	if status != http.StatusFound || !strings.HasPrefix(hdr.Get("Location"), e.op.Issuer) {
		t.Fatalf("start: %d %q %.200s", status, hdr.Get("Location"), body)
	}
	return hdr.Get("Location")
}

// signInAtOP walks the provider's login page and returns the callback URL
// it sends the fedBrowser back to (not yet fetched).
func (e *fedEnv) signInAtOP(t *testing.T, b fedBrowser, authURL, user, password, slug string) string {
	t.Helper()
	back, err := fedtest.SignIn(b.op, authURL, user, password, e.h.tenant(slug)+"/sso/callback")
	if err != nil {
		t.Fatal(err)
	}
	return back.String()
}

func (e *fedEnv) audit(t *testing.T, typ string) []store.AuditEvent {
	t.Helper()
	list, err := e.h.store.ListAudit(context.Background(), store.AuditFilter{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func accountOf(t *testing.T, h *harness, c *http.Client, slug string) (int, string) {
	t.Helper()
	status, _, page := do(t, c, "GET", h.tenant(slug)+"/en/user/account", "", "")
	return status, page
}

// TestSSOSignIn: the button on the sign-in page, the provider's real login
// page, and the landing on redirectUrl signed in; the first sign-in links
// alice by her verified email, the next one finds her by the provider's
// subject.
func TestSSOSignIn(t *testing.T) {
	e := newFedEnv(t, auth.NewProvider{Name: "Acme Login", LogoutURL: "https://idp.example/logout"})
	h := e.h
	for i, want := range []string{"sso.linked", ""} {
		b := e.browser()
		status, _, page := do(t, b.sa, "GET", h.tenant("demo")+"/en/user/login?redirectUrl=%2Fen%2Fuser%2Faccount%3Fwelcome%3D1", "", "")
		if status != 200 || !strings.Contains(page, "Sign in with Acme Login") {
			t.Fatalf("sign-in page: %d, no provider button", status)
		}
		href := regexp.MustCompile(`href="(/en/user/sso/[^"]+)"`).FindStringSubmatch(page)
		if href == nil || !strings.Contains(href[1], "redirectUrl=%2Fen%2Fuser%2Faccount%3Fwelcome%3D1") {
			t.Fatalf("button link: %v", href)
		}
		status, hdr, _ := do(t, b.sa, "GET", h.tenant("demo")+strings.ReplaceAll(href[1], "&amp;", "&"), "", "")
		if status != 302 {
			t.Fatalf("button: %d", status)
		}
		authURL := hdr.Get("Location")
		q, _ := url.Parse(authURL)
		for _, p := range []string{"state", "nonce", "code_challenge"} {
			if len(q.Query().Get(p)) < 40 {
				t.Errorf("authorization request %s = %q, want a long random value", p, q.Query().Get(p))
			}
		}
		if q.Query().Get("code_challenge_method") != "S256" || q.Query().Get("redirect_uri") != h.tenant("demo")+"/sso/callback" {
			t.Errorf("authorization request: %s", authURL)
		}
		back := e.signInAtOP(t, b, authURL, "alice", "alice-at-the-op", "demo")
		status, hdr, _ = do(t, b.sa, "GET", back, "", "")
		if status != 302 || hdr.Get("Location") != "/en/user/account?welcome=1" {
			t.Fatalf("callback %d: %d %q", i, status, hdr.Get("Location"))
		}
		status, page = accountOf(t, h, b.sa, "demo")
		if status != 200 || !strings.Contains(page, "alice@example.com") {
			t.Fatalf("account after federated sign-in: %d", status)
		}
		if want != "" && len(e.audit(t, want)) != 1 {
			t.Errorf("audit %s missing", want)
		}
	}
	if n := len(e.audit(t, "sso.linked")); n != 1 {
		t.Errorf("linked %d times, want once (the second sign-in matches by subject)", n)
	}
	ids, err := h.store.UserIdentities(context.Background(), e.f.alice.ID)
	if err != nil || len(ids) != 1 || ids[0].Subject != "op-alice" {
		t.Errorf("alice's links: %+v %v", ids, err)
	}

	// Sign-out of a federated session goes on to the provider's logout URL.
	b := e.browser()
	back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "alice", "alice-at-the-op", "demo")
	if status, hdr, _ := do(t, b.sa, "GET", back, "", ""); status != 302 || hdr.Get("Location") != "/en/user/account" {
		t.Fatalf("callback without redirectUrl: %d %q", status, hdr.Get("Location"))
	}
	_, page := accountOf(t, h, b.sa, "demo")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	status, hdr, _ := do(t, b.sa, "POST", h.tenant("demo")+"/en/user/logout", ctForm, form("csrf", csrf))
	if status != 302 || hdr.Get("Location") != "https://idp.example/logout" {
		t.Fatalf("logout of a federated session: %d %q", status, hdr.Get("Location"))
	}
	if status, _ := accountOf(t, h, b.sa, "demo"); status != 302 {
		t.Errorf("session survived the logout: %d", status)
	}
}

// TestSSOAttacks: what an attacker can do with the flow, each refused with
// no session, and audited.
func TestSSOAttacks(t *testing.T) {
	e := newFedEnv(t, auth.NewProvider{})
	h := e.h
	refused := func(t *testing.T, b fedBrowser, callback string) {
		t.Helper()
		status, hdr, page := do(t, b.sa, "GET", callback, "", "")
		if status != http.StatusUnauthorized || !strings.Contains(page, "did not succeed") {
			t.Fatalf("callback: %d, want 401 with the sign-in form", status)
		}
		// A Basic challenge would make the browser ask for a password
		// over the sign-in page; only a missing credential is challenged.
		if c := hdr.Get("WWW-Authenticate"); c != "" {
			t.Errorf("refused callback challenges the browser: %q", c)
		}
		if status, _ := accountOf(t, h, b.sa, "demo"); status != 302 {
			t.Fatalf("a session was opened: account %d", status)
		}
	}
	reason := func(t *testing.T, want string) {
		t.Helper()
		for _, ev := range e.audit(t, "sso.refused") {
			if strings.Contains(ev.Detail, `"`+want+`"`) {
				return
			}
		}
		t.Errorf("no sso.refused with reason %s", want)
	}

	t.Run("replayed state", func(t *testing.T) {
		b := e.browser()
		back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "alice", "alice-at-the-op", "demo")
		binding := cookieValue(b.sa, h.tenant("demo")+"/sso/callback", "spaceauth_sso")
		if status, _, _ := do(t, b.sa, "GET", back, "", ""); status != 302 {
			t.Fatalf("first use: %d", status)
		}
		// Same fedBrowser, binding cookie put back, same state and code.
		replay := e.browser()
		setCookie(replay.sa, h.tenant("demo")+"/sso/callback", "spaceauth_sso", binding)
		refused(t, replay, back)
		reason(t, "state_unknown_or_replayed")
	})
	t.Run("callback in another browser (login CSRF)", func(t *testing.T) {
		victim, attacker := e.browser(), e.browser()
		back := e.signInAtOP(t, attacker, e.start(t, attacker, "demo", e.prov.ID, ""), "alice", "alice-at-the-op", "demo")
		refused(t, victim, back)
		reason(t, "other_browser")
		// The flow is spent: the attacker cannot use it either.
		refused(t, attacker, back)
	})
	t.Run("expired state", func(t *testing.T) {
		b := e.browser()
		back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "alice", "alice-at-the-op", "demo")
		h.clock.Add(11 * time.Minute)
		refused(t, b, back)
		reason(t, "state_expired")
	})
	t.Run("forged state", func(t *testing.T) {
		b := e.browser()
		refused(t, b, h.tenant("demo")+"/sso/callback?state=forged&code=whatever")
		refused(t, b, h.tenant("demo")+"/sso/callback?code=whatever")
	})
	t.Run("provider error", func(t *testing.T) {
		b := e.browser()
		authURL := e.start(t, b, "demo", e.prov.ID, "")
		u, _ := url.Parse(authURL)
		refused(t, b, h.tenant("demo")+"/sso/callback?error=access_denied&state="+url.QueryEscape(u.Query().Get("state")))
	})
	t.Run("unverified email equal to a member's", func(t *testing.T) {
		b := e.browser()
		back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "mallory", "mallory-at-the-op", "demo")
		refused(t, b, back)
		reason(t, "email_unverified_matches_user")
		if _, err := h.store.IdentityBySubject(context.Background(), e.prov.ID, "op-mallory"); err == nil {
			t.Error("mallory's subject was linked")
		}
	})
	t.Run("unknown user without create-users", func(t *testing.T) {
		b := e.browser()
		back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "newbie", "newbie-at-the-op", "demo")
		refused(t, b, back)
		reason(t, "unknown_user")
		if _, err := h.store.UserByEmail(context.Background(), "newbie@example.com"); err == nil {
			t.Error("a user was created")
		}
	})
	t.Run("provider of business A used on business B", func(t *testing.T) {
		b := e.browser()
		// The button of demo's provider does not exist on other's host.
		if status, _, _ := do(t, b.sa, "GET", h.tenant("other")+"/en/user/sso/"+itoa(e.prov.ID), "", ""); status != 404 {
			t.Errorf("demo's provider on other's host: %d, want 404", status)
		}
		// A flow of demo's provider returned to other's host.
		back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "alice", "alice-at-the-op", "demo")
		onOther := strings.Replace(back, h.tenant("demo"), h.tenant("other"), 1)
		setCookie(b.sa, h.tenant("other")+"/sso/callback", "spaceauth_sso", cookieValue(b.sa, h.tenant("demo")+"/sso/callback", "spaceauth_sso"))
		status, _, _ := do(t, b.sa, "GET", onOther, "", "")
		if status != http.StatusUnauthorized {
			t.Fatalf("callback on other: %d", status)
		}
		if status, _ := accountOf(t, h, b.sa, "other"); status != 302 {
			t.Fatalf("session opened at other: %d", status)
		}
		reason(t, "provider_of_another_business")
	})
	// The authorization request passes through the browser, so an attacker
	// can edit it; the ID token that comes back must still match the flow.
	tamper := func(t *testing.T, edit func(q url.Values)) (fedBrowser, string) {
		t.Helper()
		b := e.browser()
		u, _ := url.Parse(e.start(t, b, "demo", e.prov.ID, ""))
		q := u.Query()
		edit(q)
		u.RawQuery = q.Encode()
		return b, e.signInAtOP(t, b, u.String(), "alice", "alice-at-the-op", "demo")
	}
	t.Run("nonce stripped from the authorization request", func(t *testing.T) {
		b, back := tamper(t, func(q url.Values) { q.Del("nonce") })
		refused(t, b, back)
		reason(t, "invalid_id_token")
	})
	t.Run("nonce replaced in the authorization request", func(t *testing.T) {
		b, back := tamper(t, func(q url.Values) { q.Set("nonce", "attacker-chosen-nonce") })
		refused(t, b, back)
	})
	t.Run("code issued to another client (audience)", func(t *testing.T) {
		b, back := tamper(t, func(q url.Values) { q.Set("client_id", e.op.OtherClient) })
		refused(t, b, back)
	})
	t.Run("PKCE challenge replaced", func(t *testing.T) {
		b, back := tamper(t, func(q url.Values) { q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") })
		refused(t, b, back)
	})
	t.Run("unsafe redirectUrl", func(t *testing.T) {
		b := e.browser()
		back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, "//evil.example/"), "alice", "alice-at-the-op", "demo")
		status, hdr, _ := do(t, b.sa, "GET", back, "", "")
		if status != 302 || hdr.Get("Location") != "/en/user/account" {
			t.Fatalf("callback: %d %q", status, hdr.Get("Location"))
		}
	})
	t.Run("disabled user", func(t *testing.T) {
		if _, err := h.svc.SetActive(context.Background(), "alice@example.com", false); err != nil {
			t.Fatal(err)
		}
		defer h.svc.SetActive(context.Background(), "alice@example.com", true)
		b := e.browser()
		back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "alice", "alice-at-the-op", "demo")
		refused(t, b, back)
		reason(t, "disabled")
	})
}

// TestSSOCreatesUsers: with create-users, an unknown person with a verified
// email becomes a member at the first sign-in; an unverified email never
// makes an account.
func TestSSOCreatesUsers(t *testing.T) {
	e := newFedEnv(t, auth.NewProvider{CreateUsers: true})
	h := e.h
	b := e.browser()
	back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "newbie", "newbie-at-the-op", "demo")
	if status, _, _ := do(t, b.sa, "GET", back, "", ""); status != 302 {
		t.Fatalf("callback: %d", status)
	}
	u, err := h.store.UserByEmail(context.Background(), "newbie@example.com")
	if err != nil || u.FullName != "Nina Newbie" || !u.InBusiness(e.f.demo.ID) {
		t.Fatalf("created user: %+v %v", u, err)
	}
	if len(e.audit(t, "sso.user_created")) != 1 {
		t.Error("no sso.user_created audit event")
	}
	b = e.browser()
	back = e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "ghost", "ghost-at-the-op", "demo")
	if status, _, _ := do(t, b.sa, "GET", back, "", ""); status != http.StatusUnauthorized {
		t.Fatalf("unverified new user: %d", status)
	}
	if _, err := h.store.UserByEmail(context.Background(), "ghost@example.com"); err == nil {
		t.Error("an account was made for an unverified address")
	}

	// Accounts are global: demo's provider asserting the verified address
	// of another business's member, or of an administrator, takes over
	// nothing, even with create-users.
	for _, tc := range []struct{ user, password, reason string }{
		{"bob", "bob-at-the-op", "no_profile"},
		{"admin", "admin-at-the-op", "administrator_not_linked_by_email"},
	} {
		b := e.browser()
		back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), tc.user, tc.password, "demo")
		if status, _, _ := do(t, b.sa, "GET", back, "", ""); status != http.StatusUnauthorized {
			t.Fatalf("%s through demo's provider: %d, want 401", tc.user, status)
		}
		found := false
		for _, ev := range e.audit(t, "sso.refused") {
			found = found || strings.Contains(ev.Detail, `"`+tc.reason+`"`)
		}
		if !found {
			t.Errorf("%s: no sso.refused %s", tc.user, tc.reason)
		}
	}
	bob, err := h.store.UserByEmail(context.Background(), "bob@example.com")
	if err != nil || bob.InBusiness(e.f.demo.ID) {
		t.Errorf("bob was given a profile at demo: %+v %v", bob, err)
	}
	for _, u := range []int64{e.f.bob.ID, e.f.admin.ID} {
		if ids, _ := h.store.UserIdentities(context.Background(), u); len(ids) != 0 {
			t.Errorf("user %d was linked: %+v", u, ids)
		}
	}
}

// TestBusinessRefusesPasswords: the Nexudus options refuse spaceauth
// passwords for members (or administrators) of the business on §3.1, §5.1
// and the portal form, with the wrong-password answer, audited.
func TestBusinessRefusesPasswords(t *testing.T) {
	h := startHarness(t, harnessOptions{})
	f := h.seed()
	ctx := context.Background()
	if _, err := h.svc.AddProvider(ctx, auth.NewProvider{BusinessSlug: "demo", Kind: store.ProviderOIDC, Name: "IdP",
		Issuer: "https://idp.example", ClientID: "c", ClientSecret: "s", NoMemberPasswords: true}); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	tokenStatus := func(email string) (int, env) {
		status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"`+email+`","password":"`+pw+`"}`)
		return status, parseEnv(t, body)
	}
	// alice is a member of demo: refused like a wrong password.
	status, ev := tokenStatus("alice@example.com")
	if status != 200 || ev.WasSuccessful || ev.Status != 500 || ev.Message != "The email address or password you entered is not valid." {
		t.Fatalf("§3.1 for a member: %d %+v", status, ev)
	}
	status, _, body := do(t, c, "POST", h.base()+"/api/token", ctForm, form("grant_type", "password", "username", "alice@example.com", "password", pw))
	if status != 400 || !strings.Contains(body, "invalid_grant") {
		t.Fatalf("§5.1 for a member: %d %s", status, body)
	}
	_, _, page := do(t, c, "GET", h.tenant("demo")+"/en/user/login", "", "")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	if status, _, _ := do(t, c, "POST", h.tenant("demo")+"/en/user/login", ctForm, form("csrf", csrf, "email", "alice@example.com", "password", pw)); status != 401 {
		t.Fatalf("portal form for a member: %d", status)
	}
	n := 0
	list, _ := h.store.ListAudit(ctx, store.AuditFilter{Type: "signin.failure", UserID: f.alice.ID})
	for _, e := range list {
		if strings.Contains(e.Detail, "password_refused_by_business") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("audited refusals: %d, want 3", n)
	}
	// The business's User-Edit holder is an administrator there, and bob a
	// member elsewhere: both keep their passwords.
	for _, email := range []string{"editor@example.com", "bob@example.com"} {
		if _, ev := tokenStatus(email); !ev.WasSuccessful {
			t.Errorf("%s refused: %+v", email, ev)
		}
	}
	// no-admin-passwords refuses the administrators too.
	if _, err := h.svc.AddProvider(ctx, auth.NewProvider{BusinessSlug: "demo", Kind: store.ProviderOIDC, Name: "IdP 2",
		Issuer: "https://idp2.example", ClientID: "c", ClientSecret: "s", NoAdminPasswords: true}); err != nil {
		t.Fatal(err)
	}
	if _, ev := tokenStatus("editor@example.com"); ev.WasSuccessful {
		t.Error("demo's administrator signed in with a password")
	}
}

func cookieValue(c *http.Client, rawURL, name string) string {
	u, _ := url.Parse(rawURL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func setCookie(c *http.Client, rawURL, name, value string) {
	u, _ := url.Parse(rawURL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/sso/"}})
}

// TestSSOStorageFailureIsNotADenial: with the federation tables unreadable,
// the provider's return, the provider button and a password sign-in that
// must consult the business's options answer 503 + Retry-After, never a
// refusal (SPEC §2).
func TestSSOStorageFailureIsNotADenial(t *testing.T) {
	e := newFedEnv(t, auth.NewProvider{NoMemberPasswords: true})
	h := e.h
	html := []string{"Accept", "text/html"}

	// A flow whose return arrives when the links table is gone.
	b := e.browser()
	back := e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "alice", "alice-at-the-op", "demo")
	breakTables(t, h, "federated_identities")
	status, hdr, body := do(t, b.sa, "GET", back, "", "", html...)
	unavailable(t, "callback, links unreadable", status, hdr, body, true)

	// The flow table gone: the return cannot be checked.
	b = e.browser()
	back = e.signInAtOP(t, b, e.start(t, b, "demo", e.prov.ID, ""), "alice", "alice-at-the-op", "demo")
	breakTables(t, h, "oidc_flows")
	status, hdr, body = do(t, b.sa, "GET", back, "", "", html...)
	unavailable(t, "callback, flows unreadable", status, hdr, body, true)
	status, hdr, body = do(t, b.sa, "GET", h.tenant("demo")+"/en/user/sso/"+itoa(e.prov.ID), "", "", html...)
	unavailable(t, "provider button, flows unreadable", status, hdr, body, true)

	// The providers table gone: whether the business refuses alice's
	// password cannot be known, so it is neither accepted nor refused.
	breakTables(t, h, "sso_providers")
	status, hdr, body = do(t, h.client(), "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"`+pw+`"}`)
	unavailable(t, "§3.1 with the options unreadable", status, hdr, body, false)
}

// TestSSOStartIsThrottled: the button writes a flow for an unauthenticated
// request, so one address may start only so many (then 429), and the
// flows nobody finished do not pile up.
func TestSSOStartIsThrottled(t *testing.T) {
	e := newFedEnv(t, auth.NewProvider{})
	c := e.h.client()
	u := e.h.tenant("demo") + "/en/user/sso/" + itoa(e.prov.ID)
	for i := range 30 {
		if status, _, _ := do(t, c, "GET", u, "", ""); status != http.StatusFound {
			t.Fatalf("start %d: %d", i+1, status)
		}
	}
	status, hdr, _ := do(t, c, "GET", u, "", "")
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("31st start: %d Retry-After %q, want 429", status, hdr.Get("Retry-After"))
	}
	// Past the flows' life the address may start again, and the 30
	// abandoned flows are gone with the next one.
	e.h.clock.Add(11 * time.Minute)
	if status, _, _ := do(t, c, "GET", u, "", ""); status != http.StatusFound {
		t.Fatalf("start after the window: %d", status)
	}
	db, err := sql.Open("sqlite", "file:"+e.h.dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM oidc_flows`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d flows stored, want only the live one", n)
	}
}

// TestSSOProviderDown: a provider that cannot be reached is a fault (503
// with Retry-After), not a refusal, and the password form still works.
func TestSSOProviderDown(t *testing.T) {
	h := newHarness(t)
	h.seed()
	p, err := h.svc.AddProvider(context.Background(), auth.NewProvider{BusinessSlug: "demo", Kind: store.ProviderOIDC,
		Name: "Gone", Issuer: "http://127.0.0.1:1/", ClientID: "c", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	c := h.client()
	status, hdr, body := do(t, c, "GET", h.tenant("demo")+"/en/user/sso/"+itoa(p.ID), "", "", "Accept", "text/html")
	unavailable(t, "button of an unreachable provider", status, hdr, body, true)
	if tok := signIn(t, h, c, "alice@example.com", 5); tok == "" {
		t.Error("password sign-in failed while a provider is down")
	}
}
