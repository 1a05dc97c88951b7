package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPortalSignIn covers SPEC §3.3's success path and cookie.
func TestPortalSignIn(t *testing.T) {
	h, _, c := seeded(t)
	tok := signIn(t, h, c, "alice@example.com", 30)
	status, hdr, body := do(t, c, "GET", h.tenant("demo")+"/en/user/login?t="+tok+"&redirectUrl=%2Fen%2Fbookings%3Fday%3D2&server=true", "", "")
	if status != http.StatusFound || hdr.Get("Location") != "/en/bookings?day=2" {
		t.Fatalf("HTTP %d Location %q: %s", status, hdr.Get("Location"), body)
	}
	sc := hdr.Get("Set-Cookie")
	for _, want := range []string{"spaceauth_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Secure cookie on an http public URL: %q", sc)
	}
	// The session works: the account page shows who is signed in.
	status, _, body = do(t, c, "GET", h.tenant("demo")+"/en/user/account", "", "")
	if status != 200 || !strings.Contains(body, "Alice Martin") || !strings.Contains(body, "Demo Space") {
		t.Fatalf("account page: %d %s", status, body)
	}
	// Used once: the same token again is refused, as HTML and as JSON.
	status, hdr, body = do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+tok, "", "")
	if status != http.StatusUnauthorized || !strings.Contains(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, "/en/user/login") {
		t.Fatalf("reuse: %d %s", status, body)
	}
	status, _, body = do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+tok, "", "", "Accept", "application/json")
	if e := parseEnv(t, body); status != 401 || e.Status != 401 || e.WasSuccessful {
		t.Fatalf("reuse as JSON: %d %s", status, body)
	}
}

func TestPortalRedirectCheck(t *testing.T) {
	h, _, c := seeded(t)
	cases := []struct{ redirect, want string }{
		{"", "/en/user/account"},
		{"/en/home", "/en/home"},
		{"/a/b?c=d#e", "/a/b?c=d#e"},
		{"https://evil.example/", "/en/user/account"},
		{"//evil.example/", "/en/user/account"},
		{"/\\evil.example", "/en/user/account"},
		{"javascript:alert(1)", "/en/user/account"},
		{"/%2F%2Fevil.example", "/en/user/account"},
		{"/%5Cevil.example", "/en/user/account"},
		{"/ok\r\nSet-Cookie: x=y", "/en/user/account"},
		{"/tab\there", "/en/user/account"},
		{"relative/path", "/en/user/account"},
		{"/" + strings.Repeat("a", 2048), "/en/user/account"},
		{"/" + strings.Repeat("a", 2047), "/" + strings.Repeat("a", 2047)},
	}
	for _, tc := range cases {
		t.Run(tc.redirect[:min(len(tc.redirect), 30)], func(t *testing.T) {
			tok := signIn(t, h, c, "alice@example.com", 30)
			status, hdr, body := do(t, c, "GET", h.tenant("demo")+"/en/user/login?t="+tok+"&redirectUrl="+url.QueryEscape(tc.redirect), "", "")
			if status != http.StatusFound || hdr.Get("Location") != tc.want {
				t.Fatalf("HTTP %d Location %q, want %q: %s", status, hdr.Get("Location"), tc.want, body)
			}
		})
	}
}

