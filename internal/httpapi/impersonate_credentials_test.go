package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/store"
)

// TestAttackImpersonatedSessionAddsNoCredential: a portal session opened
// from an impersonation link (the token carried act) could register a
// passkey or turn TOTP on for the impersonated member, a credential that
// outlived the impersonation. Such a session is refused every action that
// adds or removes a lasting credential (403, audited with the actor); the
// member's own session is not.
func TestAttackImpersonatedSessionAddsNoCredential(t *testing.T) {
	h := newHarness(t)
	f := h.seed()
	ctx := context.Background()
	imp := adminImpersonates(t, h, f.alice.ID, "")
	status, link := linkToken(t, h, imp)
	if status != http.StatusOK || link == "" {
		t.Fatalf("link token from the impersonation token: %d", status)
	}
	impersonated := sessionCookie(t, h, portalSession(t, h, link))
	own := sessionCookie(t, h, portalSession(t, h, signIn(t, h, h.client(), "alice@example.com", 30)))

	csrf := strings.Repeat("c", 43)
	post := func(session, path string) (int, string) {
		status, _, body := do(t, h.client(), "POST", h.tenant("demo")+"/en/user/account/"+path, ctForm,
			form("csrf", csrf, "code", "000000", "name", "x"), "Cookie", "spaceauth_session="+session+"; spaceauth_csrf="+csrf)
		return status, body
	}
	refused := []string{"passkeys/begin", "passkeys", "totp", "totp/confirm", "totp/recovery", "totp/disable"}
	for _, path := range refused {
		t.Run("impersonated "+path, func(t *testing.T) {
			if status, body := post(impersonated, path); status != http.StatusForbidden {
				t.Errorf("HTTP %d, want 403: %.300s", status, body)
			}
		})
	}
	evs, err := h.store.ListAudit(ctx, store.AuditFilter{UserID: f.alice.ID, Type: "credential.refused"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(refused) {
		t.Errorf("%d credential.refused events, want %d", len(evs), len(refused))
	}
	for _, e := range evs {
		if e.ActorID != f.admin.ID || !strings.Contains(e.Detail, `"reason":"impersonation"`) {
			t.Errorf("refusal audited as %+v, want actor %d", e, f.admin.ID)
		}
	}
	u, err := h.store.UserByID(ctx, f.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.TOTPPending != "" || u.TOTPSecret != "" {
		t.Error("the impersonated session left a TOTP secret on the account")
	}

	// The member's own session still begins a passkey and a TOTP enrolment,
	// and the impersonated one still reads the account page.
	for _, path := range []string{"passkeys/begin", "totp"} {
		if status, body := post(own, path); status != http.StatusOK {
			t.Errorf("own session %s: HTTP %d: %.300s", path, status, body)
		}
	}
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/account", "", "", "Cookie", "spaceauth_session="+impersonated); status != http.StatusOK {
		t.Errorf("impersonated session lost the account page: %d", status)
	}
}

func sessionCookie(t *testing.T, h *harness, b *http.Client) string {
	t.Helper()
	u, _ := url.Parse(h.tenant("demo"))
	for _, ck := range b.Jar.Cookies(u) {
		if ck.Name == "spaceauth_session" {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}
