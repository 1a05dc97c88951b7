package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/store"
)

// TestMe covers SPEC §5.6's /user/me with Basic and Bearer (the full
// record of §5.8 is pinned by TestUserRecordGolden).
func TestMe(t *testing.T) {
	h, f, c := seeded(t)
	tok := signIn(t, h, c, "alice@example.com", 30)
	for name, auth := range map[string]string{"bearer": "Bearer " + tok, "basic": basic("alice@example.com", pw)} {
		status, _, body := do(t, c, "GET", h.tenant("demo")+"/en/user/me", "", "", "Authorization", auth)
		var me struct {
			Id                  int64
			Email               string
			DefaultBusinessId   int64
			DefaultBusinessName string
			Businesses          []int64
			IsAdmin             bool
		}
		if err := json.Unmarshal([]byte(body), &me); err != nil || status != 200 {
			t.Fatalf("%s: %d %s", name, status, body)
		}
		if me.Id != f.alice.ID || me.Email != "alice@example.com" || me.DefaultBusinessId != f.demo.ID ||
			me.DefaultBusinessName != "Demo Space" || len(me.Businesses) != 1 || me.Businesses[0] != f.demo.ID || me.IsAdmin {
			t.Errorf("%s: %+v", name, me)
		}
	}
	for name, hdr := range map[string][]string{"none": nil, "bad bearer": {"Authorization", "Bearer nope"},
		"bad basic": {"Authorization", basic("alice@example.com", "wrong one!")}} {
		status, h2, _ := do(t, c, "GET", h.tenant("demo")+"/en/user/me", "", "", hdr...)
		if status != 401 || h2.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d", name, status)
		}
	}
}

// TestExchangeAndLinkToken covers SPEC §5.3.
func TestExchangeAndLinkToken(t *testing.T) {
	h, _, c := seeded(t)
	bearer := signIn(t, h, c, "alice@example.com", 30)
	status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token/refresh", "", "", "Authorization", "Bearer "+bearer)
	link, _ := parseEnv(t, body).Value.(string)
	if status != 200 || link == "" {
		t.Fatalf("link token: %d %s", status, body)
	}
	if m := claims(t, link); num(m, "exp")-num(m, "iat") != 300 {
		t.Errorf("link token lives %d s, want 300", num(m, "exp")-num(m, "iat"))
	}
	if status, _, _ := do(t, c, "POST", h.base()+"/api/sys/users/token/refresh", "", ""); status != 401 {
		t.Errorf("no bearer: %d", status)
	}
	// The one-time token becomes a pair, once.
	status, _, body = do(t, c, "POST", h.base()+"/api/sys/users/exchange?token="+url.QueryEscape(link)+"&validForInMinutes=15", "", "")
	var pair struct {
		Token        string `json:"token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int64  `json:"expires_in"`
	}
	json.Unmarshal([]byte(body), &pair)
	if status != 200 || pair.Token == "" || pair.RefreshToken == "" || pair.ExpiresIn != 900 {
		t.Fatalf("exchange: %d %s", status, body)
	}
	if status, _, _ := do(t, c, "POST", h.base()+"/api/sys/users/exchange", ctJSON, `{"token":"`+link+`"}`); status != 401 {
		t.Fatalf("exchanged twice: %d", status)
	}
	if status, r := refresh(t, h, c, pair.RefreshToken, ""); status != 200 {
		t.Fatalf("refresh token from the exchange: %d %+v", status, r)
	}
	if status, _, _ := do(t, c, "POST", h.base()+"/api/sys/users/exchange", ctJSON, `{}`); status != 400 {
		t.Fatalf("no token: %d", status)
	}
}

// TestAPIReset covers SPEC §5.4: start never reveals whether the email
// exists; complete sets the password and returns a one-time token.
func TestAPIReset(t *testing.T) {
	h, f, c := seeded(t)
	for _, email := range []string{"nobody@example.com", "alice@example.com"} {
		status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/startPasswordReset", ctJSON, `{"Email":"`+email+`","BusinessId":`+itoa(f.demo.ID)+`}`)
		if e := parseEnv(t, body); status != 200 || e.Message != resetSent {
			t.Fatalf("start for %s: %d %s", email, status, body)
		}
	}
	link, _ := resetLink(t, h, 1)
	u, _ := url.Parse(link)
	tok := u.Query().Get("token")
	complete := func(body string) (int, env) {
		status, _, raw := do(t, c, "POST", h.base()+"/api/sys/users/completePasswordReset", ctJSON, body)
		return status, parseEnv(t, raw)
	}
	if status, e := complete(`{"Token":"` + tok + `","Password":"short"}`); status != 400 || len(e.Errors["password"]) == 0 {
		t.Fatalf("weak password: %d %+v", status, e)
	}
	if status, e := complete(`{"Token":"` + tok + `","Password":"a brand new phrase","BusinessId":` + itoa(f.other.ID) + `}`); status != 400 || len(e.Errors["token"]) == 0 {
		t.Fatalf("token of another business: %d %+v", status, e)
	}
	status, e := complete(`{"Token":"` + tok + `","Password":"a brand new phrase","BusinessId":` + itoa(f.demo.ID) + `}`)
	oneTime, _ := e.Value.(string)
	if status != 200 || oneTime == "" {
		t.Fatalf("complete: %d %+v", status, e)
	}
	if status, _, _ := do(t, c, "POST", h.base()+"/api/sys/users/exchange?token="+url.QueryEscape(oneTime), "", ""); status != 200 {
		t.Fatalf("one-time token from the reset refused by the exchange: %d", status)
	}
	if status, _ := complete(`{"Token":"` + tok + `","Password":"yet another phrase"}`); status != 400 {
		t.Fatalf("reset token used twice: %d", status)
	}
	_, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"a brand new phrase"}`)
	if parseEnv(t, body).Status != 200 {
		t.Fatalf("new password refused: %s", body)
	}
	if status, _, _ := do(t, c, "GET", h.base()+"/api/sys/users/startPasswordReset", "", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("GET start: %d", status)
	}
}

