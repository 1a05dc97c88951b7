package sqlstore_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
	"github.com/spaceauth/spaceauth/internal/testkit"
)

// TestStateListenerDrops is issue #11.8: the PostgreSQL LISTEN connection
// is killed (pg_terminate_backend) seven times. Each loss and each return
// is logged, StateListenerUp follows it, and since every connection was
// good the reconnect delay starts over at its first value every time
// instead of growing to 5 s.
func TestStateListenerDrops(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	logs := &testkit.Buffer{} // written by the store's goroutines
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	admin, err := sql.Open("pgx", os.Getenv(storetest.PostgresEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	dbName := dsn[strings.LastIndex(dsn, "/")+1:]
	if i := strings.IndexByte(dbName, '?'); i >= 0 {
		dbName = dbName[:i]
	}
	waitUp := func(want bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if up, ok := s.StateListenerUp(); ok && up == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("listener never became up=%v; log:\n%s", want, logs.String())
			}
		}
	}
	waitUp(true)
	const drops = 7
	for i := range drops {
		var n int
		err := admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = $1 AND query ILIKE 'LISTEN%'`, dbName).Scan(&n)
		if err != nil || n != 1 {
			t.Fatalf("drop %d: terminated %d listeners, %v", i, n, err)
		}
		// Up again, after the first delay (the machine may be slow: the
		// log, not the clock, says which delay was taken).
		for deadline := time.Now().Add(20 * time.Second); strings.Count(logs.String(), "listening on PostgreSQL again") < i+1; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("drop %d: never listening again; log:\n%s", i, logs.String())
			}
		}
		waitUp(true)
	}
	out := logs.String()
	if got := strings.Count(out, "lost the PostgreSQL LISTEN connection"); got != drops {
		t.Errorf("%d losses logged, want %d:\n%s", got, drops, out)
	}
	if strings.Count(out, "retry_in=100ms") != drops {
		t.Errorf("the reconnect delay did not start over after good connections:\n%s", out)
	}
}
