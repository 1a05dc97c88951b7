package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol turns two-factor on for email and returns the secret and the
// recovery codes.
func enrol(t *testing.T, h *harness, c *http.Client, email string) (string, []string) {
	t.Helper()
	bearer := signIn(t, h, c, email, 30)
	auth := []string{"Authorization", "Bearer " + bearer}
	status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/me/totp", "", "", auth...)
	v, _ := parseEnv(t, body).Value.(map[string]any)
	secret, _ := v["Secret"].(string)
	if status != 200 || secret == "" || !regexp.MustCompile(`^otpauth://totp/`).MatchString(v["Uri"].(string)) {
		t.Fatalf("start: %d %s", status, body)
	}
	if status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/me/totp/confirm", ctJSON, `{"code":"000000"}`, auth...); status != 400 {
		t.Fatalf("wrong confirm code: %d %s", status, body)
	}
	status, _, body = do(t, c, "POST", h.base()+"/api/sys/users/me/totp/confirm", ctJSON, `{"code":"`+code(t, secret, h.clock.Now())+`"}`, auth...)
	v, _ = parseEnv(t, body).Value.(map[string]any)
	raw, _ := v["RecoveryCodes"].([]any)
	if status != 200 || len(raw) != 10 {
		t.Fatalf("confirm: %d %s", status, body)
	}
	var rec []string
	for _, r := range raw {
		rec = append(rec, r.(string))
	}
	if status, _, _ := do(t, c, "POST", h.base()+"/api/sys/users/me/totp", "", "", auth...); status != http.StatusConflict {
		t.Fatalf("second enrolment: %d", status)
	}
	return secret, rec
}

// TestTOTP covers SPEC §5.2: enrolment, each code accepted once, ±1 step,
// recovery codes, and the totp field of §3.1.
func TestTOTP(t *testing.T) {
	h, _, c := seeded(t)
	secret, recovery := enrol(t, h, c, "alice@example.com")
	h.clock.Add(90 * time.Second) // past the step used to confirm
	signInWith := func(totpCode string) env {
		_, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON,
			`{"email":"alice@example.com","password":"`+pw+`","totp":"`+totpCode+`"}`)
		return parseEnv(t, body)
	}
	if e := signInWith(""); e.Status != 500 || e.Message != "Enter the code from your authenticator app." {
		t.Fatalf("no code: %+v", e)
	}
	if e := signInWith("123456"); e.Status != 500 || e.Message != "The two-factor code is not valid." {
		t.Fatalf("wrong code: %+v", e)
	}
	now := h.clock.Now()
	early := code(t, secret, now.Add(-30*time.Second))
	if e := signInWith(early); e.Status != 200 {
		t.Fatalf("code one step old refused: %+v", e)
	}
	if e := signInWith(early); e.Status != 500 {
		t.Fatalf("replayed code accepted: %+v", e)
	}
	if e := signInWith(code(t, secret, now.Add(-60*time.Second))); e.Status != 500 {
		t.Fatalf("code two steps old accepted: %+v", e)
	}
	if e := signInWith(code(t, secret, now.Add(30*time.Second))); e.Status != 200 {
		t.Fatalf("code one step ahead refused: %+v", e)
	}
	if e := signInWith(code(t, secret, now)); e.Status != 500 {
		t.Fatalf("code older than the last accepted one accepted: %+v", e)
	}
	if e := signInWith(recovery[0]); e.Status != 200 {
		t.Fatalf("recovery code refused: %+v", e)
	}
	if e := signInWith(recovery[0]); e.Status != 500 {
		t.Fatalf("recovery code accepted twice: %+v", e)
	}
	// §5.1 says two_factor_auth_check; §3.2 refuses a password-only caller.
	if status, r := oauth(t, h, c, ctForm, form("grant_type", "password", "username", "alice@example.com", "password", pw)); status != 400 || r.Error != "two_factor_auth_check" {
		t.Fatalf("password grant without code: %d %+v", status, r)
	}
	h.clock.Add(60 * time.Second)
	if status, r := oauth(t, h, c, ctForm, form("grant_type", "password", "username", "alice@example.com", "password", pw, "totp", code(t, secret, h.clock.Now()))); status != 200 {
		t.Fatalf("password grant with code: %d %+v", status, r)
	}
	// Passwordless codes are not sent to accounts with two-factor on.
	do(t, c, "GET", h.base()+"/api/sys/users/sendOtp?email=alice@example.com", "", "")
	outboxDrained(t, h)
	if n := len(h.smtp.Messages()); n != 0 {
		t.Fatalf("%d sign-in codes sent to a two-factor account", n)
	}
}

