package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/password"
	"github.com/spaceauth/spaceauth/internal/store"
)

// TestDatabaseFilesPrivate (issues #18.6 and #10.9, SPEC §6): the SQLite
// database and its -wal and -shm files are created 0600 whatever the umask
// allows, since they hold password hashes and keys.
func TestDatabaseFilesPrivate(t *testing.T) {
	h, _, c := seeded(t)
	do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"`+pw+`"}`)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(h.dbPath + suffix)
		if err != nil {
			t.Fatalf("%s: %v", suffix, err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("database%s is %o, want 600", suffix, mode)
		}
	}
}

// TestHSTS (issue #10.9, SPEC §6): an https public URL adds
// Strict-Transport-Security to every answer; an http one does not (a
// browser would ignore it, and a local demo must not be pinned).
func TestHSTS(t *testing.T) {
	for _, secure := range []bool{true, false} {
		t.Run(fmt.Sprint("https=", secure), func(t *testing.T) {
			h := startHarness(t, harnessOptions{secure: secure})
			h.seed()
			c := h.client()
			for _, u := range []string{h.base() + "/healthz", h.tenant("demo") + "/en/user/login", h.base() + "/api/sys/users/token"} {
				_, hdr, _ := do(t, c, "GET", u, "", "")
				got := hdr.Get("Strict-Transport-Security")
				if secure && got != "max-age=31536000" || !secure && got != "" {
					t.Errorf("%s: Strict-Transport-Security %q", u, got)
				}
			}
		})
	}
}

// TestIPv6ClientsKeyedPer64 (issue #10.9, SPEC §6): an attacker holding an
// IPv6 /64 cannot dodge the per-address limit by using a new address for
// every request; IPv4 addresses and other /64s keep their own counters.
func TestIPv6ClientsKeyedPer64(t *testing.T) {
	h := startHarness(t, harnessOptions{proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	h.seed()
	c := h.client()
	reset := func(email, addr string) int {
		status, _, _ := do(t, c, "POST", h.base()+"/api/sys/users/resetPassword", ctJSON, `{"email":"`+email+`"}`, "X-Forwarded-For", addr)
		return status
	}
	// 50 reset requests per address and hour; each from a new address of
	// one /64, each for a new email (so the per-email limit stays out).
	// Unknown emails on the system host are a 404 (SPEC §3.4), counted too.
	for i := 1; i <= 50; i++ {
		if status := reset(fmt.Sprintf("nobody%d@example.com", i), fmt.Sprintf("2001:db8:1:2::%x", i)); status != 404 {
			t.Fatalf("request %d: HTTP %d", i, status)
		}
	}
	if status := reset("nobody51@example.com", "2001:db8:1:2:ffff:ffff:ffff:ffff"); status != 429 {
		t.Fatalf("51st request from the same /64: HTTP %d, want 429", status)
	}
	if status := reset("nobody52@example.com", "2001:db8:1:3::1"); status != 404 {
		t.Errorf("another /64: HTTP %d, want 404 (unknown email, not limited)", status)
	}
	if status := reset("nobody53@example.com", "198.51.100.7"); status != 404 {
		t.Errorf("an IPv4 client: HTTP %d, want 404 (unknown email, not limited)", status)
	}
	// The audit records the key the throttles used.
	for _, addr := range []string{"2001:db8:1:2::abcd", "198.51.100.7"} {
		do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"nobody@example.com","password":"x"}`, "X-Forwarded-For", addr)
	}
	events, err := h.store.ListAudit(context.Background(), store.AuditFilter{Type: "signin.failure"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range events {
		seen[e.ClientIP] = true
	}
	if !seen["2001:db8:1:2::/64"] || !seen["198.51.100.7"] {
		t.Errorf("audit addresses %v: want the /64 and the IPv4 address", seen)
	}
}

// TestHostileNamesInMail (issues #10.9 and #18.6): names stored before
// creation refused control characters (an older version, a direct
// database edit) neither break nor forge mail. A business name with a
// newline made every mail of that business fail forever (the From display
// name), and a user name with one wrote a fake "visit http://evil.test"
// line into the text part.
func TestHostileNamesInMail(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b := store.Business{Slug: "evil", Name: "Evil\r\nvisit http://evil.test\r\nSpace", Language: "en"}
	if err := h.store.CreateBusiness(ctx, &b); err != nil {
		t.Fatal(err)
	}
	hash, err := password.NewHasher(cheapParams).Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{Email: "mallory@example.com", FullName: "Mallory\nvisit http://evil.test\x1b[2J", PasswordHash: hash,
		Active: true, BusinessIDs: []int64{b.ID}}
	if err := h.store.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	if status, _, body := do(t, c, "GET", h.tenant("evil")+"/en/user/resetPassword?email=mallory@example.com", "", ""); status != 200 {
		t.Fatalf("reset request: %d %s", status, body)
	}
	msgs := h.smtp.WaitFor(1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered, want 1 (the business's mail must not fail)", len(msgs))
	}
	m := msgs[0]
	for _, line := range strings.Split(m.Text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "visit http://evil.test") {
			t.Errorf("forged line in the text part: %q", m.Text)
		}
	}
	if strings.Contains(m.Text, "\x1b") || strings.Contains(m.HTML, "\x1b") {
		t.Errorf("escape sequence reached the mail")
	}
	if !strings.Contains(m.From, "Evil visit http://evil.test Space") {
		t.Errorf("From %q: want the name on one line", m.From)
	}
}

// TestEmailNormalizedSignIn (issue #18.6, SPEC §7): an account created as
// NFC "josé@" signs in when the client sends the NFD spelling in another
// case, and no second account can be made for that spelling.
func TestEmailNormalizedSignIn(t *testing.T) {
	h := newHarness(t)
	h.seed()
	ctx := context.Background()
	u, err := h.svc.CreateUser(ctx, auth.NewUser{Email: "jos\u00e9@example.com", Name: "José", Password: pw, BusinessSlugs: []string{"demo"}})
	if err != nil {
		t.Fatal(err)
	}
	c := h.client()
	for _, spelling := range []string{"jose\u0301@example.com", "JOSE\u0301@EXAMPLE.COM", "JOS\u00c9@example.com"} {
		status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/token", ctJSON, `{"email":"`+spelling+`","password":"`+pw+`"}`)
		e := parseEnv(t, body)
		if status != 200 || e.Status != 200 {
			t.Fatalf("%q: %d %s", spelling, status, body)
		}
		if sub, _ := claims(t, e.Value.(string))["sub"].(string); sub != itoa(u.ID) {
			t.Errorf("%q signed in as %s, want %d", spelling, sub, u.ID)
		}
	}
	if _, err := h.svc.CreateUser(ctx, auth.NewUser{Email: "JOSE\u0301@example.com", Name: "Twin", Password: pw}); !errors.Is(err, auth.ErrEmailTaken) {
		t.Errorf("second account for the NFD spelling: %v, want ErrEmailTaken", err)
	}
}

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
