package httpapi_test

// Attacks of the security assessments (issues #10 and #18) on the core of
// the credential rules of SPEC §6, each against the real server.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/mail/mailtest"
	"github.com/spaceauth/spaceauth/internal/store"
)

var (
	csrfRE    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	pendingRE = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

// browser is a fresh client that has opened the sign-in page of slug: it
// holds that page's CSRF cookie and token.
func browser(t *testing.T, h *harness, slug string) (*http.Client, string) {
	t.Helper()
	b := h.client()
	_, _, page := do(t, b, "GET", h.tenant(slug)+"/en/user/login", "", "")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the sign-in page: %s", page)
	}
	return b, m[1]
}

// pendingStep posts the password on the portal form of a two-factor user
// and returns the hidden token of the TOTP step.
func pendingStep(t *testing.T, h *harness, b *http.Client, csrf, email string) string {
	t.Helper()
	status, _, page := do(t, b, "POST", h.tenant("demo")+"/en/user/login", ctForm, form("csrf", csrf, "email", email, "password", pw))
	m := pendingRE.FindStringSubmatch(page)
	if status != 200 || m == nil {
		t.Fatalf("TOTP step: %d %s", status, page)
	}
	return m[1]
}

// meStatus is GET /en/user/me with the Authorization header auth.
func meStatus(t *testing.T, h *harness, auth string) int {
	t.Helper()
	status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/me", "", "", "Authorization", auth)
	return status
}

// portalSession signs a fresh browser in with ?t=tok and returns it.
func portalSession(t *testing.T, h *harness, tok string) *http.Client {
	t.Helper()
	b := h.client()
	if status, _, _ := do(t, b, "GET", h.tenant("demo")+"/en/user/login?t="+url.QueryEscape(tok), "", ""); status != http.StatusFound {
		t.Fatalf("portal sign-in with a fresh token: %d", status)
	}
	return b
}

// sessionLive reports whether b's session still opens the account page.
func sessionLive(t *testing.T, h *harness, b *http.Client) bool {
	t.Helper()
	status, _, _ := do(t, b, "GET", h.tenant("demo")+"/en/user/account", "", "")
	return status == http.StatusOK
}

type exchangePair struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refresh_token"`
}

func exchange(t *testing.T, h *harness, tok string) (int, exchangePair) {
	t.Helper()
	status, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/exchange?token="+url.QueryEscape(tok), "", "")
	var p exchangePair
	if status == 200 {
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("exchange answer: %s", body)
		}
	}
	return status, p
}

// adminImpersonates is the seeded admin's impersonation token for user id
// (SPEC §5.3); query carries the request's options.
func adminImpersonates(t *testing.T, h *harness, id int64, query string) string {
	t.Helper()
	_, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/"+itoa(id)+"/token/refresh"+query, "", "",
		"Authorization", basic("admin@example.com", pw))
	imp, _ := parseEnv(t, body).Value.(string)
	if imp == "" {
		t.Fatalf("impersonation: %s", body)
	}
	return imp
}

func linkToken(t *testing.T, h *harness, bearer string) (int, string) {
	t.Helper()
	status, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/token/refresh", "", "", "Authorization", "Bearer "+bearer)
	v, _ := parseEnv(t, body).Value.(string)
	return status, v
}

