package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// breakTables renames tables of the harness's SQLite file from a connection
// of its own, as an operator's mistake or a damaged file would: every
// statement of the running server that touches them fails from then on.
func breakTables(t *testing.T, h *harness, tables ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+h.dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tbl := range tables {
		if _, err := db.ExecContext(context.Background(), `ALTER TABLE `+tbl+` RENAME TO `+tbl+`_gone`); err != nil {
			t.Fatalf("rename %s: %v", tbl, err)
		}
	}
}

// unavailable checks SPEC §2's answer to a storage failure: 503 with
// Retry-After, never an authentication verdict, and JSON unless the client
// asked for HTML.
func unavailable(t *testing.T, name string, status int, hdr http.Header, body string, wantHTML bool) {
	t.Helper()
	if status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("%s: got %d (Retry-After %q) %.200s; want 503 with Retry-After", name, status, hdr.Get("Retry-After"), body)
		return
	}
	html := strings.HasPrefix(hdr.Get("Content-Type"), "text/html")
	if html != wantHTML {
		t.Errorf("%s: Content-Type %q, want HTML %v", name, hdr.Get("Content-Type"), wantHTML)
	}
	if strings.Contains(body, `"active":false`) || strings.Contains(body, "not valid") {
		t.Errorf("%s: an authentication answer to a storage failure: %s", name, body)
	}
}

// TestStorageFailureIsNotADenial is issue #11.3 and #11.5: with a table
// unreadable, bearer checks, password checks, introspection, revocation,
// the refresh grant and portal sessions answer 503 + Retry-After, not 401,
// "not valid", active:false or a 200 that did nothing.
func TestStorageFailureIsNotADenial(t *testing.T) {
	h, f, c := seeded(t)
	adminTok := signIn(t, h, c, "admin@example.com", 30)
	aliceTok := signIn(t, h, c, "alice@example.com", 30)
	g := passwordGrant(t, h, c, "alice@example.com", "web")
	// A portal session for alice.
	link := signIn(t, h, c, "alice@example.com", 5)
	if status, _, body := do(t, c, "GET", h.tenant("demo")+"/en/user/login?t="+link, "", ""); status != http.StatusFound {
		t.Fatalf("portal sign-in: %d %s", status, body)
	}
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	// Phase 1: refresh tokens unreadable; the caller still authenticates.
	breakTables(t, h, "refresh_families")
	for _, tc := range []struct {
		name, path string
		body       string
		hdr        []string
	}{
		{"introspect refresh token", "/api/oauth/introspect", form("token", g.RefreshToken), bearer(adminTok)},
		{"revoke refresh token", "/api/oauth/revoke", form("token", g.RefreshToken), bearer(adminTok)},
		{"refresh grant", "/api/token", form("grant_type", "refresh_token", "refresh_token", g.RefreshToken), nil},
	} {
		status, hdr, body := do(t, c, "POST", h.base()+tc.path, ctForm, tc.body, tc.hdr...)
		unavailable(t, tc.name, status, hdr, body, false)
	}

	// Phase 2: users unreadable, and the state epoch too, so that nothing
	// can be served from the cache.
	breakTables(t, h, "users", "state_epoch")
	for _, tc := range []struct {
		name, method, url, ct, body string
		hdr                         []string
		wantHTML                    bool
	}{
		{"me with bearer", "GET", h.tenant("demo") + "/en/user/me", "", "", bearer(aliceTok), false},
		{"impersonate with bearer", "POST", h.base() + "/api/sys/users/" + itoa(f.alice.ID) + "/token/refresh", "", "", bearer(adminTok), false},
		{"impersonate with basic", "GET", h.base() + "/api/sys/users/" + itoa(f.alice.ID) + "/token/refresh", "", "",
			[]string{"Authorization", basic("admin@example.com", pw)}, false},
		{"token with password", "POST", h.base() + "/api/sys/users/token", ctJSON, `{"email":"alice@example.com","password":"` + pw + `"}`, nil, false},
		{"introspect access token", "POST", h.base() + "/api/oauth/introspect", ctForm, form("token", aliceTok), bearer(adminTok), false},
		{"revoke access token", "POST", h.base() + "/api/oauth/revoke", ctForm, form("token", aliceTok), bearer(adminTok), false},
		{"account page asked as HTML", "GET", h.tenant("demo") + "/en/user/account", "", "", []string{"Accept", "text/html"}, true},
		{"account page, no Accept", "GET", h.tenant("demo") + "/en/user/account", "", "", nil, false},
	} {
		status, hdr, body := do(t, c, tc.method, tc.url, tc.ct, tc.body, tc.hdr...)
		unavailable(t, tc.name, status, hdr, body, tc.wantHTML)
	}
}

// TestDeliveredMailKeepsNoSecret is issue #10.6 (SPEC §6 "Secrets at
// rest"): once a reset mail is delivered, reading the database gives no
// usable link, although the link itself (from the mailbox) is still valid.
func TestDeliveredMailKeepsNoSecret(t *testing.T) {
	h, _, c := seeded(t)
	if status, _, body := do(t, c, "POST", h.base()+"/api/sys/users/resetPassword?email=alice@example.com", "", ""); status != 200 {
		t.Fatalf("reset request: %d %s", status, body)
	}
	link, _ := resetLink(t, h, 1)
	token := link[strings.Index(link, "token=")+len("token="):]

	db, err := sql.Open("sqlite", "file:"+h.dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The worker records the delivery just after the relay accepted it.
	var text, html string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var sent int64
		err := db.QueryRow(`SELECT sent_at, body_text, body_html FROM outbox ORDER BY id LIMIT 1`).Scan(&sent, &text, &html)
		if err != nil {
			t.Fatal(err)
		}
		if sent != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery was never recorded")
		}
	}
	if strings.Contains(text+html, token) || linkRE.MatchString(text+html) {
		t.Errorf("the delivered row still holds the reset link: %q %q", text, html)
	}
	// The erased text offers nothing to try on the new-password page; the
	// link from the mailbox still opens it.
	if status, _, _ := do(t, c, "GET", link, "", "", "Accept", "text/html"); status != 200 {
		t.Errorf("the mailed link no longer opens the page: %d", status)
	}
	// secure_delete: after a checkpoint the old body is gone from the file.
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(token)) {
		t.Errorf("the reset token is still in the database file's bytes")
	}
}

// TestReadyzProvesAWrite is issue #11.6: a database that answers reads but
// takes no writes (here another process holds SQLite's write lock) is not
// ready, and says so; once writes go through again it is ready.
func TestReadyzProvesAWrite(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	if status, _, body := do(t, c, "GET", h.base()+"/readyz", "", ""); status != 200 {
		t.Fatalf("readyz on a healthy database: %d %s", status, body)
	}
	db, err := sql.Open("sqlite", "file:"+h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	status, _, body := do(t, c, "GET", h.base()+"/readyz", "", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "not writable") {
		t.Errorf("readyz with writes blocked: %d %s, want 503 database not writable", status, body)
	}
	if status, _, _ := do(t, c, "GET", h.base()+"/healthz", "", ""); status != 200 {
		t.Errorf("healthz: %d", status)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if status, _, body := do(t, c, "GET", h.base()+"/readyz", "", ""); status != 200 {
		t.Errorf("readyz after the lock was released: %d %s", status, body)
	}
}
