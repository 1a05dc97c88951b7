package httpapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestMustResetPassword: once the password checks out, a flagged user is
// refused with must_reset_password (§3.1, §5.1 with a reset token in the
// description, the portal by sending them to the new-password page) until
// the password changes.
func TestMustResetPassword(t *testing.T) {
	h, _, c := seeded(t)
	if _, err := h.svc.RequireReset(t.Context(), "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	// Wrong password: the usual refusal, nothing more specific.
	_, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"wrong guess!"}`)
	if e := parseEnv(t, body); e.Message != "The email address or password you entered is not valid." {
		t.Fatalf("wrong password: %+v", e)
	}
	_, _, body = do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"`+pw+`"}`)
	if e := parseEnv(t, body); e.Status != 500 || e.Message != "You must reset your password before signing in." {
		t.Fatalf("§3.1: %+v", e)
	}
	status, r := oauth(t, h, c, ctForm, form("grant_type", "password", "username", "alice@example.com", "password", pw))
	if status != 400 || r.Error != "must_reset_password" || len(r.ErrorDescription) < 40 {
		t.Fatalf("§5.1: %d %+v", status, r)
	}
	// The portal form goes straight to the new-password page.
	b := h.client()
	_, _, page := do(t, b, "GET", h.tenant("demo")+"/en/user/login", "", "")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	status, hdr, _ := do(t, b, "POST", h.tenant("demo")+"/en/user/login", ctForm, form("csrf", csrf, "email", "alice@example.com", "password", pw))
	if status != http.StatusFound || !strings.HasPrefix(hdr.Get("Location"), "/en/user/newPassword?token=") {
		t.Fatalf("portal: %d %q", status, hdr.Get("Location"))
	}
	if status, _, _ := do(t, b, "GET", h.tenant("demo")+hdr.Get("Location"), "", ""); status != 200 {
		t.Fatalf("new-password page from the redirect: %d", status)
	}
	// The token in the description completes the reset (§5.4); then sign-in works.
	status, _, body = do(t, c, "POST", h.base()+"/api/sys/users/completePasswordReset", ctJSON,
		`{"Token":"`+r.ErrorDescription+`","Password":"a chosen new phrase"}`)
	if status != 200 {
		t.Fatalf("complete with the description's token: %d %s", status, body)
	}
	_, _, body = do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"a chosen new phrase"}`)
	if e := parseEnv(t, body); e.Status != 200 {
		t.Fatalf("after the reset: %+v", e)
	}
}
