package sqlstore

import (
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
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
	cache    sync.Map // query -> rebound query
}

func sqliteDialect() *dialect {
	return &dialect{
		name:         "sqlite",
		gooseDialect: goose.DialectSQLite3,
		migrations:   "migrations/sqlite",
		listAgg:      func(col string) string { return "group_concat(" + col + ", ',')" },
		falseLit:     "0",
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
		isUnique: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && pe.Code == "23505"
		},
	}
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
