package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
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
