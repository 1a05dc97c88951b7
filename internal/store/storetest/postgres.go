package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// PostgresEnv names the variable that points tests at a PostgreSQL server
// on which they may create and drop databases.
const PostgresEnv = "SPACEAUTH_TEST_POSTGRES"

// CIEnv names the variable that CI (.ci/run) sets: there a PostgreSQL test
// never skips, so that a missing server cannot pass as a green run.
const CIEnv = "CI"

// PostgresDSN creates a fresh, empty database on the server named by
// SPACEAUTH_TEST_POSTGRES and returns its URL; the database is dropped when
// the test ends. Without the variable the test is skipped, saying so (it
// fails under CI); with it, a server that cannot be reached fails the test.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	return postgresDSN(t, os.Getenv)
}

func postgresDSN(t testing.TB, getenv func(string) string) string {
	t.Helper()
	admin := getenv(PostgresEnv)
	if admin == "" {
		if getenv(CIEnv) != "" {
			t.Fatalf("PostgreSQL test cannot run: %s is set but %s is not", CIEnv, PostgresEnv)
		}
		t.Skipf("PostgreSQL test skipped: set %s to a postgres:// URL of a server where databases may be created (CI sets it)", PostgresEnv)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "spaceauth_test_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		t.Fatalf("%s is set but the server cannot be reached (a configured server that is down fails the run): %v", PostgresEnv, err)
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
		db.Close()
	})
	u.Path = "/" + name
	return u.String()
}
