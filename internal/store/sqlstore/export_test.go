package sqlstore

import (
	"context"
	"fmt"
	"strings"
)

// BatchCommits reports how many group commits s has made.
func BatchCommits(s *Store) int64 { return s.batch.commits.Load() }

// PrunePlans returns the database's plan of each prune statement, by table.
// On PostgreSQL sequential scans are turned off for it, so a plan that
// still scans has no index to use.
func PrunePlans(ctx context.Context, s *Store) (map[string]string, error) {
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	explain := "EXPLAIN QUERY PLAN "
	if s.batch == nil {
		explain = "EXPLAIN "
		if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
			return nil, err
		}
		defer conn.ExecContext(ctx, "RESET enable_seqscan")
	}
	plans := map[string]string{}
	for _, p := range pruneSpecs(s.d) {
		args := []any{}
		for range strings.Count(p.where, "?") + 1 {
			args = append(args, int64(1))
		}
		q := s.d.rebind(p.query(s.d))
		rows, err := conn.QueryContext(ctx, explain+q, args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.table, err)
		}
		cols, _ := rows.Columns()
		var b strings.Builder
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			fmt.Fprintln(&b, vals[len(vals)-1])
		}
		rows.Close()
		plans[p.table] = b.String()
	}
	return plans, nil
}

// UndoMigration rolls back migration version alone, as a database that
// never had it.
func UndoMigration(ctx context.Context, s *Store, version int64) error {
	_, err := s.provider.ApplyVersion(ctx, version, false)
	return err
}

// ReaderPragma reads one pragma on a reader connection of a SQLite store.
func ReaderPragma(ctx context.Context, s *Store, name string) (string, error) {
	var v string
	err := s.reader.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

// StateTables are the tables whose writes move this process's own state
// epoch on PostgreSQL.
func StateTables() []string { return strings.Split(stateTables, "|") }
