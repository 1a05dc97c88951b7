package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.SQLite(t) })
}

func TestOpenRefusesGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := sqlstore.Open(context.Background(), path, sqlstore.Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open(garbage) = %v, want an error naming the file", err)
	}
}

func TestReopenKeepsDataAndMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "db.sqlite")
	s, err := sqlstore.Open(ctx, "sqlite:"+path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{Email: "keep@example.com", FullName: "K", PasswordHash: "h", Active: true}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlstore.Open(ctx, path, sqlstore.Options{SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, err := s.Migrated(ctx); err != nil || !ok {
		t.Fatalf("Migrated = %v, %v", ok, err)
	}
	if _, err := s.UserByEmail(ctx, "KEEP@example.com"); err != nil {
		t.Fatal(err)
	}
	if res, err := s.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity = %q, %v", res, err)
	}
}

// TestPostgresConformance runs the same suite on PostgreSQL, one fresh
// database per subtest (skipped, saying why, without SPACEAUTH_TEST_POSTGRES).
func TestPostgresConformance(t *testing.T) {
	storetest.PostgresDSN(t) // skip early when no server is configured
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.Open(t, storetest.PostgresDSN(t)) })
}

// TestSQLiteReaderPragmas: reader connections are read-only, zero what they
// free, and keep a 1 MiB page cache each (memory outside the Go heap).
func TestSQLiteReaderPragmas(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct{ pragma, want string }{
		{"query_only", "1"}, {"secure_delete", "1"}, {"cache_size", "-1024"}, {"journal_mode", "wal"},
	} {
		got, err := sqlstore.ReaderPragma(ctx, s, tc.pragma)
		if err != nil || got != tc.want {
			t.Errorf("reader PRAGMA %s = %q, %v; want %q", tc.pragma, got, err, tc.want)
		}
	}
}
