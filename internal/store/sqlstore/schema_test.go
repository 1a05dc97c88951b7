package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
)

// schema is a backend-neutral description of a migrated database: one
// sorted line per column and per constraint, so that two schemas compare
// as sets of lines and a difference names what differs.
type schema map[string][]string // table -> lines

// typeClass maps each backend's spelling of a column type to the kind of
// value it holds, so that INTEGER and BIGINT compare equal but TEXT and
// BIGINT do not.
func typeClass(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	switch {
	case strings.Contains(t, "int"):
		return "integer"
	case strings.Contains(t, "char"), strings.Contains(t, "text"):
		return "text"
	case strings.Contains(t, "blob"), strings.Contains(t, "bytea"):
		return "bytes"
	case strings.Contains(t, "bool"):
		// SQLite has no boolean type: its boolean columns are INTEGER
		// holding 0 or 1 (the dialect's falseLit).
		return "integer"
	case strings.Contains(t, "real"), strings.Contains(t, "double"), strings.Contains(t, "float"), strings.Contains(t, "numeric"):
		return "real"
	}
	return t
}

func queryStrings(ctx context.Context, t *testing.T, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func sqliteSchema(ctx context.Context, t *testing.T, db *sql.DB) schema {
	s := schema{}
	for _, tr := range queryStrings(ctx, t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`) {
		table := tr[0]
		var pk []string
		for _, c := range queryStrings(ctx, t, db, `SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY pk`, table) {
			// A primary key column is never null, whatever SQLite's pragma says.
			null := "null"
			if c[2] == "1" || c[3] != "0" {
				null = "not null"
			}
			s[table] = append(s[table], fmt.Sprintf("column %s %s %s", c[0], typeClass(c[1]), null))
			if c[3] != "0" {
				pk = append(pk, c[0])
			}
		}
		if len(pk) > 0 {
			s[table] = append(s[table], "primary key ("+strings.Join(pk, ", ")+")")
		}
		for _, ix := range queryStrings(ctx, t, db, `SELECT name FROM pragma_index_list(?) WHERE "unique" = 1 AND origin != 'pk'`, table) {
			var cols []string
			for _, c := range queryStrings(ctx, t, db, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, ix[0]) {
				cols = append(cols, c[0])
			}
			s[table] = append(s[table], "unique ("+strings.Join(cols, ", ")+")")
		}
		fks := map[string][]string{}
		for _, fk := range queryStrings(ctx, t, db, `SELECT id, "from", "table", "to", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table) {
			fks[fk[0]] = append(fks[fk[0]], fmt.Sprintf("%s -> %s.%s on delete %s", fk[1], fk[2], fk[3], strings.ToLower(fk[4])))
		}
		for _, fk := range fks {
			s[table] = append(s[table], "foreign key "+strings.Join(fk, ", "))
		}
	}
	return s
}

func postgresSchema(ctx context.Context, t *testing.T, db *sql.DB) schema {
	s := schema{}
	for _, c := range queryStrings(ctx, t, db, `SELECT table_name, column_name, data_type, is_nullable
		FROM information_schema.columns WHERE table_schema = 'public'`) {
		null := "null"
		if c[3] == "NO" {
			null = "not null"
		}
		s[c[0]] = append(s[c[0]], fmt.Sprintf("column %s %s %s", c[1], typeClass(c[2]), null))
	}
	// Primary keys and unique constraints or indexes (columns in index order).
	for _, ix := range queryStrings(ctx, t, db, `SELECT c.relname, i.indisprimary,
			string_agg(a.attname, ', ' ORDER BY k.ord)
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
		CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
		WHERE i.indisunique
		GROUP BY c.relname, i.indexrelid, i.indisprimary`) {
		kind := "unique"
		if ix[1] == "true" {
			kind = "primary key"
		}
		s[ix[0]] = append(s[ix[0]], kind+" ("+ix[2]+")")
	}
	for _, fk := range queryStrings(ctx, t, db, `SELECT c.relname,
			string_agg(format('%s -> %s.%s on delete %s', a.attname, fr.relname, fa.attname,
				CASE con.confdeltype WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default'
					WHEN 'r' THEN 'restrict' ELSE 'no action' END), ', ' ORDER BY k.ord)
		FROM pg_constraint con
		JOIN pg_class c ON c.oid = con.conrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
		JOIN pg_class fr ON fr.oid = con.confrelid
		CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, ord)
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
		JOIN pg_attribute fa ON fa.attrelid = fr.oid AND fa.attnum = k.fattnum
		WHERE con.contype = 'f'
		GROUP BY c.relname, con.oid`) {
		s[fk[0]] = append(s[fk[0]], "foreign key "+fk[1])
	}
	return s
}

// backendOnly lists the tables that exist on one backend by design, and why.
var backendOnly = map[string]string{
	"goose_db_version": "the migration tool's own bookkeeping, in each backend's own types",
	"state_epoch":      "SQLite's cache-invalidation counter; PostgreSQL notifies instead (migration 00007)",
}

func (s schema) lines() []string {
	var out []string
	for table, ls := range s {
		if backendOnly[table] != "" {
			continue
		}
		for _, l := range ls {
			out = append(out, table+": "+l)
		}
	}
	slices.Sort(out)
	return out
}

// TestSchemasAgree: after every migration, SQLite and PostgreSQL hold the
// same tables, columns (name, kind of type, nullability), primary keys,
// unique constraints and foreign keys, so that a migration written for one
// backend only fails here. Needs SPACEAUTH_TEST_POSTGRES (fails under CI
// without it).
func TestSchemasAgree(t *testing.T) {
	ctx := context.Background()
	pgDSN := storetest.PostgresDSN(t)
	open := func(driver, dsn string) *sql.DB {
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	path := filepath.Join(t.TempDir(), "schema.db")
	for _, dsn := range []string{path, pgDSN} {
		st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	lite := sqliteSchema(ctx, t, open("sqlite", "file:"+path)).lines()
	pg := postgresSchema(ctx, t, open("pgx", pgDSN)).lines()
	if len(lite) == 0 {
		t.Fatal("no SQLite schema read")
	}
	var diff []string
	for _, l := range lite {
		if !slices.Contains(pg, l) {
			diff = append(diff, "only SQLite:     "+l)
		}
	}
	for _, l := range pg {
		if !slices.Contains(lite, l) {
			diff = append(diff, "only PostgreSQL: "+l)
		}
	}
	if len(diff) > 0 {
		t.Errorf("the schemas differ (%d SQLite lines, %d PostgreSQL lines):\n%s", len(lite), len(pg), strings.Join(diff, "\n"))
	}
}
