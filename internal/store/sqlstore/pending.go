package sqlstore

import (
	"context"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func (q *queries) CreatePendingSignIn(ctx context.Context, p store.PendingSignIn) error {
	_, err := q.exec(ctx, `INSERT INTO twofactor_pending (hash, browser_hash, user_id, business_id, token_version, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, p.Hash, p.BrowserHash, p.UserID, p.BusinessID, p.TokenVersion, ns(p.CreatedAt), ns(p.ExpiresAt))
	return q.wrap("create pending sign-in", err)
}

func (q *queries) PendingSignInByHash(ctx context.Context, hash []byte) (store.PendingSignIn, error) {
	var p store.PendingSignIn
	var created, expires, spent int64
	err := q.queryRow(ctx, `SELECT hash, browser_hash, user_id, business_id, token_version, created_at, expires_at, tries, spent_at
		FROM twofactor_pending WHERE hash = ?`, hash).
		Scan(&p.Hash, &p.BrowserHash, &p.UserID, &p.BusinessID, &p.TokenVersion, &created, &expires, &p.Tries, &spent)
	p.CreatedAt, p.ExpiresAt, p.SpentAt = tm(created), tm(expires), tm(spent)
	return p, q.wrap("pending sign-in by hash", err)
}

func (q *queries) PendingSignInTry(ctx context.Context, hash []byte) (int, error) {
	var n int
	err := q.writeRow(ctx, `UPDATE twofactor_pending SET tries = tries + 1 WHERE hash = ? RETURNING tries`, hash).Scan(&n)
	return n, q.wrap("pending sign-in try", err)
}

func (q *queries) SpendPendingSignIn(ctx context.Context, hash []byte, at time.Time) (bool, error) {
	return q.execOne(ctx, "spend pending sign-in", `UPDATE twofactor_pending SET spent_at = ? WHERE hash = ? AND spent_at = 0`, ns(at), hash)
}