// TestTOTPPortalAndDisable: the portal form asks for the code after the
// password, and two-factor can be turned off with a code.
func TestTOTPPortalAndDisable(t *testing.T) {
	h, _, c := seeded(t)
	secret, recovery := enrol(t, h, c, "editor@example.com")
	h.clock.Add(60 * time.Second)
	b := h.client()
	_, _, page := do(t, b, "GET", h.tenant("demo")+"/en/user/login", "", "")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	status, _, page := do(t, b, "POST", h.tenant("demo")+"/en/user/login", ctForm, form("csrf", csrf, "email", "editor@example.com", "password", pw))
	pending := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)
	if status != 200 || pending == nil || !regexp.MustCompile(`name="totp"`).MatchString(page) {
		t.Fatalf("TOTP step: %d %s", status, page)
	}
	status, hdr, _ := do(t, b, "POST", h.tenant("demo")+"/en/user/login", ctForm,
		form("csrf", csrf, "email", "editor@example.com", "token", pending[1], "totp", code(t, secret, h.clock.Now())))
	if status != http.StatusFound || hdr.Get("Location") != "/en/user/account" {
		t.Fatalf("TOTP step answer: %d %q", status, hdr.Get("Location"))
	}
	if status, _, _ := do(t, b, "GET", h.tenant("demo")+"/en/user/account", "", ""); status != 200 {
		t.Fatalf("account after the TOTP step: %d", status)
	}
	// The pending sign-in is single use.
	status, _, _ = do(t, h.client(), "POST", h.tenant("demo")+"/en/user/login", ctForm,
		form("csrf", csrf, "email", "editor@example.com", "token", pending[1], "totp", recovery[1]))
	if status == http.StatusFound {
		t.Fatal("pending sign-in used twice")
	}
	// Turning two-factor off takes a code.
	h.clock.Add(60 * time.Second)
	bearer := func() string {
		_, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON,
			`{"email":"editor@example.com","password":"`+pw+`","totp":"`+recovery[2]+`"}`)
		v, _ := parseEnv(t, body).Value.(string)
		return v
	}()
	if status, _, _ := do(t, c, "DELETE", h.base()+"/api/sys/users/me/totp", ctJSON, `{"code":"nope"}`, "Authorization", "Bearer "+bearer); status != 400 {
		t.Fatalf("disable with a wrong code: %d", status)
	}
	if status, _, body := do(t, c, "DELETE", h.base()+"/api/sys/users/me/totp", ctJSON, `{"code":"`+recovery[3]+`"}`, "Authorization", "Bearer "+bearer); status != 200 {
		t.Fatalf("disable: %d %s", status, body)
	}
	signIn(t, h, c, "editor@example.com", 5) // no code needed any more
}

// TestTOTPSecretSealed (issue #10.9, SPEC §6 "Secrets at rest"): with a
// key-encryption key the TOTP secret (pending and active) is stored
// sealed, never in clear, and still checks codes after a restart; a
// process without the key cannot use it and refuses every code.
func TestTOTPSecretSealed(t *testing.T) {
	h := startHarness(t, harnessOptions{kek: "totp kek"})
	f := h.seed()
	c := h.client()
	secret, _ := enrol(t, h, c, "alice@example.com")
	u, err := h.store.UserByID(context.Background(), f.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.TOTPSecret == "" || strings.Contains(u.TOTPSecret, secret) || !strings.HasPrefix(u.TOTPSecret, "sealed:v1:") {
		t.Fatalf("stored TOTP secret %q is not sealed (secret %s)", u.TOTPSecret, secret)
	}
	b, err := os.ReadFile(h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if wal, err := os.ReadFile(h.dbPath + "-wal"); err == nil {
		b = append(b, wal...)
	}
	if strings.Contains(string(b), secret) {
		t.Errorf("the secret is in the database files in clear")
	}
	h.clock.Add(90 * time.Second)
	h = h.restart()
	c = h.client()
	signInCode := func(h *harness, code string) int {
		_, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON,
			`{"email":"alice@example.com","password":"`+pw+`","totp":"`+code+`"}`)
		return parseEnv(t, body).Status
	}
	if st := signInCode(h, code(t, secret, h.clock.Now())); st != 200 {
		t.Fatalf("right code after restart with the key: envelope %d", st)
	}
	// Without the key-encryption key the sealed secret opens nothing.
	h.stop()
	h.clock.Add(90 * time.Second)
	h2 := startHarness(t, harnessOptions{dbPath: h.dbPath, smtp: h.smtp, clock: h.clock})
	c = h2.client()
	if st := signInCode(h2, code(t, secret, h2.clock.Now())); st == 200 {
		t.Fatalf("a process without the key accepted a code")
	}
}
