package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
)

// Open opens (and migrates) the store at dsn, a SQLite path or a
// postgres:// URL, for one test; the test's end closes it.
func Open(t testing.TB, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// SQLite is a fresh, migrated SQLite store in the test's directory.
func SQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	return Open(t, filepath.Join(t.TempDir(), "db.sqlite"))
}
