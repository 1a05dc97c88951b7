package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

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
	p.run(webauthn.Enable(), chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		id, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		}).Do(ctx)
		return err
	}))
	return id
}

// presence turns the virtual user's touch on or off: off, a ceremony waits
// (an autofill offer nobody picks); on, it completes at once.
func (p *portal) presence(id webauthn.AuthenticatorID, on bool) {
	p.t.Helper()
	p.run(webauthn.SetAutomaticPresenceSimulation(id, on))
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

	p.run(chromedp.WaitVisible("#passkey-register", chromedp.ByQuery),
		chromedp.SendKeys("#passkey-new-name", "Virtual key", chromedp.ByQuery),
		chromedp.Click("#passkey-register", chromedp.ByQuery))
	// The ceremony runs in script and ends in a form post: wait for the
	// page it lands on before querying (a query begun on the old document
	// does not follow the navigation).
	p.waitLocation("done=passkey_added")
	p.run(chromedp.WaitVisible("ul.passkeys", chromedp.ByQuery))
	var list string
	p.run(chromedp.Text("ul.passkeys", &list, chromedp.ByQuery))
	if !strings.Contains(list, "Virtual key") {
		t.Fatalf("passkey not listed: %q at %s", list, p.location())
	}
	p.shot("02-passkey-added")

	// Sign out with the user's touch off: the sign-in page's autofill
	// request (conditional UI) waits for a pick that does not come.
	p.presence(auth, false)
	p.run(chromedp.Click(`div.actions form button[type="submit"]:not(.secondary)`, chromedp.ByQuery))
	p.waitLocation("/en/user/login")
	p.run(chromedp.WaitVisible("#passkey-signin", chromedp.ByQuery))
	var autocomplete string
	p.run(chromedp.AttributeValue("#email", "autocomplete", &autocomplete, nil, chromedp.ByQuery))
	if autocomplete != "username webauthn" {
		t.Errorf("email field autocomplete %q, want conditional UI", autocomplete)
	}
	p.shot("03-signed-out")

	// No email, no password: the button, and the passkey alone. The click
	// replaces the waiting autofill request with the button's own, which
	// completes once the user touches the authenticator.
	p.run(chromedp.Click("#passkey-signin", chromedp.ByQuery))
	p.presence(auth, true)
	p.waitLocation("/en/user/account")
	p.waitAccount("u1@example.com")
	p.shot("04-signed-in-with-passkey")

	// Autofill (conditional UI): the sign-in page asks the browser for a
	// passkey as it loads; the virtual user, touch on, picks it at once, and
	// the page signs in and follows redirectUrl without any click.
	p.presence(auth, false)
	p.run(chromedp.Click(`div.actions form button[type="submit"]:not(.secondary)`, chromedp.ByQuery))
	p.waitLocation("/en/user/login")
	// Leave the sign-in page (its autofill request waits for a touch that
	// never comes), let the user's touch succeed from now on, and open the
	// sign-in page again: its autofill request completes by itself.
	p.run(chromedp.Navigate(p.url("/en/user/forgot")), chromedp.WaitVisible("#email", chromedp.ByQuery))
	p.presence(auth, true)
	p.run(chromedp.Evaluate(`location.href = "/en/user/login?redirectUrl=" + encodeURIComponent("/en/user/account?via=autofill")`, nil))
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
	p.run(chromedp.Click("#totp-start", chromedp.ByQuery), chromedp.WaitVisible("#totp-secret", chromedp.ByQuery))
	var secret string
	var qrWidth int
	p.run(chromedp.Text("#totp-secret", &secret, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("totp-qr").naturalWidth`, &qrWidth))
	if secret == "" || qrWidth < 100 {
		t.Fatalf("enrolment page: secret %q, QR width %d", secret, qrWidth)
	}
	p.shot("01-qr-code")
	now, _ := totp.GenerateCode(secret, time.Now())
	p.run(chromedp.SendKeys("#totp-code", now, chromedp.ByQuery),
		chromedp.Submit("#totp-code", chromedp.ByQuery),
		chromedp.WaitVisible("#recovery-codes", chromedp.ByQuery))
	var codes string
	p.run(chromedp.Text("#recovery-codes", &codes, chromedp.ByQuery))
	if n := len(strings.Fields(codes)); n != 10 {
		t.Fatalf("%d recovery codes: %q", n, codes)
	}
	p.shot("02-recovery-codes")

	p.run(chromedp.Click(`div.actions form button[type="submit"]:not(.secondary)`, chromedp.ByQuery),
		chromedp.WaitVisible("#email", chromedp.ByQuery))
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	p.signInForm("u2@example.com", browserPW)
	p.run(chromedp.WaitVisible("#totp", chromedp.ByQuery))
	p.shot("03-code-asked")
	p.run(chromedp.SendKeys("#totp", next, chromedp.ByQuery), chromedp.Click(`button[type="submit"]`, chromedp.ByQuery))
	p.waitAccount("u2@example.com")
}

// waitLocation waits until the page's URL contains part.
func (p *portal) waitLocation(part string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var loc string
		if chromedp.Run(p.ctx, chromedp.Location(&loc)) == nil && strings.Contains(loc, part) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("the browser never reached a URL with %q (at %s)", part, p.location())
}
