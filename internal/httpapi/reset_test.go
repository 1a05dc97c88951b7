package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/mail/mailtest"
)

const resetSent = "We have sent you an email with instructions on how to change your password."

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+/user/newPassword\?token=[A-Za-z0-9_%-]+`)

// resetLink waits for the n-th message and returns its reset link.
func resetLink(t *testing.T, h *harness, n int) (string, mailtest.Received) {
	t.Helper()
	msgs := h.smtp.WaitFor(n, 10*time.Second)
	if len(msgs) < n {
		t.Fatalf("%d messages arrived, want %d", len(msgs), n)
	}
	m := msgs[n-1]
	link := linkRE.FindString(m.Text)
	if link == "" {
		t.Fatalf("no reset link in %q", m.Text)
	}
	return link, m
}

// TestResetRequest covers the request bullets of SPEC §3.4.
func TestResetRequest(t *testing.T) {
	h, _, c := seeded(t)
	cases := []struct {
		name, method, url, ct, body string
		status                      int
		errField                    string
		message                     string
		sends                       bool
	}{
		{"tenant GET", "GET", h.tenant("demo") + "/en/user/resetPassword?email=alice@example.com", "", "", 200, "", resetSent, true},
		{"tenant POST body", "POST", h.tenant("demo") + "/en/user/resetPassword", ctJSON, `{"Email":"alice@example.com"}`, 200, "", resetSent, true},
		{"tenant POST query", "POST", h.tenant("demo") + "/en/user/resetPassword?email=alice@example.com", "", "", 200, "", resetSent, true},
		{"system host both", "POST", h.base() + "/api/sys/users/resetPassword?email=bob@example.com", ctForm, form("email", "bob@example.com"), 200, "", resetSent, true},
		{"system seed path", "POST", h.base() + "/sys/users/resetPassword/?email=alice@example.com", "", "", 200, "", resetSent, true},
		{"unknown email", "GET", h.tenant("demo") + "/en/user/resetPassword?email=nobody@example.com", "", "", 404, "", "", false},
		{"unknown on system host", "POST", h.base() + "/api/sys/users/resetPassword?email=nobody@example.com", "", "", 404, "", "", false},
		{"member elsewhere", "GET", h.tenant("demo") + "/en/user/resetPassword?email=bob@example.com", "", "", 404, "", "", false},
		{"disabled", "GET", h.tenant("demo") + "/en/user/resetPassword?email=carl@example.com", "", "", 404, "", "", false},
		{"hidden unknown", "GET", h.tenant("other") + "/en/user/resetPassword?email=nobody@example.com", "", "", 200, "", resetSent, false},
		{"missing email", "GET", h.tenant("demo") + "/en/user/resetPassword", "", "", 400, "email", "", false},
		{"not an email", "GET", h.tenant("demo") + "/en/user/resetPassword?email=alice", "", "", 400, "email", "", false},
		{"email with CRLF", "POST", h.tenant("demo") + "/en/user/resetPassword", ctJSON, `{"email":"alice@example.com\r\nBcc: x@y.z"}`, 400, "email", "", false},
	}
	sent := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, c, tc.method, tc.url, tc.ct, tc.body)
			if status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", status, tc.status, body)
			}
			e := parseEnv(t, body)
			if e.Status != tc.status || e.WasSuccessful != (tc.status == 200) {
				t.Errorf("envelope %+v", e)
			}
			if tc.message != "" && e.Message != tc.message {
				t.Errorf("message %q", e.Message)
			}
			if tc.errField != "" && len(e.Errors[tc.errField]) == 0 {
				t.Errorf("Errors %v lacks %s", e.Errors, tc.errField)
			}
			if tc.sends {
				sent++
				link, m := resetLink(t, h, sent)
				if tc.name == "system host both" {
					if !strings.HasPrefix(link, "http://other.localhost:"+h.port+"/en/user/newPassword?token=") {
						t.Errorf("system-host link %q should use the user's default business and English", link)
					}
				} else if !strings.HasPrefix(link, "http://demo.localhost:"+h.port+"/en/user/newPassword?token=") {
					t.Errorf("link %q", link)
				}
				if m.HTML == "" || !strings.Contains(m.HTML, "newPassword?token=") {
					t.Errorf("no HTML part with the link: %q", m.HTML)
				}
			}
		})
	}
	outboxDrained(t, h)
	if got := len(h.smtp.Messages()); got != sent {
		t.Errorf("%d messages sent, want %d (nothing for refused requests)", got, sent)
	}
}

func TestResetMessageLocalized(t *testing.T) {
	h := newHarness(t)
	h.seed()
	status, _, body := do(t, h.client(), "GET", h.tenant("demo")+"/fr/user/resetPassword?email=alice@example.com", "", "")
	e := parseEnv(t, body)
	if status != 200 || e.Message == resetSent || e.Message == "" {
		t.Fatalf("French message: %d %q", status, e.Message)
	}
	link, m := resetLink(t, h, 1)
	if !strings.Contains(link, "/fr/user/newPassword") {
		t.Errorf("link %q not in French portal", link)
	}
	if !strings.Contains(m.From, "Demo Space") {
		t.Errorf("From %q lacks the business name", m.From)
	}
}

// TestResetComplete follows the emailed link to a new password and checks
// what SPEC §3.4 says must happen then.
func TestResetComplete(t *testing.T) {
	h, _, c := seeded(t)
	ctx := context.Background()
	// Alice has a portal session and an unused access token before the reset.
	oldTok := signIn(t, h, c, "alice@example.com", 60)
	portal := h.client()
	if status, _, _ := do(t, portal, "GET", h.tenant("demo")+"/en/user/login?t="+signIn(t, h, c, "alice@example.com", 60), "", ""); status != 302 {
		t.Fatal("portal sign-in failed")
	}
	for range 2 { // two outstanding reset tokens
		if status, _, body := do(t, c, "GET", h.tenant("demo")+"/en/user/resetPassword?email=alice@example.com", "", ""); status != 200 {
			t.Fatalf("reset request: %d %s", status, body)
		}
	}
	first, _ := resetLink(t, h, 1)
	second, _ := resetLink(t, h, 2)

	b := h.client()
	status, _, page := do(t, b, "GET", second, "", "")
	if status != 200 || !strings.Contains(page, `name="password"`) || !strings.Contains(page, `name="confirm"`) {
		t.Fatalf("form: %d %s", status, page)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("no csrf field in %s", page)
	}
	u, _ := url.Parse(second)
	tokenParam := u.Query().Get("token")
	post := func(client *http.Client, csrfValue, password, confirm string) (int, string) {
		status, _, body := do(t, client, "POST", h.tenant("demo")+"/en/user/newPassword", ctForm,
			form("csrf", csrfValue, "token", tokenParam, "password", password, "confirm", confirm))
		return status, body
	}
	if status, body := post(h.client(), csrf[1], "a fresh passphrase", "a fresh passphrase"); status != 403 {
		t.Errorf("no CSRF cookie: %d %s", status, body)
	}
	if status, body := post(b, "forged", "a fresh passphrase", "a fresh passphrase"); status != 403 {
		t.Errorf("wrong CSRF value: %d %s", status, body)
	}
	if status, body := post(b, csrf[1], "a fresh passphrase", "a different one!"); status != 400 || !strings.Contains(body, "do not match") {
		t.Errorf("mismatch: %d %s", status, body)
	}
	if status, body := post(b, csrf[1], "short", "short"); status != 400 || !strings.Contains(body, "8 characters") {
		t.Errorf("too short: %d %s", status, body)
	}
	if status, body := post(b, csrf[1], "password", "password"); status != 400 || !strings.Contains(body, "too common") {
		t.Errorf("common: %d %s", status, body)
	}
	if status, body := post(b, csrf[1], "alice@example.com", "alice@example.com"); status != 400 {
		t.Errorf("email as password: %d %s", status, body)
	}
	status, body := post(b, csrf[1], "a fresh passphrase", "a fresh passphrase")
	if status != 200 || !strings.Contains(body, "/en/user/login") {
		t.Fatalf("complete: %d %s", status, body)
	}
	// The new password works, the old one does not.
	_, _, out := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"`+pw+`"}`)
	if parseEnv(t, out).Status != 500 {
		t.Error("old password still works")
	}
	_, _, out = do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"a fresh passphrase"}`)
	newTok, _ := parseEnv(t, out).Value.(string)
	if newTok == "" {
		t.Fatal("new password refused")
	}
	// Everything issued before is revoked: token, session, reset tokens.
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+oldTok, "", ""); status != 401 {
		t.Errorf("old access token still works on the portal: %d", status)
	}
	if status, _, _ := do(t, portal, "GET", h.tenant("demo")+"/en/user/account", "", ""); status != 302 {
		t.Errorf("old session still signed in: %d", status)
	}
	for _, link := range []string{first, second} {
		if status, _, _ := do(t, h.client(), "GET", link, "", ""); status != 400 {
			t.Errorf("spent reset link %s still accepted: %d", link, status)
		}
	}
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+newTok, "", ""); status != 302 {
		t.Errorf("token issued after the change refused: %d", status)
	}
	// The "password changed" mail is delivered.
	msgs := h.smtp.WaitFor(3, 10*time.Second)
	if len(msgs) != 3 || msgs[2].To[0] != "alice@example.com" || linkRE.MatchString(msgs[2].Text) {
		t.Fatalf("password-changed mail: %+v", msgs)
	}
	_ = ctx
}

func TestResetLinkExpires(t *testing.T) {
	h := newHarness(t)
	h.seed()
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/resetPassword?email=alice@example.com", "", ""); status != 200 {
		t.Fatal("reset request failed")
	}
	link, _ := resetLink(t, h, 1)
	h.clock.Add(61 * time.Minute)
	if status, _, body := do(t, h.client(), "GET", link, "", ""); status != 400 || !strings.Contains(body, "expired") {
		t.Fatalf("expired link: %d %s", status, body)
	}
	// A link from one business's mail does not work on another's portal.
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/resetPassword?email=alice@example.com", "", ""); status != 200 {
		t.Fatal("reset request failed")
	}
	link, _ = resetLink(t, h, 2)
	moved := strings.Replace(link, "demo.localhost", "other.localhost", 1)
	if status, _, _ := do(t, h.client(), "GET", moved, "", ""); status != 400 {
		t.Fatalf("link accepted on another business: %d", status)
	}
}
