package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxStmts bounds a cache; every query of this package is a constant, so
// the bound is only a guard against a future query built from input.
const maxStmts = 512

// stmtCache keeps one prepared statement per query text. The profile of the
// bearer check showed a third of its CPU in SQLite's parser: modernc's driver
// prepares every statement anew unless it is prepared once and reused.
// (PostgreSQL needs no cache: pgx keeps its own per connection.)
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

// get returns query's statement, preparing it on first use; nil (run the
// query unprepared) when c is nil, full, or preparing fails — the error
// then comes back from running it.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	st, ok := c.m[query]
	full := len(c.m) >= maxStmts
	c.mu.RUnlock()
	if ok || full {
		return st
	}
	// Prepare without the lock: on the writer pool, preparing waits for the
	// one connection, which a transaction may hold while it looks up
	// statements here.
	st, err := c.db.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if have, ok := c.m[query]; ok {
		st.Close()
		return have
	}
	if len(c.m) >= maxStmts {
		st.Close()
		return nil
	}
	c.m[query] = st
	return st
}

// lookup returns query's statement if it is prepared already.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// prepare prepares queries that are not cached yet.
func (c *stmtCache) prepare(ctx context.Context, queries []string) {
	for _, q := range queries {
		c.get(ctx, q)
	}
}

func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// stmtQuerier runs a prepared statement through the querier interface; the
// query text is already bound into it.
type stmtQuerier struct{ st *sql.Stmt }

func (s stmtQuerier) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return s.st.ExecContext(ctx, args...)
}

func (s stmtQuerier) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return s.st.QueryContext(ctx, args...)
}

func (s stmtQuerier) QueryRowContext(ctx context.Context, _ string, args ...any) *sql.Row {
	return s.st.QueryRowContext(ctx, args...)
}
