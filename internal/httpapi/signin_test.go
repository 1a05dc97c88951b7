package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

const badCreds = `{"Status":500,"Message":"The email address or password you entered is not valid.","Value":null,"OpenInDialog":false,"OpenInWindow":false,"RedirectURL":null,"JavaScript":null,"UpdatedOn":null,"UpdatedBy":null,"Errors":null,"WasSuccessful":false}`

// TestSignIn covers every bullet of SPEC §3.1.
func TestSignIn(t *testing.T) {
	h, _, c := seeded(t)
	big := `{"email":"alice@example.com","password":"x","pad":"` + strings.Repeat("a", 70<<10) + `"}`
	cases := []struct {
		name, path, ct, body string
		status               int    // HTTP status
		envStatus            int    // envelope Status
		errField             string // expected key in Errors
		exact                string // exact body, when the contract fixes it
		validity             int64  // expected exp-iat in minutes on success
	}{
		{"json", "/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"` + pw + `"}`, 200, 200, "", "", 30},
		{"form", "/api/sys/users/token", ctForm, form("email", "alice@example.com", "password", pw), 200, 200, "", "", 30},
		{"keys any case", "/api/sys/users/token", ctJSON, `{"EMAIL":"alice@example.com","Password":"` + pw + `","ValidityInMinutes":5}`, 200, 200, "", "", 5},
		{"email any case", "/api/sys/users/token", ctJSON, `{"email":"ALICE@Example.com","password":"` + pw + `"}`, 200, 200, "", "", 30},
		{"validity as string", "/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"` + pw + `","validityInMinutes":"45"}`, 200, 200, "", "", 45},
		{"validity form", "/api/sys/users/token", ctForm, form("email", "alice@example.com", "password", pw, "validityInMinutes", "60"), 200, 200, "", "", 60},
		{"validity clamped", "/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"` + pw + `","validityInMinutes":999999999999}`, 200, 200, "", "", 10080},
		{"validity zero fraction", "/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"` + pw + `","validityInMinutes":45.0}`, 200, 200, "", "", 45},
		{"validity 13 digits", "/api/sys/users/token", ctJSON, `{"email":"a@b.c","password":"x","validityInMinutes":1000000000000}`, 400, 400, "validityInMinutes", "", 0},
		{"validity exponent", "/api/sys/users/token", ctJSON, `{"email":"a@b.c","password":"x","validityInMinutes":3e1}`, 400, 400, "validityInMinutes", "", 0},
		{"seed path", "/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"` + pw + `"}`, 200, 200, "", "", 30},
		{"trailing slash", "/api/sys/users/token/", ctJSON, `{"email":"alice@example.com","password":"` + pw + `"}`, 200, 200, "", "", 30},
		{"unknown keys ignored", "/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"` + pw + `","client":"app","n":[1,2]}`, 200, 200, "", "", 30},
		{"wrong password", "/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"nope nope"}`, 200, 500, "", badCreds, 0},
		{"unknown email", "/api/sys/users/token", ctJSON, `{"email":"nobody@example.com","password":"` + pw + `"}`, 200, 500, "", badCreds, 0},
		{"disabled user", "/api/sys/users/token", ctJSON, `{"email":"carl@example.com","password":"` + pw + `"}`, 200, 500, "", badCreds, 0},
		{"missing email", "/api/sys/users/token", ctJSON, `{"password":"x"}`, 400, 400, "email", "", 0},
		{"empty email", "/api/sys/users/token", ctForm, form("email", "", "password", "x"), 400, 400, "email", "", 0},
		{"missing password", "/api/sys/users/token", ctJSON, `{"email":"alice@example.com"}`, 400, 400, "password", "", 0},
		{"validity zero", "/api/sys/users/token", ctJSON, `{"email":"a@b.c","password":"x","validityInMinutes":0}`, 400, 400, "validityInMinutes", "", 0},
		{"validity negative", "/api/sys/users/token", ctJSON, `{"email":"a@b.c","password":"x","validityInMinutes":-5}`, 400, 400, "validityInMinutes", "", 0},
		{"validity fraction", "/api/sys/users/token", ctJSON, `{"email":"a@b.c","password":"x","validityInMinutes":1.5}`, 400, 400, "validityInMinutes", "", 0},
		{"validity text", "/api/sys/users/token", ctForm, form("email", "a@b.c", "password", "x", "validityInMinutes", "soon"), 400, 400, "validityInMinutes", "", 0},
		{"validity bool", "/api/sys/users/token", ctJSON, `{"email":"a@b.c","password":"x","validityInMinutes":true}`, 400, 400, "validityInMinutes", "", 0},
		{"email wrong type", "/api/sys/users/token", ctJSON, `{"email":["a@b.c"],"password":"x"}`, 400, 400, "email", "", 0},
		{"duplicate key", "/api/sys/users/token", ctJSON, `{"email":"a@b.c","Email":"b@b.c","password":"x"}`, 400, 400, "email", "", 0},
		{"malformed json", "/api/sys/users/token", ctJSON, `{"email":`, 400, 400, "", "", 0},
		{"json not an object", "/api/sys/users/token", ctJSON, `["email"]`, 400, 400, "", "", 0},
		{"nul in password", "/api/sys/users/token", ctJSON, `{"email":"a@b.c","password":"x\u0000y"}`, 400, 400, "password", "", 0},
		{"unsupported type", "/api/sys/users/token", "text/plain", "email=a", 415, 415, "", "", 0},
		{"too large", "/api/sys/users/token", ctJSON, big, 413, 413, "", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := do(t, c, "POST", h.base()+tc.path, tc.ct, tc.body)
			if status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", status, tc.status, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			e := parseEnv(t, body)
			if e.Status != tc.envStatus || e.WasSuccessful != (tc.envStatus == 200) || e.Message == "" {
				t.Errorf("envelope %+v", e)
			}
			if tc.exact != "" && strings.TrimSpace(body) != tc.exact {
				t.Errorf("body\n got %s\nwant %s", body, tc.exact)
			}
			if tc.errField != "" && len(e.Errors[tc.errField]) == 0 {
				t.Errorf("Errors %v lacks %q", e.Errors, tc.errField)
			}
			if tc.validity > 0 {
				tok, _ := e.Value.(string)
				m := claims(t, tok)
				if got := (num(m, "exp") - num(m, "iat")) / 60; got != tc.validity {
					t.Errorf("validity %d min, want %d", got, tc.validity)
				}
				if m["sub"] == "" || m["email"] != "alice@example.com" || m["jti"] == "" || m["iss"] == nil || m["nbf"] == nil || m["name"] != "Alice Martin" {
					t.Errorf("claims %v", m)
				}
				if hdr.Get("Cache-Control") != "no-store" {
					t.Errorf("token response cacheable: %q", hdr.Get("Cache-Control"))
				}
			}
		})
	}
}

func TestSignInMethodNotAllowed(t *testing.T) {
	h := newHarness(t)
	status, hdr, body := do(t, h.client(), "GET", h.base()+"/api/sys/users/token", "", "")
	if status != http.StatusMethodNotAllowed || !strings.Contains(hdr.Get("Allow"), "POST") {
		t.Fatalf("HTTP %d Allow=%q", status, hdr.Get("Allow"))
	}
	if e := parseEnv(t, body); e.Status != 405 || e.WasSuccessful {
		t.Errorf("envelope %+v", e)
	}
}

// TestSignInTokenWorksAsBearer shows the §3.1 token authenticating an API
// call (§3.2 with Bearer) until the user's tokens are revoked.
func TestSignInTokenWorksAsBearer(t *testing.T) {
	h, f, c := seeded(t)
	tok := signIn(t, h, c, "admin@example.com", 30)
	status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/"+itoa(f.alice.ID)+"/token/refresh", "", "", "Authorization", "Bearer "+tok)
	if e := parseEnv(t, body); status != 200 || e.Status != 200 {
		t.Fatalf("bearer refused: %d %s", status, body)
	}
	if _, err := h.svc.SetPassword(t.Context(), "admin@example.com", "another fine passphrase"); err != nil {
		t.Fatal(err)
	}
	status, _, body = do(t, c, "POST", h.base()+"/api/sys/users/"+itoa(f.alice.ID)+"/token/refresh", "", "", "Authorization", "Bearer "+tok)
	if e := parseEnv(t, body); status != 200 || e.Status != 500 {
		t.Fatalf("revoked bearer accepted: %d %s", status, body)
	}
}

func signIn(t *testing.T, h *harness, c *http.Client, email string, minutes int) string {
	t.Helper()
	status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON,
		`{"email":"`+email+`","password":"`+pw+`","validityInMinutes":`+itoa(int64(minutes))+`}`)
	e := parseEnv(t, body)
	tok, _ := e.Value.(string)
	if status != 200 || e.Status != 200 || tok == "" {
		t.Fatalf("sign-in of %s failed: %d %s", email, status, body)
	}
	return tok
}