// TestAttackPendingTOTPStep (#10.1): the hidden token of the portal's TOTP
// step was stored as a sign-in code, so verifyOtp with "pending:<token>"
// returned a token without the second factor. The step is its own
// credential: only that form's TOTP step in the same browser, 5 minutes.
func TestAttackPendingTOTPStep(t *testing.T) {
	h := newHarness(t)
	h.seed()
	secret, _ := enrol(t, h, h.client(), "alice@example.com")
	h.clock.Add(60 * time.Second)
	b, csrf := browser(t, h, "demo")
	pending := pendingStep(t, h, b, csrf, "alice@example.com")

	for _, guess := range []string{"pending:" + pending, pending} {
		status, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/verifyOtp", ctJSON,
			`{"email":"alice@example.com","code":"`+guess+`"}`)
		if e := parseEnv(t, body); status == 200 || e.WasSuccessful || e.Value != nil {
			t.Fatalf("verifyOtp with the pending step %q: %d %s", guess[:8], status, body)
		}
	}
	// Another browser (its own CSRF cookie) cannot finish the step, even
	// with the right code.
	other, otherCSRF := browser(t, h, "demo")
	status, _, _ := do(t, other, "POST", h.tenant("demo")+"/en/user/login", ctForm,
		form("csrf", otherCSRF, "email", "alice@example.com", "token", pending, "totp", code(t, secret, h.clock.Now())))
	if status == http.StatusFound {
		t.Fatal("the pending step was finished in another browser")
	}
	// The browser that began it finishes it with the code.
	status, hdr, _ := do(t, b, "POST", h.tenant("demo")+"/en/user/login", ctForm,
		form("csrf", csrf, "email", "alice@example.com", "token", pending, "totp", code(t, secret, h.clock.Now())))
	if status != http.StatusFound || hdr.Get("Location") != "/en/user/account" {
		t.Fatalf("TOTP step in its own browser: %d %q", status, hdr.Get("Location"))
	}
	// A step lives 5 minutes.
	b2, csrf2 := browser(t, h, "demo")
	pending2 := pendingStep(t, h, b2, csrf2, "alice@example.com")
	h.clock.Add(5*time.Minute + time.Second)
	status, _, _ = do(t, b2, "POST", h.tenant("demo")+"/en/user/login", ctForm,
		form("csrf", csrf2, "email", "alice@example.com", "token", pending2, "totp", code(t, secret, h.clock.Now())))
	if status == http.StatusFound {
		t.Fatal("a pending step older than 5 minutes was accepted")
	}
	// Nothing of the steps was stored as a sign-in code.
	if _, err := h.store.LatestOTP(context.Background(), mustUser(t, h, "alice@example.com").ID); err == nil {
		t.Fatal("the pending step is stored in the sign-in code table")
	}
}

