package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/passkey/passkeytest"
	"github.com/spaceauth/spaceauth/internal/store"
)

type ceremony struct {
	Handle  string          `json:"handle"`
	Options json.RawMessage `json:"options"`
}

func beginJSON(t *testing.T, c *http.Client, rawURL string, hdr ...string) ceremony {
	t.Helper()
	status, _, body := do(t, c, "POST", rawURL, "", "", hdr...)
	var cer ceremony
	if status != 200 || json.Unmarshal([]byte(body), &cer) != nil || cer.Handle == "" {
		t.Fatalf("begin %s: %d %s", rawURL, status, body)
	}
	return cer
}

func finishBody(handle string, credential []byte, name string) string {
	b, _ := json.Marshal(map[string]any{"handle": handle, "credential": json.RawMessage(credential), "name": name})
	return string(b)
}

// registerPasskey adds a passkey for the bearer at slug through the JSON
// API, with a fresh software authenticator.
func registerPasskey(t *testing.T, h *harness, c *http.Client, bearer, slug string) *passkeytest.Credential {
	t.Helper()
	auth := []string{"Authorization", "Bearer " + bearer}
	cer := beginJSON(t, c, h.tenant(slug)+"/api/sys/users/me/passkeys/register/begin", auth...)
	var a passkeytest.Authenticator
	resp, cred, err := a.Register(h.tenant(slug), cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := do(t, c, "POST", h.tenant(slug)+"/api/sys/users/me/passkeys/register/finish", ctJSON, finishBody(cer.Handle, resp, "Test key"), auth...)
	if status != 201 || !strings.Contains(body, `"name":"Test key"`) {
		t.Fatalf("register finish: %d %s", status, body)
	}
	return cred
}

// passkeyToken signs in at slug with cred through the JSON API; it returns
// the envelope.
func passkeyToken(t *testing.T, h *harness, c *http.Client, slug string, cred *passkeytest.Credential) env {
	t.Helper()
	cer := beginJSON(t, c, h.tenant(slug)+"/api/passkeys/signin/begin")
	ch, err := passkeytest.Challenge(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cred.Assert(h.tenant(slug), slug+".localhost", ch)
	if err != nil {
		t.Fatal(err)
	}
	_, _, body := do(t, c, "POST", h.tenant(slug)+"/api/passkeys/signin/finish", ctJSON, finishBody(cer.Handle, resp, ""))
	return parseEnv(t, body)
}

// TestPasskeyAPI: a passkey registered through the JSON API signs in
// without email or password, satisfies two-factor, and its one-time token
// goes through §5.3's exchange and a §3.3 link like any other sign-in.
func TestPasskeyAPI(t *testing.T) {
	h := newHarness(t)
	h.seed()
	c := h.client()
	enrol(t, h, c, "alice@example.com") // two-factor on: a passkey still needs no code
	bearer := signInTOTP(t, h, c, "alice@example.com")
	cred := registerPasskey(t, h, c, bearer, "demo")

	status, _, body := do(t, c, "GET", h.tenant("demo")+"/api/sys/users/me/passkeys", "", "", "Authorization", "Bearer "+bearer)
	if status != 200 || !strings.Contains(body, `"lastUsedAt":null`) {
		t.Fatalf("list: %d %s", status, body)
	}

	e := passkeyToken(t, h, c, "demo", cred)
	oneTime, _ := e.Value.(string)
	if e.Status != 200 || oneTime == "" || claims(t, oneTime)["knd"] != "one-time" {
		t.Fatalf("passkey sign-in: %+v", e)
	}
	if st := meStatus(t, h, "Bearer "+oneTime); st != 401 {
		t.Errorf("the one-time token worked as a bearer: %d", st)
	}
	status, _, body = do(t, c, "POST", h.base()+"/api/sys/users/exchange?token="+oneTime, "", "")
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &pair) != nil || pair.AccessToken == "" || pair.RefreshToken == "" {
		t.Fatalf("exchange: %d %s", status, body)
	}
	if st := meStatus(t, h, "Bearer "+pair.AccessToken); st != 200 {
		t.Errorf("exchanged token refused: %d", st)
	}

	// A second sign-in's token opens the portal once (§3.3).
	e = passkeyToken(t, h, c, "demo", cred)
	link, _ := e.Value.(string)
	b := h.client()
	status, hdr, _ := do(t, b, "GET", h.tenant("demo")+"/en/user/login?t="+link+"&redirectUrl=/en/user/account", "", "")
	if status != 302 || hdr.Get("Location") != "/en/user/account" {
		t.Fatalf("link: %d %v", status, hdr)
	}

	// Rename, then remove: a removed passkey signs in no more.
	list := passkeyList(t, h, c, bearer)
	id := itoa(list[0].ID)
	if status, _, body := do(t, c, "PATCH", h.tenant("demo")+"/api/sys/users/me/passkeys/"+id, ctJSON, `{"Name":"Phone"}`, "Authorization", "Bearer "+bearer); status != 200 {
		t.Fatalf("rename: %d %s", status, body)
	}
	if l := passkeyList(t, h, c, bearer); l[0].Name != "Phone" || l[0].LastUsedAt == nil {
		t.Errorf("after rename and use: %+v", l)
	}
	if status, _, body := do(t, c, "DELETE", h.tenant("demo")+"/api/sys/users/me/passkeys/"+id, "", "", "Authorization", "Bearer "+bearer); status != 200 {
		t.Fatalf("remove: %d %s", status, body)
	}
	if e := passkeyToken(t, h, c, "demo", cred); e.Status != 401 || e.WasSuccessful {
		t.Errorf("removed passkey signed in: %+v", e)
	}
}

type listedPasskey struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	LastUsedAt *string `json:"lastUsedAt"`
}

