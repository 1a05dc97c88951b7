package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/spaceauth/spaceauth/internal/mail/mailtest"
)

// portal is a running spaceauth with business demo and users u0..u3, and a
// headless Chromium to drive it.
type portal struct {
	t    *testing.T
	db   string
	port string
	smtp *mailtest.Server
	http *http.Client
	ctx  context.Context
}

const browserPW = "browser test passphrase"

func newPortal(t *testing.T) *portal {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("browser test skipped: no chromium on PATH (apt-get install -y chromium; .ci/run installs it)")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "spaceauth.db")
	seedUsers(t, db, 4, browserPW)
	smtp := mailtest.NewServer(t)
	port := freePort(t)
	serve(t, port, "--db", db, "--smtp-url", smtp.URL(), "--mail-poll", "100ms", "--log-level", "warn")
	// Chromium's helper processes may still write to the profile for a
	// moment after the browser stops, so the test removes it itself, best
	// effort, instead of failing t.TempDir's strict cleanup.
	profile, err := os.MkdirTemp("", "spaceauth-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(1000, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	p := &portal{t: t, db: db, port: port, smtp: smtp, http: client(port, 10*time.Second), ctx: ctx}
	t.Cleanup(func() {
		p.shot("last-page")
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return p
}

func (p *portal) url(path string) string { return "http://demo.localhost:" + p.port + path }

func (p *portal) run(actions ...chromedp.Action) {
	p.t.Helper()
	if err := chromedp.Run(p.ctx, actions...); err != nil {
		var loc, body string
		chromedp.Run(p.ctx, chromedp.Location(&loc), chromedp.Text("body", &body, chromedp.ByQuery))
		p.t.Fatalf("browser: %v (at %s)\n%.500s", err, loc, body)
	}
}

// shot saves the current page as test-output/<test name>/<page>.png at the
// repository's root, so that a reviewer finds each page by test and name
// (issue #15.8: not test-output/_artifacts/<random>/last-page.png).
func (p *portal) shot(page string) {
	var png []byte
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		p.t.Logf("screenshot %s: %v", page, err)
		return
	}
	path, err := shotPath(p.t.Name(), page)
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		p.t.Logf("screenshot %s: %v", page, err)
		return
	}
	p.t.Logf("page %s: %s", page, path)
}

// shotPath is test-output/<test>/<page>.png under the module root (the
// tests run in internal/e2e), creating the directory.
func shotPath(test, page string) (string, error) {
	safe := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, s)
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "test-output", safe(test)))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return filepath.Join(dir, safe(page)+".png"), nil
}

func (p *portal) location() string {
	var loc string
	p.run(chromedp.Location(&loc))
	return loc
}

// signInForm fills the sign-in form.
func (p *portal) signInForm(email, pw string) {
	p.run(chromedp.Navigate(p.url("/en/user/login")),
		chromedp.WaitVisible("#email", chromedp.ByQuery),
		chromedp.SendKeys("#email", email, chromedp.ByQuery),
		chromedp.SendKeys("#password", pw, chromedp.ByQuery),
		chromedp.Click(`button[type="submit"]`, chromedp.ByQuery))
}

func (p *portal) waitAccount(email string) {
	p.t.Helper()
	var who string
	p.run(chromedp.WaitVisible("p.who", chromedp.ByQuery), chromedp.Text("p.who", &who, chromedp.ByQuery))
	if !strings.Contains(who, email) || !strings.HasSuffix(strings.SplitN(p.location(), "?", 2)[0], "/en/user/account") {
		p.t.Fatalf("not on the account page of %s: %q at %s", email, who, p.location())
	}
}

