package sqlstore

import (
	"context"
	"database/sql"
	"errors"
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

func (q *queries) ThrottleTake(ctx context.Context, key string, prev store.ThrottleState, free int, now time.Time, window time.Duration) (bool, error) {
	// One statement: the condition is checked on the row as it is when the
	// statement writes it, so concurrent takes in any process serialize.
	res, err := q.exec(ctx, `INSERT INTO throttle (key, count, window_start, last_at) VALUES (?, 1, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			count        = CASE WHEN throttle.last_at < ? THEN 1 ELSE throttle.count + 1 END,
			window_start = CASE WHEN throttle.last_at < ? THEN excluded.window_start ELSE throttle.window_start END,
			last_at      = excluded.last_at
		WHERE throttle.last_at < ? OR throttle.count < ? OR (throttle.count = ? AND throttle.last_at = ?)`,
		key, ns(now), ns(now), ns(now.Add(-window)), ns(now.Add(-window)), ns(now.Add(-window)), free, prev.Count, ns(prev.LastAt))
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
