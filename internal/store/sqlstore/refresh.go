package sqlstore

import (
	"context"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func (q *queries) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	_, err := q.exec(ctx, `INSERT INTO refresh_tokens (hash, family, user_id, client_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, t.Family, t.UserID, t.ClientID, ns(t.CreatedAt), ns(t.ExpiresAt))
	return q.wrap("create refresh token", err)
}

func (q *queries) RefreshTokenByHash(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	var t store.RefreshToken
	var created, expires, rotated, revoked int64
	err := q.queryRow(ctx, `SELECT hash, family, user_id, client_id, created_at, expires_at, rotated_at, revoked_at
		FROM refresh_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.Family, &t.UserID, &t.ClientID, &created, &expires, &rotated, &revoked)
	t.CreatedAt, t.ExpiresAt, t.RotatedAt, t.RevokedAt = tm(created), tm(expires), tm(rotated), tm(revoked)
	return t, q.wrap("refresh token by hash", err)
}

func (q *queries) RotateRefreshToken(ctx context.Context, hash []byte, at time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE refresh_tokens SET rotated_at = ? WHERE hash = ? AND rotated_at = 0 AND revoked_at = 0`, ns(at), hash)
	if err != nil {
		return false, q.wrap("rotate refresh token", err)
	}
	n, err := res.RowsAffected()
	return n == 1, q.wrap("rotate refresh token", err)
}

func (q *queries) RevokeRefreshFamily(ctx context.Context, family string, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at = 0`, ns(at), family)
	return q.wrap("revoke refresh family", err)
}

func (q *queries) RevokeRefreshTokens(ctx context.Context, userID int64, clientID string, at time.Time) error {
	if clientID == "" {
		_, err := q.exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0`, ns(at), userID)
		return q.wrap("revoke refresh tokens", err)
	}
	_, err := q.exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at = 0`,
		ns(at), userID, clientID)
	return q.wrap("revoke refresh tokens", err)
}