func TestBrowserSignInAndOut(t *testing.T) {
	p := newPortal(t)
	p.signInForm("u1@example.com", browserPW)
	p.waitAccount("u1@example.com")
	// Issue #15.6: the device is named, the two buttons are equally tall.
	var device string
	var heights []float64
	p.run(chromedp.Text(".sessions .device", &device, chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll(".actions button")).map(b => b.getBoundingClientRect().height)`, &heights))
	if !strings.Contains(device, " on Linux") || strings.Contains(device, "Mozilla") {
		t.Errorf("device shown as %q, want a browser on a system", device)
	}
	if len(heights) != 2 || heights[0] != heights[1] {
		t.Errorf("sign-out buttons of heights %v, want two equal", heights)
	}
	p.shot("account")
	// Sign out with the account page's button.
	p.run(chromedp.Click(`form button[type="submit"]:not(.secondary)`, chromedp.ByQuery), chromedp.WaitVisible("#email", chromedp.ByQuery))
	if !strings.Contains(p.location(), "/en/user/login") {
		t.Fatalf("after sign-out at %s", p.location())
	}
	if msg := p.text("p.message"); msg != "You have signed out." {
		t.Errorf("after sign-out the page says %q", msg)
	}
	p.shot("signed-out")
	// A failed sign-in keeps the email and shows an error (issue #15.4).
	p.signInForm("u1@example.com", "not the password")
	p.run(chromedp.WaitVisible("ul.errors", chromedp.ByQuery))
	var kept string
	p.run(chromedp.Value("#email", &kept, chromedp.ByQuery))
	if kept != "u1@example.com" {
		t.Errorf("the email field holds %q after a failed sign-in", kept)
	}
	p.shot("failed-sign-in")
	p.run(chromedp.Navigate(p.url("/en/user/account")), chromedp.WaitVisible("#email", chromedp.ByQuery))
	if !strings.Contains(p.location(), "/en/user/login") {
		t.Fatalf("account page still open after sign-out: %s", p.location())
	}
}

func TestBrowserResetFromEmail(t *testing.T) {
	p := newPortal(t)
	p.run(chromedp.Navigate(p.url("/en/user/login")), chromedp.WaitVisible("#email", chromedp.ByQuery),
		chromedp.Click(`p.links a`, chromedp.ByQuery), chromedp.WaitVisible("#email", chromedp.ByQuery),
		chromedp.SendKeys("#email", "u2@example.com", chromedp.ByQuery),
		chromedp.Click(`button[type="submit"]`, chromedp.ByQuery), chromedp.WaitVisible(".notice, .message, main p", chromedp.ByQuery))
	msgs := p.smtp.WaitFor(1, 15*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	link := regexp.MustCompile(`http://\S+/en/user/newPassword\?token=[A-Za-z0-9_%-]+`).FindString(msgs[0].Text)
	if link == "" {
		t.Fatalf("no link in %q", msgs[0].Text)
	}
	p.run(chromedp.Navigate(link), chromedp.WaitVisible("#password", chromedp.ByQuery),
		chromedp.SendKeys("#password", "a browser-made passphrase", chromedp.ByQuery),
		chromedp.SendKeys("#confirm", "a browser-made passphrase", chromedp.ByQuery),
		chromedp.Click(`button[type="submit"]`, chromedp.ByQuery),
		// The done page's button: the form page has a plain link to the
		// same place, and leaving before the POST answers aborts it.
		chromedp.WaitVisible(`a.button[href="/en/user/login"]`, chromedp.ByQuery))
	p.signInForm("u2@example.com", "a browser-made passphrase")
	p.waitAccount("u2@example.com")
}

func TestBrowserTokenLink(t *testing.T) {
	p := newPortal(t)
	tok, _ := token(p.http, "u3@example.com", browserPW, "")
	if tok == "" {
		t.Fatal("no token")
	}
	target := "/en/user/account?from=link"
	p.run(chromedp.Navigate(p.url("/en/user/login?t=" + url.QueryEscape(tok) + "&redirectUrl=" + url.QueryEscape(target))))
	p.waitAccount("u3@example.com")
	if !strings.HasSuffix(p.location(), target) {
		t.Fatalf("landed on %s, want %s", p.location(), target)
	}
}

func TestBrowserTOTP(t *testing.T) {
	p := newPortal(t)
	// Enrolment is an API (§5.2): start and confirm with a bearer token.
	bearer, _ := token(p.http, "u0@example.com", browserPW, "")
	call := func(path, body string) map[string]any {
		req, _ := http.NewRequest("POST", "http://localhost"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := p.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Value map[string]any }
		json.Unmarshal([]byte(drain(resp)), &env)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return env.Value
	}
	secret := call("/api/sys/users/me/totp", "")["Secret"].(string)
	first, _ := totp.GenerateCode(secret, time.Now())
	call("/api/sys/users/me/totp/confirm", fmt.Sprintf(`{"code":%q}`, first))
	// The next step's code, so that it is not a replay of the first.
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	p.signInForm("u0@example.com", browserPW)
	p.run(chromedp.WaitVisible("#totp", chromedp.ByQuery),
		chromedp.SendKeys("#totp", next, chromedp.ByQuery),
		chromedp.Click(`button[type="submit"]`, chromedp.ByQuery))
	p.waitAccount("u0@example.com")
}
