package sqlstore

import (
	"context"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func (q *queries) CreateOTP(ctx context.Context, o *store.OTP) error {
	err := q.writeRow(ctx, `INSERT INTO otp_codes (user_id, business_id, code_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, o.UserID, o.BusinessID, o.CodeHash, ns(o.CreatedAt), ns(o.ExpiresAt)).Scan(&o.ID)
	return q.wrap("create otp", err)
}

func (q *queries) LatestOTP(ctx context.Context, userID int64) (store.OTP, error) {
	var o store.OTP
	var created, expires, spent int64
	err := q.queryRow(ctx, `SELECT id, user_id, business_id, code_hash, created_at, expires_at, tries, spent_at
		FROM otp_codes WHERE user_id = ? ORDER BY id DESC LIMIT 1`, userID).
		Scan(&o.ID, &o.UserID, &o.BusinessID, &o.CodeHash, &created, &expires, &o.Tries, &spent)
	o.CreatedAt, o.ExpiresAt, o.SpentAt = tm(created), tm(expires), tm(spent)
	return o, q.wrap("latest otp", err)
}

func (q *queries) OTPTry(ctx context.Context, id int64) (int, error) {
	var n int
	err := q.writeRow(ctx, `UPDATE otp_codes SET tries = tries + 1 WHERE id = ? RETURNING tries`, id).Scan(&n)
	return n, q.wrap("otp try", err)
}

func (q *queries) SpendOTP(ctx context.Context, id int64, at time.Time) (bool, error) {
	return q.execOne(ctx, "spend otp", `UPDATE otp_codes SET spent_at = ? WHERE id = ? AND spent_at = 0`, ns(at), id)
}