func passkeyList(t *testing.T, h *harness, c *http.Client, bearer string) []listedPasskey {
	t.Helper()
	status, _, body := do(t, c, "GET", h.tenant("demo")+"/api/sys/users/me/passkeys", "", "", "Authorization", "Bearer "+bearer)
	var l []listedPasskey
	if status != 200 || json.Unmarshal([]byte(body), &l) != nil || len(l) == 0 {
		t.Fatalf("list: %d %s", status, body)
	}
	return l
}

// signInTOTP signs in a two-factor user through §3.1 with a fresh code.
func signInTOTP(t *testing.T, h *harness, c *http.Client, email string) string {
	t.Helper()
	u, err := h.store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Add(60e9) // a step after the one enrolment used
	status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON,
		`{"email":"`+email+`","password":"`+pw+`","totp":"`+code(t, u.TOTPSecret, h.clock.Now())+`"}`)
	e := parseEnv(t, body)
	tok, _ := e.Value.(string)
	if status != 200 || tok == "" {
		t.Fatalf("sign-in with TOTP: %d %s", status, body)
	}
	return tok
}

// TestPasskeyAttacks: every way an attacker might reuse, move or forge a
// passkey assertion is refused as no credential at all (401), and none
// opens anything.
func TestPasskeyAttacks(t *testing.T) {
	h := newHarness(t)
	f := h.seed()
	c := h.client()
	ctx := context.Background()
	alice := registerPasskey(t, h, c, signIn(t, h, c, "alice@example.com", 30), "demo")
	admin := registerPasskey(t, h, c, signIn(t, h, c, "admin@example.com", 30), "demo")
	finish := func(slug, handle string, resp []byte) env {
		status, hdr, body := do(t, c, "POST", h.tenant(slug)+"/api/passkeys/signin/finish", ctJSON, finishBody(handle, resp, ""))
		// A refused assertion is passkey_invalid's row: no Basic challenge,
		// which would open a password dialog over the page that fetched it.
		if status == 401 && hdr.Get("WWW-Authenticate") != "" {
			t.Errorf("refused assertion challenges with %q", hdr.Get("WWW-Authenticate"))
		}
		return parseEnv(t, body)
	}
	challenge := func(slug string) ceremony {
		return beginJSON(t, c, h.tenant(slug)+"/api/passkeys/signin/begin")
	}
	refused := func(t *testing.T, e env) {
		t.Helper()
		if e.Status != 401 || e.WasSuccessful || e.Value != nil {
			t.Errorf("accepted or wrong refusal: %+v", e)
		}
	}

	t.Run("replayed assertion", func(t *testing.T) {
		cer := challenge("demo")
		ch, _ := passkeytest.Challenge(cer.Options)
		resp, _ := alice.Assert(h.tenant("demo"), "demo.localhost", ch)
		if e := finish("demo", cer.Handle, resp); e.Status != 200 {
			t.Fatalf("first use: %+v", e)
		}
		refused(t, finish("demo", cer.Handle, resp))               // same challenge again
		refused(t, finish("demo", challenge("demo").Handle, resp)) // the answer to another challenge
	})
	t.Run("unknown handle", func(t *testing.T) {
		cer := challenge("demo")
		ch, _ := passkeytest.Challenge(cer.Options)
		resp, _ := alice.Assert(h.tenant("demo"), "demo.localhost", ch)
		refused(t, finish("demo", "not-a-handle", resp))
	})
	t.Run("credential of business A on business B", func(t *testing.T) {
		// The admin may sign in at other, but the passkey belongs to demo's
		// relying party: signed for other it is unknown there, and signed
		// for demo its relying party and origin are wrong.
		cer := challenge("other")
		ch, _ := passkeytest.Challenge(cer.Options)
		resp, _ := admin.Assert(h.tenant("other"), "other.localhost", ch)
		refused(t, finish("other", cer.Handle, resp))
		cer = challenge("other")
		ch, _ = passkeytest.Challenge(cer.Options)
		resp, _ = admin.Assert(h.tenant("demo"), "demo.localhost", ch)
		refused(t, finish("other", cer.Handle, resp))
		// A demo challenge answered on other's host.
		cer = challenge("demo")
		ch, _ = passkeytest.Challenge(cer.Options)
		resp, _ = admin.Assert(h.tenant("demo"), "demo.localhost", ch)
		refused(t, finish("other", cer.Handle, resp))
	})
	t.Run("wrong origin", func(t *testing.T) {
		for _, origin := range []string{"http://demo.localhost:1", "https://demo.localhost:" + h.port, "http://evil.localhost:" + h.port} {
			cer := challenge("demo")
			ch, _ := passkeytest.Challenge(cer.Options)
			resp, _ := alice.Assert(origin, "demo.localhost", ch)
			refused(t, finish("demo", cer.Handle, resp))
		}
	})
	t.Run("forged signature", func(t *testing.T) {
		cer := challenge("demo")
		ch, _ := passkeytest.Challenge(cer.Options)
		forger := &passkeytest.Credential{ID: alice.ID, RPID: alice.RPID, UserHandle: alice.UserHandle, Key: mustKey(t)}
		resp, _ := forger.Assert(h.tenant("demo"), "demo.localhost", ch)
		refused(t, finish("demo", cer.Handle, resp))
	})
	t.Run("cloned authenticator", func(t *testing.T) {
		cer := challenge("demo")
		ch, _ := passkeytest.Challenge(cer.Options)
		resp, _ := alice.AssertWithCounter(h.tenant("demo"), "demo.localhost", ch, 1) // counter went backwards
		refused(t, finish("demo", cer.Handle, resp))
		events, err := h.store.ListAudit(ctx, store.AuditFilter{UserID: f.alice.ID, Type: "passkey.clone_warning"})
		if err != nil || len(events) != 1 {
			t.Errorf("clone warning audit: %v %+v", err, events)
		}
	})
	t.Run("disabled user", func(t *testing.T) {
		if _, err := h.svc.SetActive(ctx, "alice@example.com", false); err != nil {
			t.Fatal(err)
		}
		refused(t, passkeyToken(t, h, c, "demo", alice))
		if _, err := h.svc.SetActive(ctx, "alice@example.com", true); err != nil {
			t.Fatal(err)
		}
		if e := passkeyToken(t, h, c, "demo", alice); e.Status != 200 {
			t.Errorf("enabled again: %+v", e)
		}
	})
	t.Run("user who must reset", func(t *testing.T) {
		if _, err := h.svc.RequireReset(ctx, "alice@example.com"); err != nil {
			t.Fatal(err)
		}
		if e := passkeyToken(t, h, c, "demo", alice); e.Status != 500 || e.Message != "You must reset your password before signing in." || e.Value != nil {
			t.Errorf("must reset: %+v", e)
		}
	})
	t.Run("impersonation token is no credential for passkeys", func(t *testing.T) {
		status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/"+itoa(f.editor.ID)+"/token/refresh", "", "", "Authorization", basic("admin@example.com", pw))
		imp, _ := parseEnv(t, body).Value.(string)
		if status != 200 || imp == "" {
			t.Fatalf("impersonate: %d %s", status, body)
		}
		status, _, body = do(t, c, "POST", h.tenant("demo")+"/api/sys/users/me/passkeys/register/begin", "", "", "Authorization", "Bearer "+imp)
		if status != 401 {
			t.Errorf("impersonation token began a registration: %d %s", status, body)
		}
	})
	t.Run("no tenant host", func(t *testing.T) {
		status, _, _ := do(t, c, "POST", h.base()+"/api/passkeys/signin/begin", "", "")
		if status != 404 {
			t.Errorf("system host: %d", status)
		}
	})
}

