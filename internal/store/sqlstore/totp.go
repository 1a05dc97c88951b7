package sqlstore

import (
	"context"
	"time"
)

func (q *queries) SetTOTPPending(ctx context.Context, userID int64, secret string) error {
	res, err := q.exec(ctx, `UPDATE users SET totp_pending = ? WHERE id = ?`, secret, userID)
	if err != nil {
		return q.wrap("set totp pending", err)
	}
	return mustAffect(res, "set totp pending")
}

func (q *queries) EnableTOTP(ctx context.Context, userID int64, secret string, step int64, recoveryHashes [][]byte) error {
	res, err := q.exec(ctx, `UPDATE users SET totp_secret = ?, totp_pending = '', totp_last_step = ? WHERE id = ?`, secret, step, userID)
	if err != nil {
		return q.wrap("enable totp", err)
	}
	if err := mustAffect(res, "enable totp"); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return q.wrap("enable totp", err)
	}
	for _, h := range recoveryHashes {
		if _, err := q.exec(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)`, userID, h); err != nil {
			return q.wrap("enable totp", err)
		}
	}
	return nil
}

func (q *queries) DisableTOTP(ctx context.Context, userID int64) error {
	if _, err := q.exec(ctx, `UPDATE users SET totp_secret = '', totp_pending = '' WHERE id = ?`, userID); err != nil {
		return q.wrap("disable totp", err)
	}
	_, err := q.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID)
	return q.wrap("disable totp", err)
}

func (q *queries) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	// One conditional update decides a race between two uses of one code.
	return q.execOne(ctx, "use totp step", `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)
}

func (q *queries) UseRecoveryCode(ctx context.Context, userID int64, hash []byte, at time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at = 0`, ns(at), userID, hash)
	if err != nil {
		return false, q.wrap("use recovery code", err)
	}
	n, err := res.RowsAffected()
	return n == 1, q.wrap("use recovery code", err)
}
