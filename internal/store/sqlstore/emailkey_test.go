package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

const (
	joseNFC = "jos\u00e9@example.com"
	joseNFD = "jose\u0301@example.com"
)

// TestEmailKeyNormalized (issue #18.6, SPEC §7): NFC and NFD spellings of
// one address, in any case, are one account.
func TestEmailKeyNormalized(t *testing.T) {
	ctx := context.Background()
	s := storetest.SQLite(t)
	u := store.User{Email: joseNFC, FullName: "José", PasswordHash: "x", Active: true}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	for _, spelling := range []string{joseNFC, joseNFD, strings.ToUpper(joseNFD), " JOS\u00c9@Example.COM "} {
		got, err := s.UserByEmail(ctx, spelling)
		if err != nil || got.ID != u.ID {
			t.Errorf("UserByEmail(%q) = %d, %v; want user %d", spelling, got.ID, err, u.ID)
		}
	}
	dup := store.User{Email: strings.ToUpper(joseNFD), FullName: "Other", PasswordHash: "x", Active: true}
	if err := s.CreateUser(ctx, &dup); err == nil {
		t.Errorf("a second account for the NFD spelling was created (id %d)", dup.ID)
	}
}

// TestEmailKeyMigration: migration 11 rewrites keys stored by the old rule
// (lower case only) on SQLite and PostgreSQL. Two accounts that only the
// new rule makes equal both survive: the older gets the address.
func TestEmailKeyMigration(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "db.sqlite")
		testEmailKeyMigration(t, path, "sqlite", path, "?")
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		testEmailKeyMigration(t, dsn, "pgx", dsn, "$")
	})
}

func testEmailKeyMigration(t *testing.T, dsn, driver, rawDSN, ph string) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(email string) store.User {
		u := store.User{Email: email, FullName: "x", PasswordHash: "x", Active: true}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	older := mk(joseNFC)
	newer := mk("placeholder@example.com")
	strasse := mk("Stra\u00dfe@Example.de")
	s.Close()

	// Put the database back as the old rule left it: keys in lower case
	// only, an NFD twin of José, migration 11 not applied.
	raw, err := sql.Open(driver, rawDSN)
	if err != nil {
		t.Fatal(err)
	}
	p := func(n string) string {
		if ph == "?" {
			return "?"
		}
		return "$" + n
	}
	for _, r := range []struct {
		id    int64
		email string
	}{{older.ID, joseNFC}, {newer.ID, joseNFD}, {strasse.ID, "Stra\u00dfe@Example.de"}} {
		if _, err := raw.ExecContext(ctx, "UPDATE users SET email = "+p("1")+", email_key = "+p("2")+" WHERE id = "+p("3"),
			r.email, strings.ToLower(r.email), r.id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.ExecContext(ctx, "DELETE FROM goose_db_version WHERE version_id = 11"); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	s, err = sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatalf("migration 11: %v", err)
	}
	defer s.Close()
	for _, c := range []struct {
		email string
		want  int64
	}{
		{joseNFD, older.ID}, {joseNFC, older.ID}, {"JOS\u00c9@EXAMPLE.COM", older.ID},
		{"strasse@example.de", strasse.ID}, {"STRASSE@example.de", strasse.ID}, {"stra\u00dfe@example.de", strasse.ID},
	} {
		got, err := s.UserByEmail(ctx, c.email)
		if err != nil || got.ID != c.want {
			t.Errorf("after migration, UserByEmail(%q) = %d, %v; want %d", c.email, got.ID, err, c.want)
		}
	}
	if got, err := s.UserByID(ctx, newer.ID); err != nil || got.Email != joseNFD {
		t.Errorf("the newer twin was lost: %+v %v", got, err)
	}
}