func mustUser(t *testing.T, h *harness, email string) store.User {
	t.Helper()
	u, err := h.store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mkUser(t *testing.T, h *harness, email string, slugs []string, admin bool, roles ...string) store.User {
	t.Helper()
	u, err := h.svc.CreateUser(context.Background(), auth.NewUser{Email: email, Name: "User " + email, Password: pw,
		BusinessSlugs: slugs, Admin: admin, Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAttackImpersonationPrivilege (#10.2): a User-Edit caller minted a
// token for an administrator with a profile in its business. SPEC §6: only
// non-administrators of its businesses holding no role it lacks.
func TestAttackImpersonationPrivilege(t *testing.T) {
	h := newHarness(t)
	f := h.seed()
	boss := mkUser(t, h, "boss@example.com", []string{"demo"}, true)
	biller := mkUser(t, h, "biller@example.com", []string{"demo"}, false, "User-Edit", "Billing")
	peer := mkUser(t, h, "peer@example.com", []string{"demo"}, false, "User-Edit")
	editor := basic("editor@example.com", pw)
	admin := basic("admin@example.com", pw)
	for _, tc := range []struct {
		name   string
		caller string
		target int64
		status int // HTTP status; 200 means a token was issued
	}{
		{"editor for an admin of its business", editor, boss.ID, 403},
		{"editor for a holder of a role it lacks", editor, biller.ID, 403},
		{"editor for an admin without profile", editor, f.admin.ID, 404},
		{"editor outside its businesses", editor, f.bob.ID, 404},
		{"editor for a peer", editor, peer.ID, 200},
		{"editor for a member", editor, f.alice.ID, 200},
		{"admin for an admin", admin, boss.ID, 200},
		{"admin for a role holder", admin, biller.ID, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/"+itoa(tc.target)+"/token/refresh", "", "",
				"Authorization", tc.caller)
			e := parseEnv(t, body)
			if status != tc.status || e.Status != tc.status {
				t.Fatalf("HTTP %d Status %d, want %d: %s", status, e.Status, tc.status, body)
			}
			if tc.status == 200 && claims(t, e.Value.(string))["knd"] != "impersonation" {
				t.Errorf("impersonation token of kind %v", claims(t, e.Value.(string))["knd"])
			}
		})
	}
}

// TestAttackImpersonationKeepsAct (#10.7): an impersonation token
// exchanged (or turned into a link token, or refreshed) lost act, and the
// audit its actor. Every derived token keeps both.
func TestAttackImpersonationKeepsAct(t *testing.T) {
	h := newHarness(t)
	f := h.seed()
	ctx := context.Background()
	imp := adminImpersonates(t, h, f.alice.ID, "?validityInMinutes=1")
	wantAct := func(what, tok, kind string) {
		t.Helper()
		m := claims(t, tok)
		act, _ := m["act"].(map[string]any)
		if act == nil || act["sub"] != itoa(f.admin.ID) || m["sub"] != itoa(f.alice.ID) || m["knd"] != kind {
			t.Errorf("%s: claims %v, want act %d and kind %s", what, m, f.admin.ID, kind)
		}
	}
	wantAct("impersonation token", imp, "impersonation")

	status, link := linkToken(t, h, imp)
	if status != 200 {
		t.Fatalf("link token from the impersonation token: %d", status)
	}
	wantAct("link token", link, "one-time")
	portalSession(t, h, link)

	status, pair := exchange(t, h, imp)
	if status != 200 {
		t.Fatalf("exchange of the impersonation token: %d", status)
	}
	wantAct("exchanged token", pair.Token, "impersonation")
	status, r := refresh(t, h, h.client(), pair.RefreshToken, "")
	if status != 200 {
		t.Fatalf("refresh of the exchange's refresh token: %d %+v", status, r)
	}
	wantAct("refreshed token", r.AccessToken, "impersonation")

	// An impersonated API user minting for another user: the person
	// behind it stays the actor.
	asEditor := adminImpersonates(t, h, f.editor.ID, "")
	_, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/"+itoa(f.alice.ID)+"/token/refresh", "", "",
		"Authorization", "Bearer "+asEditor)
	chained, _ := parseEnv(t, body).Value.(string)
	if chained == "" {
		t.Fatalf("impersonation by an impersonated editor: %s", body)
	}
	wantAct("token minted by an impersonated editor", chained, "impersonation")

	for _, typ := range []string{"signin.success", "token.refreshed", "session.created"} {
		evs, err := h.store.ListAudit(ctx, store.AuditFilter{UserID: f.alice.ID, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			t.Fatalf("no %s event", typ)
		}
		for _, e := range evs {
			if e.ActorID != f.admin.ID {
				t.Errorf("%s audited with actor %d, want %d: %+v", typ, e.ActorID, f.admin.ID, e)
			}
		}
	}
}

// TestAttackDisableEnableRevivesNothing (#10.9): `user disable` then
// `user enable` brought old tokens, refresh tokens and sessions back.
// The CLI calls the same auth.Service.SetActive as here.
func TestAttackDisableEnableRevivesNothing(t *testing.T) {
	h := newHarness(t)
	h.seed()
	ctx := context.Background()
	bearer := signIn(t, h, h.client(), "alice@example.com", 30)
	g := passwordGrant(t, h, h.client(), "alice@example.com", "app")
	sess := portalSession(t, h, signIn(t, h, h.client(), "alice@example.com", 30))
	if meStatus(t, h, "Bearer "+bearer) != 200 || !sessionLive(t, h, sess) {
		t.Fatal("credentials dead before the disable")
	}
	// Pending links: a reset link and a magic link.
	do(t, h.client(), "POST", h.base()+"/api/sys/users/startPasswordReset", ctJSON, `{"Email":"alice@example.com"}`)
	resetURL, _ := resetLink(t, h, 1)
	ru, _ := url.Parse(resetURL)
	do(t, h.client(), "GET", h.base()+"/api/sys/users/sendOtp?email=alice@example.com", "", "")
	msgs := h.smtp.WaitFor(2, 10*time.Second)
	magic := magicRE.FindString(msgs[1].Text)
	if magic == "" {
		t.Fatalf("no magic link in %q", msgs[1].Text)
	}
	if _, err := h.svc.SetActive(ctx, "alice@example.com", false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.SetActive(ctx, "alice@example.com", true); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"access token": bearer, "grant's access token": g.AccessToken} {
		if status := meStatus(t, h, "Bearer "+tok); status != 401 {
			t.Errorf("%s after disable+enable: %d", name, status)
		}
	}
	if status, r := refresh(t, h, h.client(), g.RefreshToken, "app"); status != 400 || r.Error != "invalid_grant" {
		t.Errorf("refresh token after disable+enable: %d %+v", status, r)
	}
	if sessionLive(t, h, sess) {
		t.Error("session alive after disable+enable")
	}
	if status, _, _ := do(t, h.client(), "GET", magic, "", ""); status == http.StatusFound {
		t.Error("magic link signed in after disable+enable")
	}
	status, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/completePasswordReset", ctJSON,
		`{"Token":"`+ru.Query().Get("token")+`","Password":"a chosen new phrase"}`)
	if status != 400 {
		t.Errorf("reset link after disable+enable: %d %s", status, body)
	}
	signIn(t, h, h.client(), "alice@example.com", 5) // enabled again
}

// TestMeTwoFactorEnabled (#10.9): /me always said TwoFactorEnabled:false.
func TestMeTwoFactorEnabled(t *testing.T) {
	h := newHarness(t)
	h.seed()
	aliceBearer := signIn(t, h, h.client(), "alice@example.com", 30)
	bobBearer := signIn(t, h, h.client(), "bob@example.com", 30)
	enrol(t, h, h.client(), "alice@example.com")
	for _, tc := range []struct {
		bearer string
		want   bool
	}{{aliceBearer, true}, {bobBearer, false}} {
		status, _, body := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/me", "", "", "Authorization", "Bearer "+tc.bearer)
		var me struct{ TwoFactorEnabled bool }
		if err := json.Unmarshal([]byte(body), &me); err != nil || status != 200 || me.TwoFactorEnabled != tc.want {
			t.Errorf("me: %d %s, want TwoFactorEnabled %v", status, body, tc.want)
		}
	}
}

// gatedHasher holds every check of one password between the user read
// and the credentials, until released: a sign-in in flight.
type gatedHasher struct {
	auth.Hasher
	password string
	armed    atomic.Bool
	entered  chan struct{}
	release  chan struct{}
}

func (g *gatedHasher) Verify(password, encoded string) (bool, bool, error) {
	if g.armed.Load() && password == g.password {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.Hasher.Verify(password, encoded)
}

// TestAttackRevocationInFlight (#18.2): password grants and portal
// sign-ins with the old password, running while `user set-password`
// committed, left live refresh tokens and sessions. Each credential
// carries the version read before its check and dies with the change.
func TestAttackRevocationInFlight(t *testing.T) {
	const grants, portals = 6, 6
	g := &gatedHasher{password: pw, entered: make(chan struct{}, grants+portals), release: make(chan struct{})}
	h := startHarness(t, harnessOptions{hashSlots: 2 * (grants + portals),
		hasher: func(inner auth.Hasher) auth.Hasher { g.Hasher = inner; return g }})
	h.seed()
	type portal struct {
		b    *http.Client
		csrf string
	}
	var browsers []portal
	for range portals {
		b, csrf := browser(t, h, "demo")
		browsers = append(browsers, portal{b, csrf})
	}
	g.armed.Store(true)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var tokens []tokenResp
	var sessions []*http.Client
	var finished atomic.Int64 // requests answered (the held ones answer only after the release)
	for i := range grants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.client()
			status, _, raw := do(t, c, "POST", h.base()+"/api/token", ctForm,
				form("grant_type", "password", "username", "alice@example.com", "password", pw, "client_id", "app-"+itoa(int64(i))))
			finished.Add(1)
			var r tokenResp
			json.Unmarshal([]byte(raw), &r)
			if status == 200 {
				mu.Lock()
				tokens = append(tokens, r)
				mu.Unlock()
			}
		}()
	}
	for _, p := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, _ := do(t, p.b, "POST", h.tenant("demo")+"/en/user/login", ctForm,
				form("csrf", p.csrf, "email", "alice@example.com", "password", pw))
			finished.Add(1)
			if status == http.StatusFound {
				mu.Lock()
				sessions = append(sessions, p.b)
				mu.Unlock()
			}
		}()
	}
	// Wait until the checks are running (each read alice before hashing),
	// or until the throttle refused the ones it would not let through.
	// The throttle lets at most the account's allowance be checked at once
	// (SPEC §6); the others are refused unchecked. Every request is either
	// held in its check or answered before the change commits: one that
	// started after it would be a plain wrong password, counted as one.
	deadline := time.After(20 * time.Second)
	held := 0
