package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// virtualAuthenticator gives the browser a platform authenticator that
// keeps discoverable credentials and verifies its user (DevTools WebAuthn
// domain), so no human touches anything.
func (p *portal) virtualAuthenticator() webauthn.AuthenticatorID {
	p.t.Helper()
	var id webauthn.AuthenticatorID
	p.run(protocol(webauthn.Enable, webauthn.EnableParams{}), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
		id = res.AuthenticatorID
		return err
	}))
	return id
}

// presence turns the virtual user's touch on or off: off, a ceremony waits
// (an autofill offer nobody picks); on, it completes at once.
func (p *portal) presence(id webauthn.AuthenticatorID, on bool) {
	p.t.Helper()
	p.run(protocol(webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on}))
}

// TestBrowserPasskey: a member registers a passkey from the account page,
// signs out, and signs in again with it without typing an email; the
// sign-in page offers passkeys to the email field's autofill.
func TestBrowserPasskey(t *testing.T) {
	p := newPortal(t)
	auth := p.virtualAuthenticator()
	p.signInForm("u1@example.com", browserPW)
	p.waitAccount("u1@example.com")
	p.shot("01-account")

	p.run(chromedp.WaitVisible(chromedp.CSS("#passkey-register")),
		chromedp.SendKeys(chromedp.CSS("#passkey-new-name"), "Virtual key"),
		chromedp.Click(chromedp.CSS("#passkey-register")))
	// The ceremony runs in script and ends in a form post: wait for the
	// page it lands on before querying (a query begun on the old document
	// does not follow the navigation).
	p.waitLocation("done=passkey_added")
	p.run(chromedp.WaitVisible(chromedp.CSS("ul.passkeys")))
	list := value(p, chromedp.Text(chromedp.CSS("ul.passkeys")))
	if !strings.Contains(list, "Virtual key") {
		t.Fatalf("passkey not listed: %q at %s", list, p.location())
	}
	p.shot("02-passkey-added")

	// Sign out with the user's touch off: the sign-in page's autofill
	// request (conditional UI) waits for a pick that does not come.
	p.presence(auth, false)
	p.run(chromedp.Click(chromedp.CSS(`div.actions form button[type="submit"]:not(.secondary)`)))
	p.waitLocation("/en/user/login")
	p.run(chromedp.WaitVisible(chromedp.CSS("#passkey-signin")))
	autocomplete := value(p, chromedp.AttributeValue(chromedp.CSS("#email"), "autocomplete")).Value
	if autocomplete != "username webauthn" {
		t.Errorf("email field autocomplete %q, want conditional UI", autocomplete)
	}
	p.shot("03-signed-out")

	// No email, no password: the button, and the passkey alone. The click
	// replaces the waiting autofill request with the button's own, which
	// completes once the user touches the authenticator.
	p.run(chromedp.Click(chromedp.CSS("#passkey-signin")))
	p.presence(auth, true)
	p.waitLocation("/en/user/account")
	p.waitAccount("u1@example.com")
	p.shot("04-signed-in-with-passkey")

	// Autofill (conditional UI): the sign-in page asks the browser for a
	// passkey as it loads; the virtual user, touch on, picks it at once, and
	// the page signs in and follows redirectUrl without any click.
	p.presence(auth, false)
	p.run(chromedp.Click(chromedp.CSS(`div.actions form button[type="submit"]:not(.secondary)`)))
	p.waitLocation("/en/user/login")
	// Leave the sign-in page (its autofill request waits for a touch that
	// never comes), let the user's touch succeed from now on, and open the
	// sign-in page again: its autofill request completes by itself.
	p.run(chromedp.Navigate(p.url("/en/user/forgot")), chromedp.WaitVisible(chromedp.CSS("#email")))
	p.presence(auth, true)
	value(p, chromedp.Evaluate[string](`location.href = "/en/user/login?redirectUrl=" + encodeURIComponent("/en/user/account?via=autofill")`))
	p.waitLocation("via=autofill")
	p.waitAccount("u1@example.com")
	p.shot("05-signed-in-by-autofill")
}

// TestBrowserTOTPEnrolment: a member turns two-factor on from the account
// page by reading the secret shown next to the QR code, keeps the recovery
// codes, and the next password sign-in asks for a code.
func TestBrowserTOTPEnrolment(t *testing.T) {
	p := newPortal(t)
	p.signInForm("u2@example.com", browserPW)
	p.waitAccount("u2@example.com")
	p.run(chromedp.Click(chromedp.CSS("#totp-start")), chromedp.WaitVisible(chromedp.CSS("#totp-secret")))
	secret := value(p, chromedp.Text(chromedp.CSS("#totp-secret")))
	qrWidth := value(p, chromedp.Evaluate[int](`document.getElementById("totp-qr").naturalWidth`))
	if secret == "" || qrWidth < 100 {
		t.Fatalf("enrolment page: secret %q, QR width %d", secret, qrWidth)
	}
	p.shot("01-qr-code")
	now, _ := totp.GenerateCode(secret, time.Now())
	p.run(chromedp.SendKeys(chromedp.CSS("#totp-code"), now),
		chromedp.Submit(chromedp.CSS("#totp-code")),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
	codes := value(p, chromedp.Text(chromedp.CSS("#recovery-codes")))
	if n := len(strings.Fields(codes)); n != 10 {
		t.Fatalf("%d recovery codes: %q", n, codes)
	}
	p.shot("02-recovery-codes")

	p.run(chromedp.Click(chromedp.CSS(`div.actions form button[type="submit"]:not(.secondary)`)),
		chromedp.WaitVisible(chromedp.CSS("#email")))
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	p.signInForm("u2@example.com", browserPW)
	p.run(chromedp.WaitVisible(chromedp.CSS("#totp")))
	p.shot("03-code-asked")
	p.run(chromedp.SendKeys(chromedp.CSS("#totp"), next), chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	p.waitAccount("u2@example.com")
}

// waitLocation waits until the page's URL contains part.
func (p *portal) waitLocation(part string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if loc, err := chromedp.Run(p.ctx, chromedp.Location()); err == nil && strings.Contains(loc, part) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("the browser never reached a URL with %q (at %s)", part, p.location())
}