func mustKey(t *testing.T) *ecdsaKey {
	t.Helper()
	var a passkeytest.Authenticator
	opts := `{"publicKey":{"challenge":"AAAA","rp":{"id":"x"},"user":{"id":"AAAA"}}}`
	_, c, err := a.Register("http://x", []byte(opts))
	if err != nil {
		t.Fatal(err)
	}
	return c.Key
}

// TestPortalPasskey: the sign-in page's passkey form opens a session and
// honours redirectUrl; the ceremony belongs to the browser that began it.
func TestPortalPasskey(t *testing.T) {
	h := newHarness(t)
	h.seed()
	c := h.client()
	alice := registerPasskey(t, h, c, signIn(t, h, c, "alice@example.com", 30), "demo")
	begin := func(b *http.Client, csrf string) string {
		status, _, body := do(t, b, "POST", h.tenant("demo")+"/en/user/passkey/begin", ctForm, form("csrf", csrf))
		ch, err := passkeytest.Challenge([]byte(body))
		if status != 200 || err != nil {
			t.Fatalf("portal begin: %d %s", status, body)
		}
		return ch
	}
	post := func(b *http.Client, csrf string, resp []byte) (int, http.Header, string) {
		return do(t, b, "POST", h.tenant("demo")+"/en/user/passkey?redirectUrl="+url.QueryEscape("/en/user/account?x=1"), ctForm,
			form("csrf", csrf, "credential", string(resp)))
	}

	page := func(b *http.Client) string {
		_, _, p := do(t, b, "GET", h.tenant("demo")+"/en/user/login", "", "")
		return p
	}
	b, csrf := browser(t, h, "demo")
	if p := page(b); !strings.Contains(p, `autocomplete="username webauthn"`) || !strings.Contains(p, `id="passkey-signin"`) {
		t.Fatalf("sign-in page lacks the passkey parts: %s", p)
	}
	if status, _, _ := do(t, b, "POST", h.tenant("demo")+"/en/user/passkey/begin", ctForm, form("csrf", "forged")); status != 403 {
		t.Errorf("begin without the CSRF token: %d", status)
	}

	t.Run("challenge from another session", func(t *testing.T) {
		victim, vcsrf := browser(t, h, "demo")
		ch := begin(victim, vcsrf)
		resp, _ := alice.Assert(h.tenant("demo"), "demo.localhost", ch)
		attacker, acsrf := browser(t, h, "demo")
		begin(attacker, acsrf) // the attacker's own ceremony, another challenge
		if status, hdr, _ := post(attacker, acsrf, resp); status != 401 || hdr.Get("Set-Cookie") != "" && strings.Contains(hdr.Get("Set-Cookie"), "spaceauth_session=") {
			t.Errorf("assertion over another browser's challenge: %d %v", status, hdr)
		}
		fresh, fcsrf := browser(t, h, "demo")
		if status, _, _ := post(fresh, fcsrf, resp); status != 401 {
			t.Errorf("assertion with no ceremony: %d", status)
		}
	})

	ch := begin(b, csrf)
	resp, _ := alice.Assert(h.tenant("demo"), "demo.localhost", ch)
	status, hdr, body := post(b, csrf, resp)
	if status != 302 || hdr.Get("Location") != "/en/user/account?x=1" {
		t.Fatalf("portal passkey sign-in: %d %v %s", status, hdr, body)
	}
	status, _, body = do(t, b, "GET", h.tenant("demo")+"/en/user/account", "", "")
	if status != 200 || !strings.Contains(body, "alice@example.com") || !strings.Contains(body, "Test key") {
		t.Fatalf("account after passkey sign-in: %d %s", status, body)
	}
	// The ceremony cookie was spent: posting the same answer again fails.
	if status, _, _ := post(b, csrf, resp); status != 401 {
		t.Errorf("replayed portal assertion: %d", status)
	}
}