func TestPortalRefusals(t *testing.T) {
	h, f, c := seeded(t)
	ctx := context.Background()
	expired := signIn(t, h, c, "alice@example.com", 1)
	revoked := signIn(t, h, c, "editor@example.com", 30)
	bobs := signIn(t, h, c, "bob@example.com", 30)
	disabled := signIn(t, h, c, "alice@example.com", 30)
	if _, err := h.svc.SetPassword(ctx, "editor@example.com", "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(2 * time.Minute)
	cases := []struct {
		name, host, tok string
		before          func()
		status          int
	}{
		{"garbage token", h.tenant("demo"), "not-a-token", nil, 401},
		{"empty token", h.tenant("demo"), "", nil, 401},
		{"tampered token", h.tenant("demo"), disabled[:len(disabled)-4] + "AAAA", nil, 401},
		{"expired", h.tenant("demo"), expired, nil, 401},
		{"revoked by password change", h.tenant("demo"), revoked, nil, 401},
		{"wrong business", h.tenant("demo"), bobs, nil, 401},
		{"disabled user", h.tenant("demo"), disabled, func() {
			if _, err := h.svc.SetActive(ctx, "alice@example.com", false); err != nil {
				t.Fatal(err)
			}
		}, 401},
		{"unknown host", h.tenant("nowhere"), bobs, nil, 404},
		{"system host", h.base(), bobs, nil, 404},
		{"unsupported language", h.tenant("other"), bobs, nil, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			lang := "en"
			if tc.name == "unsupported language" {
				lang = "xx"
			}
			status, hdr, body := do(t, h.client(), "GET", tc.host+"/"+lang+"/user/login?t="+url.QueryEscape(tc.tok), "", "")
			if status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", status, tc.status, body)
			}
			if hdr.Get("Set-Cookie") != "" && strings.Contains(hdr.Get("Set-Cookie"), "spaceauth_session") {
				t.Errorf("session cookie set on refusal")
			}
		})
	}
	// bob's token still works at his own business, in a regional language.
	status, hdr, _ := do(t, h.client(), "GET", h.tenant("other")+"/pt-br/user/login?t="+bobs, "", "")
	if status != http.StatusFound || hdr.Get("Location") != "/pt/user/account" {
		t.Fatalf("bob at other: %d %q", status, hdr.Get("Location"))
	}
	_ = f
}

// TestPortalAdminWithoutProfile: an administrator signs in to any portal.
func TestPortalAdminWithoutProfile(t *testing.T) {
	h, _, c := seeded(t)
	tok := signIn(t, h, c, "admin@example.com", 30)
	status, _, body := do(t, c, "GET", h.tenant("other")+"/fr/user/login?t="+tok, "", "")
	if status != http.StatusFound {
		t.Fatalf("admin refused: %d %s", status, body)
	}
}

// TestPortalTokenConcurrentUse: one token presented by 16 clients at once
// signs in exactly once.
func TestPortalTokenConcurrentUse(t *testing.T) {
	h := newHarness(t)
	f := h.seed()
	tok := signIn(t, h, h.client(), "alice@example.com", 30)
	const n = 16
	var wg sync.WaitGroup
	start := make(chan struct{})
	statuses := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.client()
			<-start
			status, _, _ := do(t, c, "GET", h.tenant("demo")+"/en/user/login?t="+tok, "", "")
			statuses <- status
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[http.StatusFound] != 1 || counts[http.StatusUnauthorized] != n-1 {
		t.Fatalf("statuses %v: want exactly one 302 and %d 401", counts, n-1)
	}
	sessions, err := h.store.UserSessions(context.Background(), f.alice.ID, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 {
		t.Fatalf("%d sessions created, want 1", len(sessions))
	}
}

func TestLogout(t *testing.T) {
	h, _, c := seeded(t)
	tok := signIn(t, h, c, "alice@example.com", 30)
	if status, _, _ := do(t, c, "GET", h.tenant("demo")+"/en/user/login?t="+tok, "", ""); status != 302 {
		t.Fatal("sign-in failed")
	}
	// SPEC §6: logout is POST with CSRF only. A GET (a link or an image on
	// any page) is 405 and leaves the session alone.
	status, hdr, _ := do(t, c, "GET", h.tenant("demo")+"/en/user/logout", "", "")
	if status != http.StatusMethodNotAllowed || hdr.Get("Allow") != "POST" {
		t.Fatalf("GET logout: %d Allow %q", status, hdr.Get("Allow"))
	}
	status, _, page := do(t, c, "GET", h.tenant("demo")+"/en/user/account", "", "")
	if status != 200 {
		t.Fatalf("account after GET logout: %d", status)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	if status, _, _ := do(t, c, "POST", h.tenant("demo")+"/en/user/logout", ctForm, form("csrf", "forged")); status != http.StatusForbidden {
		t.Fatalf("logout with a wrong CSRF token: %d", status)
	}
	status, hdr, _ = do(t, c, "POST", h.tenant("demo")+"/en/user/logout", ctForm, form("csrf", csrf))
	if status != 302 || hdr.Get("Location") != "/en/user/login?signedOut=1" { // the page confirms the sign-out (issue #15.6)
		t.Fatalf("logout: %d %q", status, hdr.Get("Location"))
	}
	status, hdr, _ = do(t, c, "GET", h.tenant("demo")+"/en/user/account", "", "")
	if status != 302 || !strings.HasPrefix(hdr.Get("Location"), "/en/user/login") {
		t.Fatalf("account after logout: %d %q", status, hdr.Get("Location"))
	}
}