wait:
	for held+int(finished.Load()) < grants+portals {
		select {
		case <-g.entered:
			held++
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			break wait
		}
	}
	if held == 0 {
		t.Fatal("no sign-in reached its password check")
	}
	if _, err := h.svc.SetPassword(context.Background(), "alice@example.com", "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	g.armed.Store(false)
	close(g.release)
	wg.Wait()
	if len(tokens)+len(sessions) == 0 {
		t.Fatal("no sign-in in flight completed: nothing to check")
	}
	t.Logf("%d checks in flight; %d grants and %d sessions completed after the change", held, len(tokens), len(sessions))
	for i, r := range tokens {
		if status := meStatus(t, h, "Bearer "+r.AccessToken); status != 401 {
			t.Errorf("grant %d: access token alive after the change: %d", i, status)
		}
		_, _, body := do(t, h.client(), "POST", h.base()+"/api/oauth/introspect", ctForm, form("token", r.RefreshToken),
			"Authorization", basic("admin@example.com", pw))
		if !strings.Contains(body, `"active":false`) {
			t.Errorf("grant %d: refresh token introspected as %s", i, body)
		}
		if status, rr := refresh(t, h, h.client(), r.RefreshToken, ""); status != 400 {
			t.Errorf("grant %d: refresh token alive after the change: %d %+v", i, status, rr)
		}
	}
	for i, b := range sessions {
		if sessionLive(t, h, b) {
			t.Errorf("session %d alive after the change", i)
		}
	}
	if list, err := h.svc.Sessions(context.Background(), mustUser(t, h, "alice@example.com").ID); err != nil || len(list) != 0 {
		t.Errorf("dead sessions listed as active: %d (%v)", len(list), err)
	}
	// The new password works; the old one does not.
	_, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"a brand new passphrase"}`)
	if e := parseEnv(t, body); e.Status != 200 {
		t.Fatalf("new password: %s", body)
	}
}

// TestAttackRequireResetLocksEverything (#18.3): after require-reset the
// old bearer still read /me, the refresh grant issued, sendOtp+verifyOtp
// gave a token and a must-reset User-Edit still impersonated by Basic.
func TestAttackRequireResetLocksEverything(t *testing.T) {
	h := newHarness(t)
	f := h.seed()
	ctx := context.Background()
	bearer := signIn(t, h, h.client(), "alice@example.com", 30)
	g := passwordGrant(t, h, h.client(), "alice@example.com", "app")
	sess := portalSession(t, h, signIn(t, h, h.client(), "alice@example.com", 30))
	editorBearer := signIn(t, h, h.client(), "editor@example.com", 30)
	do(t, h.client(), "GET", h.base()+"/api/sys/users/sendOtp?email=alice@example.com", "", "")
	msgs := h.smtp.WaitFor(1, 10*time.Second)
	codeM, link := codeRE.FindStringSubmatch(msgs[0].Text), magicRE.FindString(msgs[0].Text)
	if codeM == nil || link == "" {
		t.Fatalf("no code or link in %q", msgs[0].Text)
	}
	lu, _ := url.Parse(link)
	magic := lu.Query().Get("t")
	do(t, h.client(), "POST", h.base()+"/api/sys/users/startPasswordReset", ctJSON, `{"Email":"alice@example.com"}`)
	oldReset, _ := resetLink(t, h, 2)

	for _, email := range []string{"alice@example.com", "editor@example.com"} {
		if _, err := h.svc.RequireReset(ctx, email); err != nil {
			t.Fatal(err)
		}
	}
	if status := meStatus(t, h, "Bearer "+bearer); status != 401 {
		t.Errorf("/me with the old bearer: %d", status)
	}
	if status := meStatus(t, h, basic("alice@example.com", pw)); status != 403 {
		t.Errorf("/me with Basic: %d", status)
	}
	if status, r := refresh(t, h, h.client(), g.RefreshToken, "app"); status != 400 {
		t.Errorf("refresh grant: %d %+v", status, r)
	}
	if sessionLive(t, h, sess) {
		t.Error("session alive")
	}
	status, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/verifyOtp", ctJSON, `{"email":"alice@example.com","code":"`+codeM[1]+`"}`)
	if e := parseEnv(t, body); status != 401 || e.WasSuccessful || e.Value != nil {
		t.Errorf("verifyOtp: %d %s", status, body)
	}
	if status, _ := exchange(t, h, magic); status == 200 {
		t.Error("the magic link exchanged")
	}
	if status, _, _ := do(t, h.client(), "GET", link, "", ""); status == http.StatusFound {
		t.Error("the magic link signed in")
	}
	do(t, h.client(), "GET", h.base()+"/api/sys/users/sendOtp?email=alice@example.com", "", "")
	outboxDrained(t, h)
	if n := len(h.smtp.Messages()); n != 2 {
		t.Errorf("%d messages: a sign-in code was sent to a must-reset user", n)
	}
	// Impersonation of and by a must-reset user.
	imp := func(caller string, target int64) (int, env) {
		status, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/"+itoa(target)+"/token/refresh", "", "", "Authorization", caller)
		return status, parseEnv(t, body)
	}
	if status, e := imp(basic("admin@example.com", pw), f.alice.ID); status != 403 || e.WasSuccessful {
		t.Errorf("admin impersonating a must-reset user: %d %+v", status, e)
	}
	if _, e := imp(basic("editor@example.com", pw), f.bob.ID); e.WasSuccessful || e.Status != 500 {
		t.Errorf("must-reset editor impersonating by Basic: %+v", e)
	}
	if _, e := imp("Bearer "+editorBearer, f.alice.ID); e.WasSuccessful {
		t.Errorf("must-reset editor impersonating by its old bearer: %+v", e)
	}
	if _, e := imp(basic("editor@example.com", pw), f.alice.ID); e.WasSuccessful {
		t.Errorf("must-reset editor impersonating: %+v", e)
	}
	// A reset link from before the requirement died with everything else;
	// a new reset is the one way back in.
	complete := func(link, password string) int {
		u, _ := url.Parse(link)
		status, _, _ := do(t, h.client(), "POST", h.base()+"/api/sys/users/completePasswordReset", ctJSON,
			`{"Token":"`+u.Query().Get("token")+`","Password":"`+password+`"}`)
		return status
	}
	if status := complete(oldReset, "a chosen new phrase"); status != 400 {
		t.Errorf("reset link from before the requirement: %d", status)
	}
	do(t, h.client(), "POST", h.base()+"/api/sys/users/startPasswordReset", ctJSON, `{"Email":"alice@example.com"}`)
	newReset, _ := resetLink(t, h, 3)
	if status := complete(newReset, "a chosen new phrase"); status != 200 {
		t.Fatalf("new reset: %d", status)
	}
	_, _, body = do(t, h.client(), "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"a chosen new phrase"}`)
	if e := parseEnv(t, body); e.Status != 200 {
		t.Errorf("sign-in after the reset: %s", body)
	}
}

