package e2e

import (
	"context"
	"os"
	"os/exec"
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
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("browser test skipped: no chromium on PATH (apt-get install -y chromium; .ci/run installs it)")
	}
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
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
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
	run := func(step string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			var loc, body string
			chromedp.Run(ctx, chromedp.Location(&loc), chromedp.Text("body", &body, chromedp.ByQuery))
			shot(t, ctx, step+"-failed")
			t.Fatalf("%s: %v (at %s)\n%.500s", step, err, loc, body)
		}
		shot(t, ctx, step)
	}
	portal := "http://demo.localhost:" + port

	run("1-sign-in-page", chromedp.Navigate(portal+"/en/user/login?redirectUrl=%2Fen%2Fuser%2Faccount%3Ffrom%3Dsso"),
		chromedp.WaitVisible(`a.sso-provider`, chromedp.ByQuery))
	var button string
	run("1-sign-in-page", chromedp.Text(`a.sso-provider`, &button, chromedp.ByQuery))
	if button != "Sign in with Test Provider" {
		t.Errorf("button text %q", button)
	}
	run("2-provider-login-page", chromedp.Click(`a.sso-provider`, chromedp.ByQuery),
		chromedp.WaitVisible(`#username`, chromedp.ByQuery))
	var loc string
	run("2-provider-login-page", chromedp.Location(&loc))
	if !strings.HasPrefix(loc, op.Issuer) {
		t.Fatalf("the button did not lead to the provider: %s", loc)
	}
	run("3-provider-credentials", chromedp.SendKeys(`#username`, "u1", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "u1 at the provider", chromedp.ByQuery))
	var who string
	run("4-signed-in-on-the-portal", chromedp.Click(`button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.who`, chromedp.ByQuery), chromedp.Text(`p.who`, &who, chromedp.ByQuery), chromedp.Location(&loc))
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
	var png []byte
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Logf("screenshot %s: %v", step, err)
		return
	}
	path := filepath.Join(t.ArtifactDir(), t.Name()+"-"+step+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", step, err)
	}
}