// TestImpersonate covers every bullet of SPEC §3.2.
func TestImpersonate(t *testing.T) {
	h, f, c := seeded(t)
	adminTok := signIn(t, h, c, "admin@example.com", 30)
	aliceTok := signIn(t, h, c, "alice@example.com", 30)
	path := func(id string) string { return h.base() + "/api/sys/users/" + id + "/token/refresh" }
	alice, bob := itoa(f.alice.ID), itoa(f.bob.ID)
	cases := []struct {
		name, method, url, ct, body string
		hdr                         []string
		status, envStatus           int
		sub                         int64 // expected subject on success
		actor                       int64
		validity                    int64
		wwwAuth                     bool
	}{
		{"admin basic", "POST", path(alice), "", "", []string{"Authorization", basic("admin@example.com", pw)}, 200, 200, f.alice.ID, f.admin.ID, 30, false},
		{"admin basic GET", "GET", path(alice), "", "", []string{"Authorization", basic("admin@example.com", pw)}, 200, 200, f.alice.ID, f.admin.ID, 30, false},
		{"admin bearer", "POST", path(bob), "", "", []string{"Authorization", "Bearer " + adminTok}, 200, 200, f.bob.ID, f.admin.ID, 30, false},
		{"admin body", "POST", path(alice), ctJSON, `{"email":"admin@example.com","password":"` + pw + `","validityInMinutes":15}`, nil, 200, 200, f.alice.ID, f.admin.ID, 15, false},
		{"admin form body", "POST", path(alice), ctForm, form("Email", "admin@example.com", "Password", pw), nil, 200, 200, f.alice.ID, f.admin.ID, 30, false},
		{"nested validity", "POST", path(alice), ctJSON, `{"auth":{"validityInMinutes":20}}`, []string{"Authorization", basic("admin@example.com", pw)}, 200, 200, f.alice.ID, f.admin.ID, 20, false},
		{"query validity", "GET", path(alice) + "?validityInMinutes=25", "", "", []string{"Authorization", basic("admin@example.com", pw)}, 200, 200, f.alice.ID, f.admin.ID, 25, false},
		{"seed path", "POST", h.base() + "/sys/users/" + alice + "/token/refresh/", "", "", []string{"Authorization", basic("admin@example.com", pw)}, 200, 200, f.alice.ID, f.admin.ID, 30, false},
		{"editor shares business", "POST", path(alice), "", "", []string{"Authorization", basic("editor@example.com", pw)}, 200, 200, f.alice.ID, f.editor.ID, 30, false},
		{"no credentials", "POST", path(alice), "", "", nil, 401, 401, 0, 0, 0, true},
		{"wrong password", "POST", path(alice), "", "", []string{"Authorization", basic("admin@example.com", "wrong one!")}, 200, 500, 0, 0, 0, false},
		{"garbage basic", "POST", path(alice), "", "", []string{"Authorization", "Basic !!!"}, 200, 500, 0, 0, 0, false},
		{"garbage bearer", "POST", path(alice), "", "", []string{"Authorization", "Bearer abc.def.ghi"}, 200, 500, 0, 0, 0, false},
		{"wrong body password", "POST", path(alice), ctJSON, `{"email":"admin@example.com","password":"nope"}`, nil, 200, 500, 0, 0, 0, false},
		{"not an API user", "POST", path(bob), "", "", []string{"Authorization", "Bearer " + aliceTok}, 403, 403, 0, 0, 0, false},
		{"not an API user self", "POST", path(alice), "", "", []string{"Authorization", basic("alice@example.com", pw)}, 403, 403, 0, 0, 0, false},
		{"editor outside business", "POST", path(bob), "", "", []string{"Authorization", basic("editor@example.com", pw)}, 404, 404, 0, 0, 0, false},
		{"id not a number", "POST", path("abc"), "", "", []string{"Authorization", basic("admin@example.com", pw)}, 404, 404, 0, 0, 0, false},
		{"id zero", "POST", path("0"), "", "", []string{"Authorization", basic("admin@example.com", pw)}, 404, 404, 0, 0, 0, false},
		{"id negative", "POST", path("-3"), "", "", []string{"Authorization", basic("admin@example.com", pw)}, 404, 404, 0, 0, 0, false},
		{"id unknown", "POST", path("987654"), "", "", []string{"Authorization", basic("admin@example.com", pw)}, 404, 404, 0, 0, 0, false},
		{"id huge", "POST", path("99999999999999999999999"), "", "", []string{"Authorization", basic("admin@example.com", pw)}, 404, 404, 0, 0, 0, false},
		{"bad validity", "POST", path(alice), ctJSON, `{"validityInMinutes":-1}`, []string{"Authorization", basic("admin@example.com", pw)}, 400, 400, 0, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := do(t, c, tc.method, tc.url, tc.ct, tc.body, tc.hdr...)
			if status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", status, tc.status, body)
			}
			e := parseEnv(t, body)
			if e.Status != tc.envStatus || e.WasSuccessful != (tc.envStatus == 200) {
				t.Fatalf("envelope %+v", e)
			}
			if tc.wwwAuth != (hdr.Get("WWW-Authenticate") == `Basic realm="spaceauth"`) {
				t.Errorf("WWW-Authenticate = %q", hdr.Get("WWW-Authenticate"))
			}
			if tc.envStatus == 500 && e.Message != "The email address or password you entered is not valid." {
				t.Errorf("message %q", e.Message)
			}
			if tc.sub == 0 {
				return
			}
			m := claims(t, e.Value.(string))
			act, _ := m["act"].(map[string]any)
			if m["sub"] != itoa(tc.sub) || act == nil || act["sub"] != itoa(tc.actor) {
				t.Errorf("claims %v", m)
			}
			if got := (num(m, "exp") - num(m, "iat")) / 60; got != tc.validity {
				t.Errorf("validity %d, want %d", got, tc.validity)
			}
		})
	}
	events, err := h.store.ListAudit(context.Background(), store.AuditFilter{Type: "token.impersonated"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 9 || events[0].ActorID != f.admin.ID || events[0].UserID != f.alice.ID {
		t.Errorf("impersonation audit: %d events, first %+v", len(events), events[0])
	}
	if !strings.Contains(events[0].Detail, "jti") {
		t.Errorf("audit detail %q", events[0].Detail)
	}
}

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
