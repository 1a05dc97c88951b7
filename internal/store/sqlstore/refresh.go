package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func (q *queries) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	_, err := q.exec(ctx, `INSERT INTO refresh_tokens (hash, family, user_id, client_id, created_at, expires_at, token_version, actor_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.Hash, t.Family, t.UserID, t.ClientID, ns(t.CreatedAt), ns(t.ExpiresAt), t.TokenVersion, t.ActorID)
	return q.wrap("create refresh token", err)
}

func (q *queries) RefreshTokenByHash(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	var t store.RefreshToken
	var created, expires, rotated, revoked int64
	err := q.queryRow(ctx, `SELECT hash, family, user_id, client_id, created_at, expires_at, rotated_at, revoked_at, token_version, actor_id
		FROM refresh_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.Family, &t.UserID, &t.ClientID, &created, &expires, &rotated, &revoked, &t.TokenVersion, &t.ActorID)
	t.CreatedAt, t.ExpiresAt, t.RotatedAt, t.RevokedAt = tm(created), tm(expires), tm(rotated), tm(revoked)
	return t, q.wrap("refresh token by hash", err)
}

func (q *queries) RotateRefreshToken(ctx context.Context, hash []byte, at time.Time) (bool, error) {
	return q.execOne(ctx, "rotate refresh token", `UPDATE refresh_tokens SET rotated_at = ? WHERE hash = ? AND rotated_at = 0 AND revoked_at = 0`, ns(at), hash)
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

func (q *queries) ExchangeRefreshToken(ctx context.Context, hash []byte, at time.Time, next store.RefreshToken, e store.AuditEvent) (bool, error) {
	if e.At.IsZero() {
		e.At = q.now().UTC()
	}
	if q.d.exchangeRefresh != "" {
		// One statement: one round trip and one commit, where a transaction
		// of three statements takes five round trips.
		var n int
		err := q.writeRow(ctx, q.d.exchangeRefresh,
			ns(at), hash, next.Hash, ns(next.CreatedAt), ns(next.ExpiresAt),
			ns(e.At), e.Type, e.BusinessID, e.ActorID, e.ClientIP, e.UserAgent, e.Detail).Scan(&n)
		return n == 1, q.wrap("exchange refresh token", err)
	}
	if q.tx == nil {
		return false, errors.New("exchange refresh token: needs a transaction on SQLite")
	}
	var old store.RefreshToken
	if err := q.queryRow(ctx, `SELECT family, user_id, client_id, token_version, actor_id FROM refresh_tokens WHERE hash = ?`, hash).
		Scan(&old.Family, &old.UserID, &old.ClientID, &old.TokenVersion, &old.ActorID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return false, q.wrap("exchange refresh token", err)
	}
	ok, err := q.RotateRefreshToken(ctx, hash, at)
	if err != nil || !ok {
		return false, err
	}
	next.Family, next.UserID, next.ClientID = old.Family, old.UserID, old.ClientID
	next.TokenVersion, next.ActorID = old.TokenVersion, old.ActorID
	if err := q.CreateRefreshToken(ctx, next); err != nil {
		return false, err
	}
	e.UserID = old.UserID
	return true, q.AppendAudit(ctx, e)
}
