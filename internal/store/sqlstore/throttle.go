package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func (q *queries) ThrottleHit(ctx context.Context, key string, now time.Time, window time.Duration) (store.ThrottleState, error) {
	// One statement, so concurrent hits from several processes all count.
	// The window restarts when the previous event is older than window.
	var st store.ThrottleState
	var start, last int64
	err := q.writeRow(ctx, `INSERT INTO throttle (key, count, window_start, last_at) VALUES (?, 1, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			count        = CASE WHEN throttle.last_at < ? THEN 1 ELSE throttle.count + 1 END,
			window_start = CASE WHEN throttle.last_at < ? THEN excluded.window_start ELSE throttle.window_start END,
			last_at      = excluded.last_at
		RETURNING count, window_start, last_at`,
		key, ns(now), ns(now), ns(now.Add(-window)), ns(now.Add(-window))).Scan(&st.Count, &start, &last)
	st.WindowStart, st.LastAt = tm(start), tm(last)
	return st, q.wrap("throttle hit", err)
}

func (q *queries) ThrottleGet(ctx context.Context, key string) (store.ThrottleState, error) {
	var st store.ThrottleState
	var start, last int64
	err := q.queryRow(ctx, `SELECT count, window_start, last_at FROM throttle WHERE key = ?`, key).Scan(&st.Count, &start, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ThrottleState{}, nil
	}
	st.WindowStart, st.LastAt = tm(start), tm(last)
	return st, q.wrap("throttle get", err)
}

func (q *queries) ThrottleClear(ctx context.Context, key string) error {
	_, err := q.exec(ctx, `DELETE FROM throttle WHERE key = ?`, key)
	return q.wrap("throttle clear", err)
}

// takeUpsert is ThrottleTake's conflict clause, after the row to insert:
// the condition is checked on the row as it is when the statement writes
// it, so concurrent takes in any process serialize.
const takeUpsert = `
		ON CONFLICT (key) DO UPDATE SET
			count        = CASE WHEN throttle.last_at < ? THEN 1 ELSE throttle.count + 1 END,
			window_start = CASE WHEN throttle.last_at < ? THEN excluded.window_start ELSE throttle.window_start END,
			last_at      = excluded.last_at
		WHERE throttle.last_at < ? OR throttle.count < ? OR (throttle.count = ? AND throttle.last_at = ?)`

// takeArgs are the arguments of one take: the row, then takeUpsert's.
func takeArgs(t store.ThrottleTakeArgs) []any {
	since := ns(t.Now.Add(-t.Window))
	return []any{t.Key, ns(t.Now), ns(t.Now), since, since, since, t.Free, t.Prev.Count, ns(t.Prev.LastAt)}
}

