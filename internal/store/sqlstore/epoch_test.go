package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

// TestStateEpochFollowsOtherConnections: on SQLite the state epoch is read
// from the database only when the wal-index header says something was
// committed. Every commit of another connection (plain SQL here, not the
// store) must be followed: a change to cached state moves the epoch at
// once; anything else, a checkpoint that restarts the WAL, or a rolled back
// transaction leaves it, and a check with nothing committed reads nothing.
func TestStateEpochFollowsOtherConnections(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s := storetest.Open(t, path)
	u := store.User{Email: "epoch@example.com", FullName: "E", PasswordHash: "h", Active: true}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	other.SetMaxOpenConns(1)

	epoch := func() int64 {
		t.Helper()
		n, ok := s.StateEpoch(ctx)
		if !ok {
			t.Fatal("state epoch not trusted")
		}
		return n
	}
	last := epoch()
	for _, c := range []struct {
		name  string
		stmts []string
		moves bool // the epoch must move
		reads int  // reads of the epoch's row the next check makes
	}{
		{"unrelated write", []string{`UPDATE heartbeat SET at = at + 1 WHERE id = 1`}, false, 1},
		{"user renamed", []string{`UPDATE users SET full_name = 'F'`}, true, 1},
		{"WAL restarted by a checkpoint", []string{`PRAGMA wal_checkpoint(TRUNCATE)`}, false, 1},
		{"token revoked after the restart", []string{`INSERT INTO revoked_tokens (jti, expires_at) VALUES ('j1', 1)`}, true, 1},
		{"rolled back", []string{`BEGIN`, `UPDATE users SET full_name = 'G'`, `ROLLBACK`}, false, 0},
		{"user disabled", []string{`UPDATE users SET active = 0`}, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := other.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range c.stmts {
				if _, err := conn.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			conn.Close()
			before := s.StateEpochReads()
			n := epoch()
			if moved := n != last; moved != c.moves {
				t.Errorf("epoch %d after %d: moved %v, want %v", n, last, moved, c.moves)
			}
			if got := s.StateEpochReads() - before; got != int64(c.reads) {
				t.Errorf("the check read the epoch's row %d times, want %d", got, c.reads)
			}
			// Nothing committed since: no read at all.
			before = s.StateEpochReads()
			if again := epoch(); again != n {
				t.Errorf("epoch %d, then %d with nothing committed", n, again)
			}
			if got := s.StateEpochReads() - before; got != 0 {
				t.Errorf("a check with nothing committed read the epoch's row %d times", got)
			}
			last = n
		})
	}
}

