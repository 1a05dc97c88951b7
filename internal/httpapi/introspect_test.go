package httpapi_test

import (
	"encoding/json"
	"testing"
)

// TestIntrospectAndRevoke covers SPEC §5.7 (RFC 7662, RFC 7009).
func TestIntrospectAndRevoke(t *testing.T) {
	h, _, c := seeded(t)
	admin := basic("admin@example.com", pw)
	access := signIn(t, h, c, "alice@example.com", 30)
	g := passwordGrant(t, h, c, "bob@example.com", "app")
	introspect := func(auth, tok string) (int, map[string]any) {
		var hdr []string
		if auth != "" {
			hdr = []string{"Authorization", auth}
		}
		status, _, body := do(t, c, "POST", h.base()+"/api/oauth/introspect", ctForm, form("token", tok), hdr...)
		var m map[string]any
		json.Unmarshal([]byte(body), &m)
		return status, m
	}
	if status, m := introspect(admin, access); status != 200 || m["active"] != true || m["token_type"] != "access_token" || m["email"] != "alice@example.com" {
		t.Fatalf("access token: %d %v", status, m)
	}
	if status, m := introspect(admin, g.RefreshToken); status != 200 || m["active"] != true || m["client_id"] != "app" {
		t.Fatalf("refresh token: %d %v", status, m)
	}
	if status, m := introspect(admin, "garbage"); status != 200 || m["active"] != false || len(m) != 1 {
		t.Fatalf("garbage: %d %v", status, m)
	}
	// A User-Edit caller sees only users of its businesses (alice: yes, bob: no).
	editor := basic("editor@example.com", pw)
	if _, m := introspect(editor, access); m["active"] != true {
		t.Fatalf("editor on alice: %v", m)
	}
	if _, m := introspect(editor, g.RefreshToken); m["active"] != false {
		t.Fatalf("editor on bob: %v", m)
	}
	if status, _ := introspect("", access); status != 401 {
		t.Fatalf("no credentials: %d", status)
	}
	if status, _ := introspect(basic("alice@example.com", pw), access); status != 403 {
		t.Fatalf("not an API user: %d", status)
	}
	if status, _ := introspect(basic("admin@example.com", "wrong one!"), access); status != 401 {
		t.Fatalf("bad credentials: %d", status)
	}
	// Revocation: the access token stops working everywhere; the refresh
	// token's family dies.
	for _, tok := range []string{access, g.RefreshToken, "not ours"} {
		if status, _, body := do(t, c, "POST", h.base()+"/api/oauth/revoke", ctForm, form("token", tok), "Authorization", admin); status != 200 {
			t.Fatalf("revoke: %d %s", status, body)
		}
	}
	if _, m := introspect(admin, access); m["active"] != false {
		t.Fatalf("revoked access token active: %v", m)
	}
	if status, _, _ := do(t, h.client(), "GET", h.tenant("demo")+"/en/user/login?t="+access, "", ""); status != 401 {
		t.Fatalf("revoked token signed in on the portal: %d", status)
	}
	if status, _ := refresh(t, h, c, g.RefreshToken, "app"); status != 400 {
		t.Fatalf("revoked refresh token rotated: %d", status)
	}
	if status, _, _ := do(t, c, "POST", h.base()+"/api/oauth/revoke", ctForm, "", "Authorization", admin); status != 400 {
		t.Fatalf("revoke without token: %d", status)
	}
}
