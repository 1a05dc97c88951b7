package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/spaceauth/spaceauth/internal/store"
)

// TestSecurityHeaders: pages can't be framed or run scripts, and nothing
// that carries a token or a form is cached.
func TestSecurityHeaders(t *testing.T) {
	h, _, c := seeded(t)
	for _, u := range []string{h.tenant("demo") + "/en/user/login", h.base() + "/healthz", h.tenant("demo") + "/en/user/forgot"} {
		_, hdr, _ := do(t, c, "GET", u, "", "")
		csp := hdr.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "default-src 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", u, csp, want)
			}
		}
		if hdr.Get("Referrer-Policy") != "no-referrer" || hdr.Get("X-Content-Type-Options") != "nosniff" || hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", u, hdr)
		}
	}
}

// TestTrustedProxy: X-Forwarded-For counts only from a configured proxy,
// so an attacker cannot dodge the per-address limit by inventing addresses.
func TestTrustedProxy(t *testing.T) {
	h, _, c := seeded(t)
	do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"nobody@example.com","password":"x"}`, "X-Forwarded-For", "203.0.113.9")
	events, err := h.store.ListAudit(context.Background(), store.AuditFilter{Type: "signin.failure"})
	if err != nil || len(events) != 1 {
		t.Fatalf("%v %v", events, err)
	}
	if events[0].ClientIP != "127.0.0.1" {
		t.Errorf("untrusted X-Forwarded-For believed: client %q", events[0].ClientIP)
	}
}

// TestLegacyHashUpgrade: an imported bcrypt hash verifies and is replaced by
// Argon2id at the next successful sign-in.
func TestLegacyHashUpgrade(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	bc, err := bcrypt.GenerateFromPassword([]byte("imported passphrase"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{Email: "legacy@example.com", FullName: "Legacy", PasswordHash: string(bc), Active: true}
	if err := h.store.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	_, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"legacy@example.com","password":"imported passphrase"}`)
	if e := parseEnv(t, body); e.Status != 200 {
		t.Fatalf("bcrypt user refused: %s", body)
	}
	got, err := h.store.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
		t.Fatalf("hash not upgraded: %s", got.PasswordHash)
	}
	_, _, body = do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"legacy@example.com","password":"imported passphrase"}`)
	if e := parseEnv(t, body); e.Status != 200 {
		t.Fatalf("upgraded hash refused: %s", body)
	}
}
