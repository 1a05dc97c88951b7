package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// The operator console (SPEC §10, issue #15) driven in Chromium against the
// real binary: every page, with a screenshot of each under
// test-output/<test>/<page>.png.

// enrolTOTP turns two-factor on for email through the API and returns the
// authenticator secret.
func enrolTOTP(t *testing.T, p *portal, email string) string {
	t.Helper()
	bearer, _ := token(p.http, email, browserPW, "")
	if bearer == "" {
		t.Fatalf("no token for %s", email)
	}
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
	return secret
}

func (p *portal) system(path string) string { return "http://localhost:" + p.port + path }

// text returns the visible text of the first element matching sel.
func (p *portal) text(sel string) string {
	p.t.Helper()
	p.run(chromedp.WaitVisible(chromedp.CSS(sel)))
	return value(p, chromedp.Text(chromedp.CSS(sel)))
}

func TestBrowserConsole(t *testing.T) {
	p := newPortal(t)
	cli(t, browserPW+"\n", "user", "add", "--db", p.db, "--email", "admin@example.com", "--name", "Ada Admin", "--password-stdin", "--admin")
	secret := enrolTOTP(t, p, "admin@example.com")

	// Sign-in: email and password, then the authenticator code.
	p.run(chromedp.Navigate(p.system("/admin")), chromedp.WaitVisible(chromedp.CSS("#email")))
	if !strings.HasSuffix(p.location(), "/admin/login") {
		t.Fatalf("console without a session at %s", p.location())
	}
	p.shot("login")
	p.run(chromedp.SendKeys(chromedp.CSS("#email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), browserPW),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#totp")))
	p.shot("second-factor")
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	p.run(chromedp.SendKeys(chromedp.CSS("#totp"), next),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.list")))
	p.shot("members")

	// Search, open a member, disable them.
	p.run(chromedp.SendKeys(chromedp.CSS("#q"), "u1@"), chromedp.Click(chromedp.CSS(`form.search button`)),
		chromedp.WaitVisible(chromedp.CSS(`#q[value="u1@"]`)), // the answer's form, not the one typed in
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/admin/members/"]`)))
	if body := p.text("table.list"); !strings.Contains(body, "u1@example.com") || strings.Contains(body, "u2@example.com") {
		t.Fatalf("search for u1: %q", body)
	}
	p.shot("search")
	p.run(chromedp.Click(chromedp.CSS(`table.list a[href^="/admin/members/"]`)), chromedp.WaitVisible(chromedp.CSS("dl.member")))
	p.shot("member")
	p.run(chromedp.Click(chromedp.CSS(`form[action$="/disable"] button`)), chromedp.WaitVisible(chromedp.CSS("p.message")))
	p.shot("member-disabled")
	if tok, _ := token(p.http, "u1@example.com", browserPW, ""); tok != "" {
		t.Fatal("a member disabled in the console still signs in")
	}

	// Add a member.
	p.run(chromedp.Navigate(p.system("/admin/members/new")), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "added@example.com"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Added Member"),
		chromedp.SendKeys(chromedp.CSS("#password"), "a console-made passphrase"),
		chromedp.SetValue(chromedp.CSS("#business"), "demo"))
	p.shot("member-new")
	p.run(chromedp.Click(chromedp.CSS(`main button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("dl.member")))
	if tok, _ := token(p.http, "added@example.com", "a console-made passphrase", ""); tok == "" {
		t.Fatal("the member added in the console cannot sign in")
	}

	// Businesses, the audit log filtered by type.
	p.run(chromedp.Navigate(p.system("/admin/businesses")), chromedp.WaitVisible(chromedp.CSS("table.list")))
	if !strings.Contains(p.text("table.list"), "Demo Space") {
		t.Fatal("no Demo Space on the businesses page")
	}
	p.shot("businesses")
	p.run(chromedp.Navigate(p.system("/admin/audit")), chromedp.WaitVisible(chromedp.CSS("#type")),
		chromedp.SendKeys(chromedp.CSS("#type"), "user.disabled"), chromedp.Click(chromedp.CSS(`form.search button`)),
		chromedp.WaitVisible(chromedp.CSS(`#type[value="user.disabled"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.audit")))
	if !strings.Contains(p.text("table.audit"), "user.disabled") {
		t.Fatal("no user.disabled event in the audit log")
	}
	p.shot("audit")

	// CSV import: the progress page, then the per-row report.
	// Enough rows with clear passwords (hashed at production cost) that the
	// progress page is usually seen running; with script on, console.js
	// (not a reload) brings the report in.
	var rows strings.Builder
	rows.WriteString("email,name,password,businesses\nbroken,Broken Row,a csv passphrase here,demo\n")
	for i := range 40 {
		fmt.Fprintf(&rows, "c%d@example.com,Csv %d,a csv passphrase here,demo\n", i, i)
	}
	csv := filepath.Join(t.TempDir(), "users.csv")
	os.WriteFile(csv, []byte(rows.String()), 0o600)
	p.run(chromedp.Navigate(p.system("/admin/import")), chromedp.WaitVisible(chromedp.CSS("#file")))
	p.shot("import")
	p.run(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{csv}),
		chromedp.Click(chromedp.CSS(`input[name="skip_invalid"]`)),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#import-progress")))
	p.shot("import-progress")
	p.run(chromedp.WaitVisible(chromedp.CSS("#import-report")))
	if report := p.text("#import-report"); !strings.Contains(report, "2") {
		t.Fatalf("report does not name line 2: %q", report)
	}
	if result := p.text("#import-result"); !strings.Contains(result, "40") {
		t.Fatalf("import result: %q", result)
	}
	p.shot("import-report")

	// Key rotation.
	p.run(chromedp.Navigate(p.system("/admin/keys")), chromedp.WaitVisible(chromedp.CSS(`input[name="confirm"]`)))
	p.shot("keys")
	p.run(chromedp.Click(chromedp.CSS(`input[name="confirm"]`)), chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("p.message")))
	p.shot("keys-rotated")

	// The same pages in another language (Accept-Language).
	p.run(protocol(network.Enable, network.EnableParams{}),
		protocol(network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "de"}}),
		chromedp.Navigate(p.system("/admin/members")), chromedp.WaitVisible(chromedp.CSS("table.list")))
	if h := p.text("h1"); h != "Mitglieder" {
		t.Fatalf("German members page titled %q", h)
	}
	p.shot("members-de")
	p.run(protocol(network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{}}))

	// Sign out of the console.
	p.run(chromedp.Click(chromedp.CSS(`form[action="/admin/logout"] button`)), chromedp.WaitVisible(chromedp.CSS("#email")))
	if !strings.HasSuffix(p.location(), "/admin/login") {
		t.Fatalf("after the console sign-out at %s", p.location())
	}
}

// TestBrowserTenantConsole: a User-Edit holder opens its business's console
// on the tenant host with its portal session.
func TestBrowserTenantConsole(t *testing.T) {
	p := newPortal(t)
	cli(t, browserPW+"\n", "user", "add", "--db", p.db, "--email", "editor@example.com", "--name", "Eddie Editor",
		"--password-stdin", "--business", "demo", "--role", "User-Edit")
	p.run(chromedp.Navigate(p.url("/admin/members")), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "editor@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), browserPW),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.list")))
	if body := p.text("table.list"); !strings.Contains(body, "u0@example.com") {
		t.Fatalf("the editor's members: %q", body)
	}
	if brand := p.text(".brand"); !strings.Contains(brand, "Demo Space") {
		t.Fatalf("tenant console brand %q", brand)
	}
	p.shot("tenant-members")
	p.run(chromedp.Click(chromedp.CSS(`table.list a[href^="/admin/members/"]`)), chromedp.WaitVisible(chromedp.CSS("dl.member")))
	p.shot("tenant-member")
}

// protocol is a step that sends one DevTools protocol command.
func protocol[P, R any](cmd cdp.Command[P, R], params P) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cmd, params)
		return err
	})
}
