package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/store"
)

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
