package sqlstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/password"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
	"github.com/spaceauth/spaceauth/internal/wire"
)

// TestRefreshLegacyMigration: refresh tokens issued under the old schema (a
// row per token) keep working after migration 18 until they expire or
// rotate, and a legacy token rotated away, before the migration or since,
// still revokes its family when presented. Migration 18's down is run too:
// the old schema is made by it.
func TestRefreshLegacyMigration(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "db.sqlite")
		testRefreshLegacyMigration(t, path, "?")
	})
	t.Run("postgres", func(t *testing.T) {
		testRefreshLegacyMigration(t, storetest.PostgresDSN(t), "$")
	})
}

func legacyToken(t *testing.T) (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	raw := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(raw))
	return raw, h[:]
}

func testRefreshLegacyMigration(t *testing.T, dsn, ph string) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{Email: "legacy@example.com", FullName: "L", PasswordHash: "x", Active: true}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.UndoMigration(ctx, s, 18); err != nil {
		t.Fatalf("migration 18 down: %v", err)
	}
	// The old schema's rows: family a rotated twice (a0, a1 rotated, a2
	// current), family b one live token, c revoked, d expired.
	now := time.Now()
	live, past := now.Add(24*time.Hour).UnixNano(), now.Add(-time.Hour).UnixNano()
	tok := map[string]string{}
	pools := s.Pools()
	db := pools["writer"]
	if db == nil {
		db = pools["db"]
	}
	for _, r := range []struct {
		name, family     string
		expires, rotated int64
		revoked          int64
	}{
		{"a0", "fa", live, 1, 0}, {"a1", "fa", live, 2, 0}, {"a2", "fa", live, 0, 0},
		{"b0", "fb", live, 0, 0}, {"c0", "fc", live, 0, 3}, {"d0", "fd", past, 0, 0},
	} {
		raw, hash := legacyToken(t)
		tok[r.name] = raw
		q := `INSERT INTO refresh_tokens (hash, family, user_id, client_id, created_at, expires_at, rotated_at, revoked_at, token_version, actor_id)
			VALUES (?, ?, ?, 'app', ?, ?, ?, ?, 0, 0)`
		if ph == "$" {
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", "$"+string(rune('0'+i)), 1)
			}
		}
		if _, err := db.ExecContext(ctx, q, hash, r.family, u.ID, now.UnixNano(), r.expires, r.rotated, r.revoked); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migration 18 up: %v", err)
	}
	var families, legacy int
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM refresh_families), (SELECT count(*) FROM refresh_legacy)`).Scan(&families, &legacy); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// a and b become families; their four unrevoked tokens are kept for
	// reuse detection; c (revoked) and d (expired) are dropped.
	if families != 2 || legacy != 4 {
		t.Errorf("after migrating: %d families, %d legacy tokens; want 2 and 4", families, legacy)
	}

	cfg := config.Default()
	cfg.DB = dsn
	a, err := wire.Open(ctx, wire.Config{Config: cfg, HashParams: &password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	svc := a.Auth
	refresh := func(raw string) (string, error) {
		g, err := svc.RefreshGrant(ctx, raw, "app", auth.Client{})
		return g.Refresh, err
	}
	invalid := func(what, raw string) {
		t.Helper()
		if _, err := refresh(raw); !errors.Is(err, auth.ErrInvalidGrant) {
			t.Errorf("%s: %v, want invalid grant", what, err)
		}
	}
	invalid("a revoked legacy token", tok["c0"])
	invalid("an expired legacy token", tok["d0"])
	// b: the live legacy token rotates into the new format, twice; then
	// the legacy token again is a reuse.
	b1, err := refresh(tok["b0"])
	if err != nil {
		t.Fatalf("live legacy token after the migration: %v", err)
	}
	b2, err := refresh(b1)
	if err != nil {
		t.Fatalf("the successor of a legacy token: %v", err)
	}
	invalid("the legacy token rotated after the migration", tok["b0"])
	invalid("family b after its legacy token's reuse", b2)
	// a: the current legacy token works; a token rotated away before the
	// migration still kills the family.
	a3, err := refresh(tok["a2"])
	if err != nil {
		t.Fatalf("live legacy token a2: %v", err)
	}
	invalid("a token rotated away before the migration", tok["a0"])
	invalid("family a after its old token's reuse", a3)
	evs, err := a.Store.ListAudit(ctx, store.AuditFilter{Type: "refresh.reuse"})
	if err != nil || len(evs) != 2 {
		t.Errorf("%d refresh.reuse events (%v), want 2", len(evs), err)
	}
	// The pruner takes the legacy rows once their families' time is over.
	n, err := a.Store.Prune(ctx, "refresh_families", now.Add(48*time.Hour), 100)
	if err != nil || n != 6 {
		t.Errorf("pruned %d (%v), want 2 families and 4 legacy tokens", n, err)
	}
}