// TestStateEpochAfterClose: a check still running when the store closes
// gets "not trusted", not a read of the unmapped wal-index.
func TestStateEpochAfterClose(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.StateEpoch(ctx); !ok {
		t.Fatal("state epoch not trusted on an open store")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n, ok := s.StateEpoch(ctx); ok {
		t.Fatalf("state epoch %d trusted after Close", n)
	}
}

// TestStateEpochOwnWrites: on PostgreSQL a process moves its own epoch as
// soon as it commits a write of cached state, without waiting for the
// NOTIFY to come back, and only then. Throttling, audit events, sessions
// and refresh families, written by every sign-in, leave it: when they
// moved it, every sign-in emptied the process's state cache and the bearer
// checks after it read the database again.
func TestStateEpochOwnWrites(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	u := store.User{Email: "own@example.com", FullName: "O", PasswordHash: "h", Active: true}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	epoch := func() int64 {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if n, ok := s.StateEpoch(ctx); ok {
				return n
			}
			if time.Now().After(deadline) {
				t.Fatal("state epoch never trusted (listener down)")
			}
		}
	}
	// settled waits until the notifications of earlier writes have
	// arrived: the epoch stays put for half a second.
	settled := func() int64 {
		t.Helper()
		n := epoch()
		for stable := time.Now(); time.Since(stable) < 500*time.Millisecond; time.Sleep(20 * time.Millisecond) {
			if m := epoch(); m != n {
				n, stable = m, time.Now()
			}
		}
		return n
	}
	now := time.Now()
	for i, c := range []struct {
		name  string
		write func() error
		moves bool
	}{
		{"throttle takes", func() error {
			_, err := s.ThrottleTakeMany(ctx, []store.ThrottleTakeArgs{{Key: "own:a", Free: 5, Now: now, Window: time.Hour}, {Key: "own:b", Free: 5, Now: now, Window: time.Hour}})
			return err
		}, false},
		{"throttle release with its audit event", func() error {
			return s.ThrottleRelease(ctx, "own:a", "own:b", &store.AuditEvent{Type: "sign_in", UserID: u.ID})
		}, false},
		{"audit event", func() error { return s.AppendAudit(ctx, store.AuditEvent{Type: "sign_in", UserID: u.ID}) }, false},
		{"refresh family in a transaction", func() error {
			return s.InTx(ctx, func(q store.Queries) error {
				if err := q.RevokeRefreshTokens(ctx, u.ID, "app", now); err != nil {
					return err
				}
				return q.CreateRefreshFamily(ctx, store.RefreshFamily{ID: []byte("own"), Hash: []byte("own/0"), UserID: u.ID, ClientID: "app",
					CreatedAt: now, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
			})
		}, false},
		{"user disabled", func() error { return s.SetUserActive(ctx, u.ID, false, now) }, true},
		{"token revoked", func() error { return s.RevokeToken(ctx, "own-jti", now.Add(time.Hour)) }, true},
		{"user enabled in a transaction with an audit event", func() error {
			return s.InTx(ctx, func(q store.Queries) error {
				if err := q.AppendAudit(ctx, store.AuditEvent{Type: "user_enabled", UserID: u.ID}); err != nil {
					return err
				}
				return q.SetUserActive(ctx, u.ID, true, now)
			})
		}, true},
		{"passkey added", func() error {
			return s.CreatePasskey(ctx, &store.Passkey{UserID: u.ID, RPID: "example.com", CredentialID: []byte("own-cred"), Name: "key", Data: []byte("{}"), CreatedAt: now})
		}, false},
		{"passkey removed", func() error {
			keys, err := s.UserPasskeys(ctx, u.ID, "example.com")
			if err != nil || len(keys) != 1 {
				return fmt.Errorf("passkeys %v, %v", keys, err)
			}
			return s.DeletePasskey(ctx, u.ID, keys[0].ID)
		}, true},
		{"transaction rolled back", func() error {
			err := s.InTx(ctx, func(q store.Queries) error {
				if err := q.SetMustReset(ctx, u.ID, true); err != nil {
					return err
				}
				return errRollback
			})
			if err != errRollback {
				return fmt.Errorf("InTx: %v, want the function's error", err)
			}
			return nil
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := settled()
			if err := c.write(); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			// At once: no notification is waited for.
			if moved := epoch() != before; moved != c.moves {
				t.Errorf("epoch moved %v right after the commit, want %v", moved, c.moves)
			}
		})
	}
}

var errRollback = errors.New("roll back")

// TestStateTablesMatchTriggers: the tables whose writes move this
// process's own epoch on PostgreSQL are exactly those with a
// spaceauth_state trigger. A trigger added by a migration without its
// table here would leave this process serving the old state until its own
// notification came back (a removed passkey still signing in, for a few
// milliseconds).
func TestStateTablesMatchTriggers(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT c.relname FROM pg_trigger t
		JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
		WHERE p.proname = 'spaceauth_state_changed' ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var triggered []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		triggered = append(triggered, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	tables := sqlstore.StateTables()
	slices.Sort(tables)
	if !slices.Equal(triggered, tables) {
		t.Fatalf("tables with a spaceauth_state trigger %v, tables whose writes move the epoch %v", triggered, tables)
	}
}
