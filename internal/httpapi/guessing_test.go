package httpapi_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// TestSecondFactorGuessesLock (issue 10.3, SPEC §6 "Second factors"): with
// the right password, wrong TOTP or recovery codes count as failed sign-ins
// in every flow: after 5 the account is locked, the right code is refused
// too (429), and each wrong code left an audit row. On the old code the
// guesses never counted (137 wrong codes, no 429, no audit row).
func TestSecondFactorGuessesLock(t *testing.T) {
	const wrongTOTP, wrongRecovery = "123456", "aaaaaaaaaaaaaaaa"
	type flow struct {
		name string
		// try makes one attempt with code and reports the HTTP status and
		// whether it was refused as a wrong code.
		try func(t *testing.T, h *harness, c *http.Client, bearer, code string) (status int, wrongCode bool)
	}
	token := func(t *testing.T, h *harness, c *http.Client, bearer, code string) (int, bool) {
		status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON,
			`{"email":"alice@example.com","password":"`+pw+`","totp":"`+code+`"}`)
		if status == 429 {
			return status, false
		}
		e := parseEnv(t, body)
		return status, e.Status == 500 && e.Message == "The two-factor code is not valid."
	}
	grant := func(t *testing.T, h *harness, c *http.Client, bearer, code string) (int, bool) {
		status, r := oauth(t, h, c, ctForm, form("grant_type", "password", "username", "alice@example.com", "password", pw, "totp", code))
		return status, status == 400 && r.AccessToken == ""
	}
	portalStep := func(t *testing.T, h *harness, c *http.Client, bearer, code string) (int, bool) {
		b := h.client()
		_, _, page := do(t, b, "GET", h.tenant("demo")+"/en/user/login", "", "")
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
		status, _, page := do(t, b, "POST", h.tenant("demo")+"/en/user/login", ctForm, form("csrf", csrf, "email", "alice@example.com", "password", pw))
		pending := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)
		if pending == nil {
			return status, false // the password step itself was refused
		}
		status, _, _ = do(t, b, "POST", h.tenant("demo")+"/en/user/login", ctForm,
			form("csrf", csrf, "email", "alice@example.com", "token", pending[1], "totp", code))
		return status, status == http.StatusUnauthorized
	}
	disable := func(t *testing.T, h *harness, c *http.Client, bearer, code string) (int, bool) {
		status, _, _ := do(t, c, "DELETE", h.base()+"/api/sys/users/me/totp", ctJSON, `{"code":"`+code+`"}`,
			"Authorization", "Bearer "+bearer)
		return status, status == 400
	}
	flows := []flow{
		{"token TOTP", token},
		{"password grant TOTP", grant},
		{"portal form TOTP step", portalStep},
		{"TOTP removal", disable},
	}
	for _, recovery := range []bool{false, true} {
		for _, f := range flows {
			name := f.name
			wrong := wrongTOTP
			if recovery {
				name, wrong = strings.ReplaceAll(name, "TOTP", "recovery code"), wrongRecovery
			}
			t.Run(name, func(t *testing.T) {
				h, fx, c := seeded(t)
				secret, codes := enrol(t, h, c, "alice@example.com")
				h.clock.Add(90 * time.Second) // past the step used to confirm
				bearer := bearerWithCode(t, h, c, code(t, secret, h.clock.Now()))
				since := h.clock.Now()
				for i := 1; i <= 5; i++ {
					if status, ok := f.try(t, h, c, bearer, wrong); !ok {
						t.Fatalf("wrong code %d: %d, not refused as a wrong code", i, status)
					}
				}
				right := code(t, secret, h.clock.Now().Add(30*time.Second))
				if recovery {
					right = codes[5]
				}
				if status, _ := f.try(t, h, c, bearer, right); status != 429 {
					t.Fatalf("right code after 5 wrong ones: %d, want 429", status)
				}
				if status, _ := token(t, h, c, "", codes[6]); status != 429 {
					t.Fatalf("the locked account answered %d to §3.1 with a right recovery code", status)
				}
				ev, err := h.store.ListAudit(context.Background(), store.AuditFilter{UserID: fx.alice.ID, Type: "signin.failure", Since: since})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, e := range ev {
					if strings.Contains(e.Detail, "two_factor") {
						n++
					}
				}
				if n != 5 {
					t.Fatalf("%d audit rows for 5 wrong codes: %+v", n, ev)
				}
			})
		}
	}
}

// bearerWithCode signs alice in with her TOTP code.
func bearerWithCode(t *testing.T, h *harness, c *http.Client, totpCode string) string {
	t.Helper()
	_, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON,
		`{"email":"alice@example.com","password":"`+pw+`","totp":"`+totpCode+`"}`)
	v, _ := parseEnv(t, body).Value.(string)
	if v == "" {
		t.Fatalf("sign-in with a code: %s", body)
	}
	return v
}
