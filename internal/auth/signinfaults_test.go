package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
)

// breakWrites makes every statement op (INSERT, UPDATE or DELETE) on
// table fail inside the real database, as a full disk or a broken table
// would: a trigger that raises, on SQLite and PostgreSQL alike.
func breakWrites(t *testing.T, st *sqlstore.Store, table, op string) {
	t.Helper()
	pools := st.Pools()
	name := "fail_" + strings.ToLower(op) + "_" + table
	if db := pools["writer"]; db != nil {
		if _, err := db.Exec(`CREATE TRIGGER ` + name + ` BEFORE ` + op + ` ON ` + table +
			` BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
			t.Fatal(err)
		}
		return
	}
	db := pools["db"]
	for _, q := range []string{
		`CREATE OR REPLACE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$`,
		`CREATE TRIGGER ` + name + ` BEFORE ` + op + ` ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION test_fail()`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// renameTable makes table unreadable, as an operator's mistake would.
func renameTable(t *testing.T, st *sqlstore.Store, table string) {
	t.Helper()
	db := st.Pools()["writer"]
	if db == nil {
		db = st.Pools()["db"]
	}
	if _, err := db.Exec(`ALTER TABLE ` + table + ` RENAME TO ` + table + `_gone`); err != nil {
		t.Fatal(err)
	}
}

// TestPasswordSignInFaults (SPEC §6 "Fail closed"): a password sign-in and
// a password grant whose storage fails at any step (the throttle read, the
// takes, the user and password-rules read, the release, the audit event
// that shares the release's commit) answer "unavailable", never a
// credentials answer, hand out nothing, and leave no success on record.
// When the success's commit fails, none of it is stored: the account's
// slot stays counted (the safe side).
func TestPasswordSignInFaults(t *testing.T) {
	const pw = "correct horse battery"
	const email = "ana@example.test"
	acctKey := "signin:acct:" + store.EmailKey(email)
	c := auth.Client{IP: "192.0.2.7"}
	for _, be := range refreshBackends {
		t.Run(be.name, func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				brk   func(t *testing.T, st *sqlstore.Store)
				wrong bool // a wrong password fails closed too
				// held: the account's slot stays counted after the
				// refusal (the takes went through, the release did not).
				held bool
			}{
				{"throttle unreadable", func(t *testing.T, st *sqlstore.Store) { renameTable(t, st, "throttle") }, true, false},
				{"throttle takes fail", func(t *testing.T, st *sqlstore.Store) { breakWrites(t, st, "throttle", "INSERT") }, true, false},
				{"password rules unreadable", func(t *testing.T, st *sqlstore.Store) { renameTable(t, st, "sso_providers") }, true, false},
				{"release fails", func(t *testing.T, st *sqlstore.Store) { breakWrites(t, st, "throttle", "DELETE") }, false, true},
				{"audit fails", func(t *testing.T, st *sqlstore.Store) { breakWrites(t, st, "audit_events", "INSERT") }, false, true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					svc, st := refreshSetup(t, be.dsn(t))
					tc.brk(t, st)
					unavailable := func(what string, err error) {
						t.Helper()
						if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, auth.ErrBadCredentials) {
							t.Fatalf("%s: %v, want unavailable", what, err)
						}
					}
					if tok, err := svc.SignInWithPassword(ctx, auth.PasswordSignIn{Email: email, Password: pw, Client: c}); tok.Value != "" || err == nil {
						t.Fatalf("sign-in with %s: token %q, %v", tc.name, tok.Value, err)
					} else {
						unavailable("sign-in", err)
					}
					if g, err := svc.PasswordGrant(ctx, email, pw, "", "app", c); g.Refresh != "" || err == nil {
						t.Fatalf("grant with %s: refresh %q, %v", tc.name, g.Refresh, err)
					} else {
						unavailable("grant", err)
					}
					if tc.wrong {
						_, err := svc.SignInWithPassword(ctx, auth.PasswordSignIn{Email: email, Password: "wrong guess", Client: c})
						unavailable("wrong password", err)
					}
					if tc.name == "throttle unreadable" {
						return // nothing more can be read there
					}
					if n := count(t, st, `SELECT count(*) FROM refresh_families`); n != 0 {
						t.Errorf("%d refresh families stored", n)
					}
					if n := count(t, st, `SELECT count(*) FROM audit_events WHERE type = 'signin.success'`); n != 0 {
						t.Errorf("%d sign-in successes on record", n)
					}
					held := count(t, st, `SELECT COALESCE(SUM(count), 0) FROM throttle WHERE key = '`+acctKey+`'`)
					if tc.held && held != 2 || !tc.held && held != 0 {
						t.Errorf("the account holds %d slots, want held=%v", held, tc.held)
					}
				})
			}
		})
	}
}
