package e2e

import (
	"context"
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
	chromium := chromiumPath(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "spaceauth.db")
	seedUsers(t, db, 4, browserPW)
	smtp := mailtest.NewServer(t)
	port := freePort(t)
	serve(t, port, "--db", db, "--smtp-url", smtp.URL(), "--mail-poll", "100ms", "--log-level", "warn")
	p := &portal{t: t, db: db, port: port, smtp: smtp, http: client(port, 10*time.Second), ctx: newBrowser(t, chromium, 60*time.Second)}
	t.Cleanup(func() { p.shot("last-page") }) // runs before the browser's own cleanup
	return p
}

// chromiumPath finds Debian's chromium or skips the test, saying so.
func chromiumPath(t *testing.T) string {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("browser test skipped: no chromium on PATH (apt-get install -y chromium; .ci/run installs it)")
	}
	return chromium
}

// newBrowser starts a headless chromium on a fresh profile; the context
// ends after timeout, and the browser and its profile go with the test.
func newBrowser(t *testing.T, chromium string, timeout time.Duration) context.Context {
	t.Helper()
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
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
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
	return ctx
}

func (p *portal) url(path string) string { return "http://demo.localhost:" + p.port + path }

func (p *portal) run(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		loc, _ := chromedp.Run(p.ctx, chromedp.Location())
		body, _ := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS("body")))
		p.t.Fatalf("browser: %v (at %s)\n%.500s", err, loc, body)
	}
}

// value runs one action that reads something from the page.
func value[T any](p *portal, a chromedp.Action[T]) T {
	p.t.Helper()
	return readPage(p.t, p.ctx, a)
}

// readPage runs one action that reads something from the browser's page.
func readPage[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// shot saves the current page as test-output/<test name>/<page>.png at the
// repository's root, so that a reviewer finds each page by test and name
// (issue #15.8: not test-output/_artifacts/<random>/last-page.png).
func (p *portal) shot(page string) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
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
	p.t.Helper()
	return value(p, chromedp.Location())
}

// signInForm fills the sign-in form.
func (p *portal) signInForm(email, pw string) {
	p.run(chromedp.Navigate(p.url("/en/user/login")),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
}

func (p *portal) waitAccount(email string) {
	p.t.Helper()
	p.run(chromedp.WaitVisible(chromedp.CSS("p.who")))
	who := value(p, chromedp.Text(chromedp.CSS("p.who")))
	if !strings.Contains(who, email) || !strings.HasSuffix(strings.SplitN(p.location(), "?", 2)[0], "/en/user/account") {
		p.t.Fatalf("not on the account page of %s: %q at %s", email, who, p.location())
	}
}

func TestBrowserSignInAndOut(t *testing.T) {
	p := newPortal(t)
	p.signInForm("u1@example.com", browserPW)
	p.waitAccount("u1@example.com")
	// Issue #15.6: the device is named, the two buttons are equally tall.
	device := value(p, chromedp.Text(chromedp.CSS(".sessions .device")))
	heights := value(p, chromedp.Evaluate[[]float64](`Array.from(document.querySelectorAll(".actions button")).map(b => b.getBoundingClientRect().height)`))
	if !strings.Contains(device, " on Linux") || strings.Contains(device, "Mozilla") {
		t.Errorf("device shown as %q, want a browser on a system", device)
	}
	if len(heights) != 2 || heights[0] != heights[1] {
		t.Errorf("sign-out buttons of heights %v, want two equal", heights)
	}
	p.shot("account")
	// Sign out with the account page's button.
	p.run(chromedp.Click(chromedp.CSS(`form button[type="submit"]:not(.secondary)`)), chromedp.WaitVisible(chromedp.CSS("#email")))
	if !strings.Contains(p.location(), "/en/user/login") {
		t.Fatalf("after sign-out at %s", p.location())
	}
	if msg := p.text("p.message"); msg != "You have signed out." {
		t.Errorf("after sign-out the page says %q", msg)
	}
	p.shot("signed-out")
	// A failed sign-in keeps the email and shows an error (issue #15.4).
	p.signInForm("u1@example.com", "not the password")
	p.run(chromedp.WaitVisible(chromedp.CSS("ul.errors")))
	kept := value(p, chromedp.Value(chromedp.CSS("#email")))
	if kept != "u1@example.com" {
		t.Errorf("the email field holds %q after a failed sign-in", kept)
	}
	p.shot("failed-sign-in")
	p.run(chromedp.Navigate(p.url("/en/user/account")), chromedp.WaitVisible(chromedp.CSS("#email")))
	if !strings.Contains(p.location(), "/en/user/login") {
		t.Fatalf("account page still open after sign-out: %s", p.location())
	}
}

func TestBrowserResetFromEmail(t *testing.T) {
	p := newPortal(t)
	p.run(chromedp.Navigate(p.url("/en/user/login")), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.Click(chromedp.CSS(`p.links a`)), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "u2@example.com"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(".notice, .message, main p")))
	msgs := p.smtp.WaitFor(1, 15*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	link := regexp.MustCompile(`http://\S+/en/user/newPassword\?token=[A-Za-z0-9_%-]+`).FindString(msgs[0].Text)
	if link == "" {
		t.Fatalf("no link in %q", msgs[0].Text)
	}
	p.run(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), "a browser-made passphrase"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "a browser-made passphrase"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		// The done page's button: the form page has a plain link to the
		// same place, and leaving before the POST answers aborts it.
		chromedp.WaitVisible(chromedp.CSS(`a.button[href="/en/user/login"]`)))
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
	secret := enrolTOTP(t, p, "u0@example.com")
	// The next step's code, so that it is not a replay of the first.
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	p.signInForm("u0@example.com", browserPW)
	p.run(chromedp.WaitVisible(chromedp.CSS("#totp")),
		chromedp.SendKeys(chromedp.CSS("#totp"), next),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	p.waitAccount("u0@example.com")
}
