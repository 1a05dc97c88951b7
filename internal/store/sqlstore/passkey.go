package sqlstore

import (
	"context"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

const passkeyCols = `id, user_id, rp_id, credential_id, name, data, sign_count, created_at, last_used_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanPasskey(r rowScanner) (store.Passkey, error) {
	var p store.Passkey
	var created, used int64
	err := r.Scan(&p.ID, &p.UserID, &p.RPID, &p.CredentialID, &p.Name, &p.Data, &p.SignCount, &created, &used)
	p.CreatedAt, p.LastUsedAt = tm(created), tm(used)
	return p, err
}

func (q *queries) CreatePasskey(ctx context.Context, p *store.Passkey) error {
	err := q.writeRow(ctx, `INSERT INTO passkeys (user_id, rp_id, credential_id, name, data, sign_count, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.UserID, p.RPID, p.CredentialID, p.Name, p.Data, p.SignCount, ns(p.CreatedAt)).Scan(&p.ID)
	return q.wrap("create passkey", err)
}

func (q *queries) PasskeyByCredentialID(ctx context.Context, rpID string, credentialID []byte) (store.Passkey, error) {
	p, err := scanPasskey(q.queryRow(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE rp_id = ? AND credential_id = ?`, rpID, credentialID))
	return p, q.wrap("passkey by credential id", err)
}

func (q *queries) UserPasskeys(ctx context.Context, userID int64, rpID string) ([]store.Passkey, error) {
	query, args := `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = ?`, []any{userID}
	if rpID != "" {
		query, args = query+` AND rp_id = ?`, append(args, rpID)
	}
	rows, err := q.query(ctx, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, q.wrap("user passkeys", err)
	}
	defer rows.Close()
	var out []store.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, q.wrap("user passkeys", err)
		}
		out = append(out, p)
	}
	return out, q.wrap("user passkeys", rows.Err())
}

func (q *queries) UsePasskey(ctx context.Context, id int64, toCount int64, data []byte, at time.Time) (bool, error) {
	// The counter condition makes the column the judge: two concurrent
	// uses of one counter (a cloned authenticator) race for one row and
	// only one moves it, and a caller that verified against a stale
	// counter cannot move it backwards. The record is named in the SET
	// list only when it changes: the state epoch follows changes to it
	// (migration 00020), not to the counter.
	const cond = ` WHERE id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))`
	if data == nil {
		return q.execOne(ctx, "use passkey", `UPDATE passkeys SET sign_count = ?, last_used_at = ?`+cond,
			toCount, ns(at), id, toCount, toCount)
	}
	return q.execOne(ctx, "use passkey", `UPDATE passkeys SET sign_count = ?, data = ?, last_used_at = ?`+cond,
		toCount, data, ns(at), id, toCount, toCount)
}

func (q *queries) PasskeySignCount(ctx context.Context, id int64) (int64, error) {
	var n int64
	err := q.queryRow(ctx, `SELECT sign_count FROM passkeys WHERE id = ?`, id).Scan(&n)
	return n, q.wrap("passkey sign count", err)
}

func (q *queries) RenamePasskey(ctx context.Context, userID, id int64, name string) error {
	res, err := q.exec(ctx, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if err != nil {
		return q.wrap("rename passkey", err)
	}
	return mustAffect(res, "rename passkey")
}

func (q *queries) DeletePasskey(ctx context.Context, userID, id int64) error {
	res, err := q.exec(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return q.wrap("delete passkey", err)
	}
	return mustAffect(res, "delete passkey")
}

func (q *queries) CreateWebAuthnChallenge(ctx context.Context, c store.WebAuthnChallenge) error {
	_, err := q.exec(ctx, `INSERT INTO webauthn_challenges (hash, kind, user_id, business_id, rp_id, data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.Hash, c.Kind, c.UserID, c.BusinessID, c.RPID, c.Data, ns(c.CreatedAt), ns(c.ExpiresAt))
	return q.wrap("create webauthn challenge", err)
}

func (q *queries) WebAuthnChallengeByHash(ctx context.Context, hash []byte) (store.WebAuthnChallenge, error) {
	c := store.WebAuthnChallenge{Hash: hash}
	var created, expires int64
	err := q.queryRow(ctx, `SELECT kind, user_id, business_id, rp_id, data, created_at, expires_at
		FROM webauthn_challenges WHERE hash = ?`, hash).
		Scan(&c.Kind, &c.UserID, &c.BusinessID, &c.RPID, &c.Data, &created, &expires)
	c.CreatedAt, c.ExpiresAt = tm(created), tm(expires)
	return c, q.wrap("webauthn challenge", err)
}

func (q *queries) TakeWebAuthnChallenge(ctx context.Context, hash []byte) (store.WebAuthnChallenge, error) {
	// DELETE ... RETURNING: the row goes to exactly one taker.
	c := store.WebAuthnChallenge{Hash: hash}
	var created, expires int64
	err := q.writeRow(ctx, `DELETE FROM webauthn_challenges WHERE hash = ?
		RETURNING kind, user_id, business_id, rp_id, data, created_at, expires_at`, hash).
		Scan(&c.Kind, &c.UserID, &c.BusinessID, &c.RPID, &c.Data, &created, &expires)
	c.CreatedAt, c.ExpiresAt = tm(created), tm(expires)
	return c, q.wrap("take webauthn challenge", err)
}

func (q *queries) DeleteExpiredWebAuthnChallenges(ctx context.Context, t time.Time) error {
	_, err := q.exec(ctx, `DELETE FROM webauthn_challenges WHERE expires_at < ?`, ns(t))
	return q.wrap("delete expired webauthn challenges", err)
}