// TestAccountSecurity: the account page turns TOTP on (QR code and secret,
// confirm with a code, recovery codes once), regenerates the codes, turns
// TOTP off with a code, and renames and removes passkeys; all with CSRF.
func TestAccountSecurity(t *testing.T) {
	h := newHarness(t)
	h.seed()
	b, csrf := browser(t, h, "demo")
	status, _, body := do(t, b, "POST", h.tenant("demo")+"/en/user/login", ctForm, form("csrf", csrf, "email", "alice@example.com", "password", pw))
	if status != 302 {
		t.Fatalf("password sign-in: %d %s", status, body)
	}
	acct := h.tenant("demo") + "/en/user/account"
	post := func(path string, kv ...string) (int, http.Header, string) {
		return do(t, b, "POST", acct+path, ctForm, form(append([]string{"csrf", csrf}, kv...)...))
	}
	if status, _, _ := do(t, b, "POST", acct+"/totp", ctForm, form("csrf", "forged")); status != 403 {
		t.Errorf("TOTP start without the CSRF token: %d", status)
	}
	status, _, page := post("/totp")
	secret := regexpFind(t, page, `id="totp-secret">([A-Z2-7]+)<`)
	if status != 200 || !strings.Contains(page, `src="data:image/png;base64,`) {
		t.Fatalf("TOTP start page: %d %s", status, page)
	}
	if status, _, page := post("/totp/confirm", "code", "000000"); status != 400 || !strings.Contains(page, "The two-factor code is not valid.") || !strings.Contains(page, secret) {
		t.Errorf("wrong confirm code: %d %s", status, page)
	}
	status, _, page = post("/totp/confirm", "code", code(t, secret, h.clock.Now()))
	if status != 200 || strings.Count(page, "<li><code>") != 10 || !strings.Contains(page, `download="recovery-codes.txt"`) {
		t.Fatalf("confirm: %d %s", status, page)
	}
	first := regexpFind(t, page, `<li><code>([a-z2-7]+)</code>`)
	if _, _, again := do(t, b, "GET", acct, "", ""); strings.Contains(again, first) {
		t.Error("recovery codes shown a second time")
	}
	h.clock.Add(60e9)
	status, _, page = post("/totp/recovery", "code", code(t, secret, h.clock.Now()))
	if status != 200 || strings.Count(page, "<li><code>") != 10 || strings.Contains(page, first) {
		t.Fatalf("regenerate: %d %s", status, page)
	}
	newCode := regexpFind(t, page, `<li><code>([a-z2-7]+)</code>`)
	// The old code died with the regeneration; a new one turns TOTP off.
	if status, _, _ := post("/totp/disable", "code", first); status != 400 {
		t.Errorf("disable with a replaced recovery code: %d", status)
	}
	if status, hdr, _ := post("/totp/disable", "code", newCode); status != 303 || !strings.Contains(hdr.Get("Location"), "done=totp_disabled") {
		t.Fatalf("disable: %d %v", status, hdr)
	}
	if u, _ := h.store.UserByEmail(context.Background(), "alice@example.com"); u.TOTPSecret != "" {
		t.Error("TOTP still on")
	}

	// Passkeys: one registered through the API shows up; rename, remove.
	c := h.client()
	registerPasskey(t, h, c, signIn(t, h, c, "alice@example.com", 30), "demo")
	_, _, page = do(t, b, "GET", acct, "", "")
	id := regexpFind(t, page, `/en/user/account/passkeys/(\d+)/rename`)
	if status, hdr, _ := post("/passkeys/"+id+"/rename", "name", "Laptop <b>"); status != 303 || !strings.Contains(hdr.Get("Location"), "passkey_renamed") {
		t.Fatalf("rename: %d", status)
	}
	_, _, page = do(t, b, "GET", acct+"?done=passkey_renamed", "", "")
	if !strings.Contains(page, "Laptop &lt;b&gt;") || !strings.Contains(page, "Your passkey was renamed.") {
		t.Errorf("renamed page: %s", page)
	}
	if status, _, _ := post("/passkeys/"+id+"/rename", "name", "bad\x01name"); status != 400 {
		t.Errorf("control character in a name: %d", status)
	}
	// A passkey that fails to register (no ceremony begun by this browser)
	// is shown on the account page: 400 (onAccount's row), the member still
	// signed in, and no Basic challenge.
	if status, hdr, page := post("/passkeys", "credential", "{}"); status != 400 || hdr.Get("WWW-Authenticate") != "" || !strings.Contains(page, "alice@example.com") {
		t.Errorf("failed passkey registration: %d %v %s", status, hdr, page)
	}
	if status, _, _ := post("/passkeys/999999/remove"); status != 404 {
		t.Errorf("removing someone else's passkey id: %d", status)
	}
	if status, _, _ := post("/passkeys/" + id + "/remove"); status != 303 {
		t.Errorf("remove: %d", status)
	}
	if _, _, page = do(t, b, "GET", acct, "", ""); !strings.Contains(page, "You have no passkeys yet.") {
		t.Errorf("after remove: %s", page)
	}
}