func (q *queries) ThrottleTake(ctx context.Context, key string, prev store.ThrottleState, free int, now time.Time, window time.Duration) (bool, error) {
	// One statement, so concurrent takes in any process serialize.
	res, err := q.exec(ctx, `INSERT INTO throttle (key, count, window_start, last_at) VALUES (?, 1, ?, ?)`+takeUpsert,
		takeArgs(store.ThrottleTakeArgs{Key: key, Prev: prev, Free: free, Now: now, Window: window})...)
	if err != nil {
		return false, q.wrap("throttle take", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, q.wrap("throttle take", err)
	}
	return n == 1, nil
}

func (q *queries) ThrottleRefund(ctx context.Context, key string) error {
	_, err := q.exec(ctx, `UPDATE throttle SET count = count - 1 WHERE key = ? AND count > 0`, key)
	return q.wrap("throttle refund", err)
}

func (q *queries) ThrottleGetMany(ctx context.Context, keys ...string) ([]store.ThrottleState, error) {
	out := make([]store.ThrottleState, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := q.query(ctx, `SELECT key, count, window_start, last_at FROM throttle WHERE key IN (?`+
		strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	type row struct {
		key string
		st  store.ThrottleState
	}
	got, err := collect(q, "throttle get", rows, err, func(r interface{ Scan(...any) error }) (row, error) {
		var v row
		var start, last int64
		err := r.Scan(&v.key, &v.st.Count, &start, &last)
		v.st.WindowStart, v.st.LastAt = tm(start), tm(last)
		return v, err
	})
	if err != nil {
		return nil, err
	}
	for _, g := range got {
		for i, k := range keys {
			if k == g.key {
				out[i] = g.st
			}
		}
	}
	return out, nil
}

func (q *queries) ThrottleTakeMany(ctx context.Context, takes []store.ThrottleTakeArgs) (int, error) {
	if q.d.chainTakes && len(takes) > 1 {
		return q.throttleTakeChain(ctx, takes)
	}
	// In a transaction (the Store runs this in one), one statement a take.
	for i, t := range takes {
		ok, err := q.ThrottleTake(ctx, t.Key, t.Prev, t.Free, t.Now, t.Window)
		if err != nil || !ok {
			return i, err
		}
	}
	return len(takes), nil
}

// throttleTakeChain is ThrottleTakeMany as one statement (PostgreSQL):
// each take is a data-modifying CTE that inserts only when the one before
// returned its row, so the takes that hold are a prefix, as they would be
// one after another, in one round trip and one commit.
func (q *queries) throttleTakeChain(ctx context.Context, takes []store.ThrottleTakeArgs) (int, error) {
	var b strings.Builder
	var args []any
	for i, t := range takes {
		if i == 0 {
			b.WriteString("WITH t0 AS (INSERT INTO throttle (key, count, window_start, last_at) VALUES (?::text, 1, ?::bigint, ?::bigint)")
		} else {
			fmt.Fprintf(&b, ", t%d AS (INSERT INTO throttle (key, count, window_start, last_at) SELECT ?::text, 1, ?::bigint, ?::bigint WHERE EXISTS (SELECT 1 FROM t%d)", i, i-1)
		}
		b.WriteString(takeUpsert + " RETURNING 1)")
		args = append(args, takeArgs(t)...)
	}
	b.WriteString(" SELECT 0")
	for i := range takes {
		fmt.Fprintf(&b, " + (SELECT count(*) FROM t%d)", i)
	}
	var n int
	err := q.writeRow(ctx, b.String(), args...).Scan(&n)
	return n, q.wrap("throttle take", err)
}

func (q *queries) ThrottleRelease(ctx context.Context, clearKey, refundKey string, e *store.AuditEvent) error {
	var args []any
	audit := ""
	if e != nil {
		audit, args = q.auditInsert(*e)
	}
	const clear, refund = `DELETE FROM throttle WHERE key = ?`, `UPDATE throttle SET count = count - 1 WHERE key = ? AND count > 0`
	if q.d.chainTakes {
		// One statement: one round trip, one commit, all or nothing. The
		// refund reads the clear's result, so the clear runs (and locks
		// its row) first: the rows are locked in the order the takes lock
		// them (throttleTakeChain), or the two deadlock.
		query, all := "WITH c AS ("+clear+" RETURNING 1)", []any{clearKey}
		if refundKey != "" {
			query += ", r AS (" + refund + " AND (SELECT count(*) FROM c) >= 0)"
			all = append(all, refundKey)
		}
		if audit == "" {
			query += " SELECT 1"
		} else {
			query += " " + audit
		}
		_, err := q.exec(ctx, query, append(all, args...)...)
		return q.wrap("throttle release", err)
	}
	// SQLite: the Store runs this in one transaction.
	if _, err := q.exec(ctx, clear, clearKey); err != nil {
		return q.wrap("throttle release", err)
	}
	if refundKey != "" {
		if _, err := q.exec(ctx, refund, refundKey); err != nil {
			return q.wrap("throttle release", err)
		}
	}
	if audit != "" {
		if _, err := q.exec(ctx, audit, args...); err != nil {
			return q.wrap("throttle release", err)
		}
	}
	return nil
}
