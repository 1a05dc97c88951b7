package httpapi_test

import (
	"net/http"
	"testing"
	"time"
)

type tokenResp struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func oauth(t *testing.T, h *harness, c *http.Client, ct, body string, hdr ...string) (int, tokenResp) {
	t.Helper()
	status, _, raw := do(t, c, "POST", h.base()+"/api/token", ct, body, hdr...)
	return status, parseJSON[tokenResp](t, "JSON", raw)
}

func passwordGrant(t *testing.T, h *harness, c *http.Client, email, client string) tokenResp {
	t.Helper()
	status, r := oauth(t, h, c, ctForm, form("grant_type", "password", "username", email, "password", pw, "client_id", client))
	if status != 200 || r.AccessToken == "" || r.RefreshToken == "" || r.TokenType != "bearer" || r.ExpiresIn != 1800 {
		t.Fatalf("password grant: %d %+v", status, r)
	}
	return r
}

func refresh(t *testing.T, h *harness, c *http.Client, rt, client string) (int, tokenResp) {
	t.Helper()
	return oauth(t, h, c, ctForm, form("grant_type", "refresh_token", "refresh_token", rt, "client_id", client))
}

// TestOAuthGrants covers SPEC §5.1's input rules and errors.
func TestOAuthGrants(t *testing.T) {
	h, _, c := seeded(t)
	g := passwordGrant(t, h, c, "alice@example.com", "")
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+g.AccessToken, "", ""); status != http.StatusFound {
		t.Fatalf("access token refused on the portal: %d", status)
	}
	cases := []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"JSON body", ctJSON, `{"grant_type":"password","username":"alice@example.com","password":"` + pw + `"}`, 400, "unsupported_grant_type"},
		{"no grant type", ctForm, form("username", "alice@example.com", "password", pw), 400, "invalid_request"},
		{"unknown grant type", ctForm, form("grant_type", "client_credentials"), 400, "unsupported_grant_type"},
		{"wrong password", ctForm, form("grant_type", "password", "username", "alice@example.com", "password", "nope nope"), 400, "invalid_grant"},
		{"missing password", ctForm, form("grant_type", "password", "username", "alice@example.com"), 400, "invalid_request"},
		{"missing refresh token", ctForm, form("grant_type", "refresh_token"), 400, "invalid_request"},
		{"garbage refresh token", ctForm, form("grant_type", "refresh_token", "refresh_token", "garbage"), 400, "invalid_grant"},
		{"duplicate keys", ctForm, "grant_type=password&grant_type=refresh_token", 400, "invalid_request"},
		{"keys in any case", ctForm, form("Grant_Type", "password", "USERNAME", "alice@example.com", "Password", pw), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, r := oauth(t, h, c, tc.ct, tc.body)
			if status != tc.status || r.Error != tc.code {
				t.Fatalf("%d %+v, want %d %q", status, r, tc.status, tc.code)
			}
		})
	}
}

// TestRefreshRotationAndReuse: the old token is refused after a rotation,
// and presenting it kills the newest token of its family too.
func TestRefreshRotationAndReuse(t *testing.T) {
	h, _, c := seeded(t)
	first := passwordGrant(t, h, c, "alice@example.com", "app")
	status, second := refresh(t, h, c, first.RefreshToken, "app")
	if status != 200 || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("rotation: %d %+v", status, second)
	}
	status, third := refresh(t, h, c, second.RefreshToken, "")
	if status != 200 {
		t.Fatalf("second rotation (client_id optional): %d %+v", status, third)
	}
	// Reuse of a rotated token: refused, and the family's newest dies.
	if status, r := refresh(t, h, c, first.RefreshToken, "app"); status != 400 || r.Error != "invalid_grant" {
		t.Fatalf("reuse: %d %+v", status, r)
	}
	if status, r := refresh(t, h, c, third.RefreshToken, "app"); status != 400 || r.Error != "invalid_grant" {
		t.Fatalf("newest token survived reuse of its family: %d %+v", status, r)
	}
	// A fresh password grant starts a new family that works.
	fresh := passwordGrant(t, h, c, "alice@example.com", "app")
	if status, _ := refresh(t, h, c, fresh.RefreshToken, "app"); status != 200 {
		t.Fatalf("new family refused: %d", status)
	}
}

// TestRefreshPerClientAndExpiry: issuing for a client id invalidates that
// client's earlier refresh tokens only; tokens die after 15 days, with a
// password change, and when another client presents them.
func TestRefreshPerClientAndExpiry(t *testing.T) {
	h, _, c := seeded(t)
	app1 := passwordGrant(t, h, c, "alice@example.com", "app")
	web := passwordGrant(t, h, c, "alice@example.com", "web")
	app2 := passwordGrant(t, h, c, "alice@example.com", "app")
	if status, _ := refresh(t, h, c, app1.RefreshToken, "app"); status != 400 {
		t.Fatalf("earlier token of the same client alive: %d", status)
	}
	if status, _ := refresh(t, h, c, web.RefreshToken, "app"); status != 400 {
		t.Fatalf("token accepted from another client id: %d", status)
	}
	// client_id may also come as a header.
	status, web2 := oauth(t, h, c, ctForm, form("grant_type", "refresh_token", "refresh_token", web.RefreshToken), "client_id", "web")
	if status != 200 {
		t.Fatalf("other client's token died: %d", status)
	}
	h.clock.Add(15*24*time.Hour + time.Minute)
	if status, r := refresh(t, h, c, app2.RefreshToken, "app"); status != 400 || r.Error != "invalid_grant" {
		t.Fatalf("token older than 15 days: %d %+v", status, r)
	}
	// Within its life a token dies with a password change.
	h.clock.Add(-15 * 24 * time.Hour)
	if _, err := h.svc.SetPassword(t.Context(), "alice@example.com", "a different passphrase"); err != nil {
		t.Fatal(err)
	}
	if status, _ := refresh(t, h, c, web2.RefreshToken, "web"); status != 400 {
		t.Fatalf("refresh token survived a password change: %d", status)
	}
}