func regexpFind(t *testing.T, s, re string) string {
	t.Helper()
	m := regexpMust(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s not found in %s", re, s)
	}
	return m[1]
}

type ecdsaKey = ecdsa.PrivateKey

var regexpMust = regexp.MustCompile

// TestPasskeyStorageFailureIsNotADenial: with the passkey or challenge
// tables unreadable, the ceremonies answer 503 + Retry-After, never 401
// "passkey invalid" (a right passkey must not be told it is wrong).
func TestPasskeyStorageFailureIsNotADenial(t *testing.T) {
	h := newHarness(t)
	h.seed()
	c := h.client()
	cred := registerPasskey(t, h, c, signIn(t, h, c, "alice@example.com", 30), "demo")
	answer := func() string {
		cer := beginJSON(t, c, h.tenant("demo")+"/api/passkeys/signin/begin")
		ch, _ := passkeytest.Challenge(cer.Options)
		resp, err := cred.Assert(h.tenant("demo"), "demo.localhost", ch)
		if err != nil {
			t.Fatal(err)
		}
		return finishBody(cer.Handle, resp, "")
	}
	signedWithPasskeys := answer()
	breakTables(t, h, "passkeys")
	status, hdr, body := do(t, c, "POST", h.tenant("demo")+"/api/passkeys/signin/finish", ctJSON, signedWithPasskeys)
	unavailable(t, "finish with passkeys unreadable", status, hdr, body, false)

	breakTables(t, h, "webauthn_challenges")
	status, hdr, body = do(t, c, "POST", h.tenant("demo")+"/api/passkeys/signin/begin", "", "")
	unavailable(t, "begin with challenges unreadable", status, hdr, body, false)
	status, hdr, body = do(t, c, "POST", h.tenant("demo")+"/api/passkeys/signin/finish", ctJSON, signedWithPasskeys)
	unavailable(t, "finish with challenges unreadable", status, hdr, body, false)
}
