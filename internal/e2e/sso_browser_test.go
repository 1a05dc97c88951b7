package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spaceauth/spaceauth/internal/federation/fedtest"
)

// TestBrowserSSO: in Chromium, the provider's button on the portal's
// sign-in page leads to the real login page of an OpenID provider running
// as its own process (zitadel's certified example OP); signing in there
// lands on the portal's redirectUrl, signed in. The provider was connected
// with the real CLI (`spaceauth sso add`, secret sealed). A screenshot of
// each step is kept under test-output/.
func TestBrowserSSO(t *testing.T) {
	chromium := chromiumPath(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "spaceauth.db")
	seedUsers(t, db, 2, browserPW)
	port := freePort(t)
	op := fedtest.StartOP(t, []fedtest.OPUser{{ID: "op-u1", Username: "u1", Password: "u1 at the provider",
		Email: "u1@example.com", EmailVerified: true, Name: "User 1"}}, "http://demo.localhost:"+port+"/sso/callback")
	const kek = "browser test key-encryption key"
	id := strings.TrimSpace(cli(t, op.ClientSecret+"\n", "sso", "add", "--db", db, "--key-encryption-key", kek,
		"--business", "demo", "--name", "Test Provider", "--issuer", op.Issuer, "--client-id", op.ClientID, "--client-secret-stdin"))
	if id != "1" {
		t.Fatalf("sso add printed %q", id)
	}
	list := cli(t, "", "sso", "list", "--db", db, "--public-url", "http://localhost:"+port)
	if !strings.Contains(list, "http://demo.localhost:"+port+"/sso/callback") {
		t.Fatalf("sso list does not show the redirect URI:\n%s", list)
	}
	serve(t, port, "--db", db, "--key-encryption-key", kek, "--mail-dir", filepath.Join(dir, "mail"), "--log-level", "warn")

	ctx := newBrowser(t, chromium, 90*time.Second)
	run := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			shot(t, ctx, step+"-failed")
			t.Fatalf("%s: %v (at %s)\n%.500s", step, err, loc, body)
		}
		shot(t, ctx, step)
	}
	portal := "http://demo.localhost:" + port

	run("1-sign-in-page", chromedp.Navigate(portal+"/en/user/login?redirectUrl=%2Fen%2Fuser%2Faccount%3Ffrom%3Dsso"),
		chromedp.WaitVisible(chromedp.CSS(`a.sso-provider`)))
	button := readPage(t, ctx, chromedp.Text(chromedp.CSS(`a.sso-provider`)))
	if button != "Sign in with Test Provider" {
		t.Errorf("button text %q", button)
	}
	run("2-provider-login-page", chromedp.Click(chromedp.CSS(`a.sso-provider`)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)))
	loc := readPage(t, ctx, chromedp.Location())
	if !strings.HasPrefix(loc, op.Issuer) {
		t.Fatalf("the button did not lead to the provider: %s", loc)
	}
	run("3-provider-credentials", chromedp.SendKeys(chromedp.CSS(`#username`), "u1"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "u1 at the provider"))
	run("4-signed-in-on-the-portal", chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.who`)))
	who := readPage(t, ctx, chromedp.Text(chromedp.CSS(`p.who`)))
	loc = readPage(t, ctx, chromedp.Location())
	if !strings.Contains(who, "u1@example.com") || loc != portal+"/en/user/account?from=sso" {
		t.Fatalf("landed at %s showing %q", loc, who)
	}
	audit := cli(t, "", "audit", "--db", db, "--type", "sso.linked")
	if !strings.Contains(audit, "sso.linked") {
		t.Errorf("no sso.linked audit event:\n%s", audit)
	}
}

// shot saves a screenshot of the current page as <test>-<step>.png in the
// test's artifact directory (test-output/ under make test).
func shot(t *testing.T, ctx context.Context, step string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", step, err)
		return
	}
	path := filepath.Join(t.ArtifactDir(), t.Name()+"-"+step+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", step, err)
	}
}
