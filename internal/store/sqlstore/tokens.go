package sqlstore

import (
	"context"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func (q *queries) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	_, err := q.exec(ctx, `INSERT INTO signing_keys (kid, algorithm, public_key, private_key, sealed, created_at, retired_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, k.ID, k.Algorithm, k.PublicKey, k.PrivateKey, k.Sealed, ns(k.CreatedAt), ns(k.RetiredAt))
	return q.wrap("create signing key", err)
}

func (q *queries) RetireSigningKeys(ctx context.Context, keep string, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at = 0 AND kid <> ?`, ns(at), keep)
	return q.wrap("retire signing keys", err)
}

func (q *queries) SigningKeys(ctx context.Context, since time.Time) ([]store.SigningKey, error) {
	rows, err := q.query(ctx, `SELECT kid, algorithm, public_key, private_key, sealed, created_at, retired_at
		FROM signing_keys WHERE retired_at = 0 OR retired_at > ? ORDER BY created_at DESC, kid`, ns(since))
	return collect(q, "signing keys", rows, err, scanSigningKey)
}

func scanSigningKey(row interface{ Scan(...any) error }) (store.SigningKey, error) {
	var k store.SigningKey
	var created, retired int64
	err := row.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.PrivateKey, &k.Sealed, &created, &retired)
	k.CreatedAt, k.RetiredAt = tm(created), tm(retired)
	return k, err
}

func (q *queries) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, jti, ns(expiresAt))
	return q.wrap("revoke token", err)
}

func (q *queries) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	var n int
	err := q.queryRow(ctx, `SELECT count(*) FROM revoked_tokens WHERE jti = ?`, jti).Scan(&n)
	return n > 0, q.wrap("token revoked", err)
}

func (q *queries) SpendToken(ctx context.Context, jti string, expiresAt time.Time) (bool, error) {
	// The primary key decides the race: exactly one insert lands.
	return q.execOne(ctx, "spend token", `INSERT INTO spent_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, jti, ns(expiresAt))
}

const sessionCols = `id, hash, user_id, business_id, created_at, last_seen_at, expires_at, revoked_at, user_agent, client_ip, token_version, actor_id`

func scanSession(row interface{ Scan(...any) error }) (store.Session, error) {
	var s store.Session
	var created, seen, expires, revoked int64
	err := row.Scan(&s.ID, &s.Hash, &s.UserID, &s.BusinessID, &created, &seen, &expires, &revoked, &s.UserAgent, &s.ClientIP, &s.TokenVersion, &s.ActorID)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.RevokedAt = tm(created), tm(seen), tm(expires), tm(revoked)
	return s, err
}

func (q *queries) CreateSession(ctx context.Context, s *store.Session) error {
	err := q.writeRow(ctx, `INSERT INTO sessions (hash, user_id, business_id, created_at, last_seen_at, expires_at, user_agent, client_ip, token_version, actor_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.Hash, s.UserID, s.BusinessID, ns(s.CreatedAt), ns(s.LastSeenAt), ns(s.ExpiresAt), s.UserAgent, s.ClientIP, s.TokenVersion, s.ActorID).Scan(&s.ID)
	return q.wrap("create session", err)
}

func (q *queries) SessionByHash(ctx context.Context, hash []byte) (store.Session, error) {
	s, err := scanSession(q.queryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = ? AND revoked_at = 0`, hash))
	return s, q.wrap("session by hash", err)
}

func (q *queries) TouchSession(ctx context.Context, id int64, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, ns(at), id)
	return q.wrap("touch session", err)
}

func (q *queries) RevokeSession(ctx context.Context, id int64, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, ns(at), id)
	return q.wrap("revoke session", err)
}

func (q *queries) RevokeUserSessions(ctx context.Context, userID int64, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0`, ns(at), userID)
	return q.wrap("revoke user sessions", err)
}

func (q *queries) UserSessions(ctx context.Context, userID int64, now time.Time) ([]store.Session, error) {
	rows, err := q.query(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = ? AND revoked_at = 0 AND expires_at > ? ORDER BY last_seen_at DESC, id DESC`, userID, ns(now))
	return collect(q, "user sessions", rows, err, scanSession)
}

func (q *queries) CreateResetToken(ctx context.Context, t store.ResetToken) error {
	_, err := q.exec(ctx, `INSERT INTO reset_tokens (hash, user_id, business_id, language, created_at, expires_at, token_version)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.Hash, t.UserID, t.BusinessID, t.Language, ns(t.CreatedAt), ns(t.ExpiresAt), t.TokenVersion)
	return q.wrap("create reset token", err)
}

func (q *queries) ResetTokenByHash(ctx context.Context, hash []byte) (store.ResetToken, error) {
	var t store.ResetToken
	var created, expires, spent int64
	err := q.queryRow(ctx, `SELECT hash, user_id, business_id, language, created_at, expires_at, spent_at, token_version
		FROM reset_tokens WHERE hash = ?`, hash).Scan(&t.Hash, &t.UserID, &t.BusinessID, &t.Language, &created, &expires, &spent, &t.TokenVersion)
	t.CreatedAt, t.ExpiresAt, t.SpentAt = tm(created), tm(expires), tm(spent)
	return t, q.wrap("reset token by hash", err)
}

func (q *queries) SpendResetTokens(ctx context.Context, userID int64, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE reset_tokens SET spent_at = ? WHERE user_id = ? AND spent_at = 0`, ns(at), userID)
	return q.wrap("spend reset tokens", err)
}

func (q *queries) SpendResetToken(ctx context.Context, hash []byte, at time.Time) (bool, error) {
	return q.execOne(ctx, "spend reset token", `UPDATE reset_tokens SET spent_at = ? WHERE hash = ? AND spent_at = 0`, ns(at), hash)
}
