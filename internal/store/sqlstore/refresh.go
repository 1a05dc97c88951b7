package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

const familyCols = `id, generation, hash, user_id, client_id, created_at, issued_at, expires_at, revoked_at, token_version, actor_id, legacy`

// The rotation: a compare-and-swap on the family's current token. The
// second form also gives a legacy family its id; the first leaves id out of
// SET so that SQLite does not rewrite the primary-key index on every
// rotation.
const (
	rotateFamily = `UPDATE refresh_families SET generation = generation + 1, hash = ?, issued_at = ?, expires_at = ?
		WHERE id = ? AND generation = ? AND hash = ? AND revoked_at = 0`
	rotateFamilyNewID = `UPDATE refresh_families SET generation = generation + 1, hash = ?, issued_at = ?, expires_at = ?, id = ?
		WHERE id = ? AND generation = ? AND hash = ? AND revoked_at = 0`
)

func scanFamily(row interface{ Scan(...any) error }) (store.RefreshFamily, error) {
	var f store.RefreshFamily
	var created, issued, expires, revoked int64
	err := row.Scan(&f.ID, &f.Generation, &f.Hash, &f.UserID, &f.ClientID, &created, &issued, &expires, &revoked,
		&f.TokenVersion, &f.ActorID, &f.Legacy)
	f.CreatedAt, f.IssuedAt, f.ExpiresAt, f.RevokedAt = tm(created), tm(issued), tm(expires), tm(revoked)
	return f, err
}

func (q *queries) CreateRefreshFamily(ctx context.Context, f store.RefreshFamily) error {
	_, err := q.exec(ctx, `INSERT INTO refresh_families (`+familyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.Generation, f.Hash, f.UserID, f.ClientID, ns(f.CreatedAt), ns(f.IssuedAt), ns(f.ExpiresAt), ns(f.RevokedAt),
		f.TokenVersion, f.ActorID, f.Legacy)
	return q.wrap("create refresh family", err)
}

func (q *queries) RefreshFamilyByID(ctx context.Context, id []byte) (store.RefreshFamily, error) {
	f, err := scanFamily(q.queryRow(ctx, `SELECT `+familyCols+` FROM refresh_families WHERE id = ?`, id))
	return f, q.wrap("refresh family", err)
}

func (q *queries) LegacyRefreshFamily(ctx context.Context, hash []byte) (store.RefreshFamily, error) {
	f, err := scanFamily(q.queryRow(ctx, `SELECT f.id, f.generation, f.hash, f.user_id, f.client_id, f.created_at, f.issued_at,
			f.expires_at, f.revoked_at, f.token_version, f.actor_id, f.legacy
		FROM refresh_legacy l JOIN refresh_families f ON f.legacy = l.family AND f.legacy <> ''
		WHERE l.hash = ?`, hash))
	return f, q.wrap("legacy refresh family", err)
}

func (q *queries) ExchangeRefreshToken(ctx context.Context, cur store.RefreshFamily, next store.RefreshRotation, e store.AuditEvent) (bool, error) {
	if e.At.IsZero() {
		e.At = q.now().UTC()
	}
	rotate, args := rotateFamily, []any{next.Hash, ns(next.IssuedAt), ns(next.ExpiresAt)}
	newID := len(next.ID) > 0 && !bytes.Equal(next.ID, cur.ID)
	if newID {
		rotate, args = rotateFamilyNewID, append(args, next.ID)
	}
	args = append(args, cur.ID, cur.Generation, cur.Hash)
	if ex := q.d.exchangeRefresh; ex[0] != "" {
		// One statement: one round trip and one commit, where a
		// transaction of two statements takes four round trips.
		stmt := ex[0]
		if newID {
			stmt = ex[1]
		}
		var n int
		err := q.writeRow(ctx, stmt, append(args, ns(e.At), e.Type, e.BusinessID, e.ActorID, e.ClientIP, e.UserAgent, e.Detail)...).Scan(&n)
		return n == 1, q.wrap("exchange refresh token", err)
	}
	if q.tx == nil {
		return false, errors.New("exchange refresh token: needs a transaction on SQLite")
	}
	var userID int64
	err := q.writeRow(ctx, rotate+` RETURNING user_id`, args...).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, q.wrap("exchange refresh token", err)
	}
	e.UserID = userID
	return true, q.AppendAudit(ctx, e)
}

// A revoked family's expiry becomes its revocation: its tokens answer
// invalid_grant with or without the row, and revoking it again does
// nothing, so the pruner may take it at once.
func (q *queries) RevokeRefreshFamily(ctx context.Context, id []byte, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE refresh_families SET revoked_at = ?, expires_at = ? WHERE id = ? AND revoked_at = 0`, ns(at), ns(at), id)
	return q.wrap("revoke refresh family", err)
}

// Both forms name revoked_at = 0 literally: that is what lets SQLite and
// PostgreSQL use the partial index of live families.
func (q *queries) RevokeRefreshTokens(ctx context.Context, userID int64, clientID string, at time.Time) error {
	if clientID == "" {
		_, err := q.exec(ctx, `UPDATE refresh_families SET revoked_at = ?, expires_at = ? WHERE user_id = ? AND revoked_at = 0`,
			ns(at), ns(at), userID)
		return q.wrap("revoke refresh tokens", err)
	}
	_, err := q.exec(ctx, `UPDATE refresh_families SET revoked_at = ?, expires_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at = 0`,
		ns(at), ns(at), userID, clientID)
	return q.wrap("revoke refresh tokens", err)
}
