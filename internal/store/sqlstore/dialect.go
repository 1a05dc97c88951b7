package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds every difference between the SQL backends, in one place.
type dialect struct {
	name         string
	gooseDialect goose.Dialect
	migrations   string // directory under migrations/
	// skipLocked is appended to the outbox claim's inner SELECT so that
	// concurrent workers skip rows another transaction holds.
	skipLocked string
	// listAgg aggregates a column into a comma-separated string.
	listAgg func(col string) string
	// positional rewrites ? placeholders ($1, $2, ... for PostgreSQL).
	positional bool
	// falseLit is the literal for false in a boolean column.
	falseLit string
	isUnique func(error) bool
	// migrationLocker, when set, makes exactly one of several processes
	// starting at once on one database migrate it.
	migrationLocker func() (lock.SessionLocker, error)
	// integrity checks the database's own consistency ("ok" when sound).
	integrity func(ctx context.Context, db *sql.DB) (string, error)
	// exchangeRefresh, when set, is one statement that rotates a refresh
	// family (keeping its id, or giving it a new one) and records the audit
	// event (one round trip and one commit); without it the exchange runs
	// as statements in a transaction.
	exchangeRefresh [2]string
	// chainTakes: several throttle writes go in one statement of
	// data-modifying CTEs (ThrottleTakeMany, ThrottleRelease), one round
	// trip instead of one a write.
	chainTakes  bool
	cache       sync.Map // query -> rebound query
	stateWrites sync.Map // rebound query -> movesState's answer
}

// stateTables are the tables whose changes the state cache follows: those
// with a spaceauth_state trigger (migrations 00007 and 00020; the test
// TestStateTablesMatchTriggers holds the two lists together).
const stateTables = "users|user_roles|profiles|businesses|revoked_tokens|passkeys"

// stateWrite matches a statement that writes one of stateTables. It
// matches more than the triggers follow (inserts of users and businesses,
// a passkey's new signature count): a superset only moves an epoch more
// often than needed, where a statement it missed would leave this
// process's cache stale until the notification arrived.
var stateWrite = regexp.MustCompile(`(?i)\b(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+(?:` + stateTables + `)\b`)

// movesState reports whether query writes cached state (stateWrite),
// matching each query text once.
func (d *dialect) movesState(query string) bool {
	if v, ok := d.stateWrites.Load(query); ok {
		return v.(bool)
	}
	m := stateWrite.MatchString(query)
	d.stateWrites.Store(query, m)
	return m
}

func sqliteDialect() *dialect {
	return &dialect{
		name:         "sqlite",
		gooseDialect: goose.DialectSQLite3,
		migrations:   "migrations/sqlite",
		listAgg:      func(col string) string { return "group_concat(" + col + ", ',')" },
		falseLit:     "0",
		integrity: func(ctx context.Context, db *sql.DB) (string, error) {
			var res string
			if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
				return "", fmt.Errorf("sqlstore: integrity check: %w", err)
			}
			return res, nil
		},
		isUnique: func(err error) bool {
			var se *sqlite.Error
			if errors.As(err, &se) {
				c := se.Code()
				return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
			}
			return false
		},
	}
}

func postgresDialect() *dialect {
	return &dialect{
		name:         "postgres",
		gooseDialect: goose.DialectPostgres,
		migrations:   "migrations/postgres",
		skipLocked:   " FOR UPDATE SKIP LOCKED",
		listAgg:      func(col string) string { return "string_agg(CAST(" + col + " AS TEXT), ',')" },
		falseLit:     "FALSE",
		positional:   true,
		migrationLocker: func() (lock.SessionLocker, error) {
			return lock.NewPostgresSessionLocker()
		},
		// The server keeps its own consistency: answering is the check.
		integrity: func(ctx context.Context, db *sql.DB) (string, error) {
			if err := db.PingContext(ctx); err != nil {
				return "ok", unavailable("sqlstore: ping", err)
			}
			return "ok", nil
		},
		exchangeRefresh: [2]string{exchangeRefreshPG(rotateFamily), exchangeRefreshPG(rotateFamilyNewID)},
		chainTakes:      true,
		isUnique: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && pe.Code == "23505"
		},
	}
}

// exchangeRefreshPG wraps a rotation of a refresh family in one
// statement with its audit event.
func exchangeRefreshPG(rotate string) string {
	return `WITH r AS (` + rotate + ` RETURNING user_id), a AS (
			INSERT INTO audit_events (at, type, user_id, business_id, actor_id, client_ip, user_agent, detail)
			SELECT ?::bigint, ?::text, user_id, ?::bigint, ?::bigint, ?::text, ?::text, ?::text FROM r
		)
		SELECT count(*) FROM r`
}

// rebind turns ? placeholders into the dialect's form.
func (d *dialect) rebind(q string) string {
	if !d.positional {
		return q
	}
	if v, ok := d.cache.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	d.cache.Store(q, out)
	return out
}