// TestAttackOneTimeTokens (#18.4): a magic-link token spent at t= still
// answered as a bearer, and minted link tokens that minted more. A
// one-time token is refused as a bearer and works once at t= or exchange.
func TestAttackOneTimeTokens(t *testing.T) {
	h := newHarness(t)
	h.seed()
	mkUser(t, h, "dora@example.com", []string{"demo"}, false)
	access := signIn(t, h, h.client(), "alice@example.com", 30)
	oneTime := map[string]func() string{
		"link token": func() string {
			status, v := linkToken(t, h, access)
			if status != 200 {
				t.Fatalf("link token: %d", status)
			}
			return v
		},
		"magic link": func() string {
			n := len(h.smtp.Messages())
			do(t, h.client(), "GET", h.base()+"/api/sys/users/sendOtp?email=alice@example.com", "", "")
			m := mailAfter(t, h, n, magicRE)
			lu, err := url.Parse(magicRE.FindString(m.Text))
			if err != nil || lu.Query().Get("t") == "" {
				t.Fatalf("no magic link in %q", m.Text)
			}
			return lu.Query().Get("t")
		},
		"sign-in code token": func() string {
			n := len(h.smtp.Messages())
			do(t, h.client(), "GET", h.base()+"/api/sys/users/sendOtp?email=alice@example.com", "", "")
			m := mailAfter(t, h, n, codeRE)
			_, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/verifyOtp", ctJSON,
				`{"email":"alice@example.com","code":"`+codeRE.FindStringSubmatch(m.Text)[1]+`"}`)
			v, _ := parseEnv(t, body).Value.(string)
			if v == "" {
				t.Fatalf("verifyOtp: %s", body)
			}
			return v
		},
		"reset completion token": func() string {
			n := len(h.smtp.Messages())
			do(t, h.client(), "POST", h.base()+"/api/sys/users/startPasswordReset", ctJSON, `{"Email":"dora@example.com"}`)
			lu, _ := url.Parse(linkRE.FindString(mailAfter(t, h, n, linkRE).Text))
			_, _, body := do(t, h.client(), "POST", h.base()+"/api/sys/users/completePasswordReset", ctJSON,
				`{"Token":"`+lu.Query().Get("token")+`","Password":"a chosen new phrase `+itoa(int64(n))+`"}`)
			v, _ := parseEnv(t, body).Value.(string)
			if v == "" {
				t.Fatalf("completePasswordReset: %s", body)
			}
			return v
		},
	}
	for name, mint := range oneTime {
		t.Run(name, func(t *testing.T) {
			// One at a time: a reset completion kills the tokens issued before it.
			spentAtPortal := mint()
			if k := claims(t, spentAtPortal)["knd"]; k != "one-time" {
				t.Errorf("kind %v", k)
			}
			refused := func(when, tok string) {
				t.Helper()
				if status := meStatus(t, h, "Bearer "+tok); status != 401 {
					t.Errorf("%s: accepted as a bearer on /me: %d", when, status)
				}
				if status, v := linkToken(t, h, tok); status != 401 || v != "" {
					t.Errorf("%s: minted a link token: %d", when, status)
				}
				if status, _, _ := do(t, h.client(), "POST", h.base()+"/api/sys/users/me/totp", "", "", "Authorization", "Bearer "+tok); status != 401 {
					t.Errorf("%s: accepted as a bearer for two-factor enrolment: %d", when, status)
				}
			}
			refused("before use", spentAtPortal)
			portalSession(t, h, spentAtPortal)
			if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+url.QueryEscape(spentAtPortal), "", ""); status != 401 {
				t.Errorf("second use at t=: %d", status)
			}
			refused("after t=", spentAtPortal)
			forExchange := mint()
			if status, _ := exchange(t, h, forExchange); status != 200 {
				t.Errorf("exchange: %d", status)
			}
			if status, _ := exchange(t, h, forExchange); status != 401 {
				t.Errorf("second exchange: %d", status)
			}
			refused("after the exchange", forExchange)
		})
	}
	// An access token stays a bearer, and works once at t=.
	if meStatus(t, h, "Bearer "+access) != 200 {
		t.Fatal("access token refused as a bearer")
	}
	portalSession(t, h, access)
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+url.QueryEscape(access), "", ""); status != 401 {
		t.Errorf("access token used twice at t=: %d", status)
	}
	if meStatus(t, h, "Bearer "+access) != 200 {
		t.Error("access token no longer a bearer after its portal use")
	}
	if k := claims(t, access)["knd"]; k != "access" {
		t.Errorf("access token of kind %v", k)
	}
}

// mailAfter waits for the first message after the first n whose text
// matches re: another flow's mail (a "password changed" notice) may arrive
// in between.
func mailAfter(t *testing.T, h *harness, n int, re *regexp.Regexp) mailtest.Received {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := h.smtp.WaitFor(n+1, time.Until(deadline))
		for _, m := range msgs[min(n, len(msgs)):] {
			if re.MatchString(m.Text) {
				return m
			}
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("no mail matching %s after the first %d", re, n)
		}
		n = len(msgs)
	}
}
