package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

const mailCols = `id, kind, from_name, to_addr, subject, body_text, body_html, created_at, next_attempt_at,
	lease_until, attempts, last_error, sent_at, dead`

func scanMail(row interface{ Scan(...any) error }) (store.Mail, error) {
	var m store.Mail
	var created, next, lease, sent int64
	err := row.Scan(&m.ID, &m.Kind, &m.FromName, &m.To, &m.Subject, &m.Text, &m.HTML, &created, &next,
		&lease, &m.Attempts, &m.LastError, &sent, &m.Dead)
	m.CreatedAt, m.NextAttemptAt, m.LeaseUntil, m.SentAt = tm(created), tm(next), tm(lease), tm(sent)
	return m, err
}

func (q *queries) EnqueueMail(ctx context.Context, m *store.Mail) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = q.now().UTC()
	}
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	err := q.writeRow(ctx, `INSERT INTO outbox (kind, from_name, to_addr, subject, body_text, body_html, created_at, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.Kind, m.FromName, m.To, m.Subject, m.Text, m.HTML, ns(m.CreatedAt), ns(m.NextAttemptAt)).Scan(&m.ID)
	return q.wrap("enqueue mail", err)
}

func (q *queries) ClaimMail(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]store.Mail, error) {
	if owner == "" {
		return nil, errors.New("claim mail: empty lease owner")
	}
	rows, err := q.w.QueryContext(ctx, q.d.rebind(`UPDATE outbox SET lease_until = ?, lease_owner = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox
			WHERE sent_at = 0 AND dead = `+q.d.falseLit+` AND next_attempt_at <= ? AND lease_until <= ?
			ORDER BY next_attempt_at, id LIMIT ?`+q.d.skipLocked+`)
		RETURNING `+mailCols), ns(leaseUntil), owner, ns(now), ns(now), limit)
	return collect(q, "claim mail", rows, err, scanMail)
}

// The lease fence: an outcome is recorded only by the claim that holds the
// message, and only while the message is still pending. Settling clears
// the owner, so a late duplicate of the same claim changes nothing.
const leaseHeld = ` WHERE id = ? AND lease_owner = ? AND sent_at = 0 AND dead = `

func (q *queries) RenewMailLease(ctx context.Context, id int64, owner string, until time.Time) error {
	res, err := q.exec(ctx, `UPDATE outbox SET lease_until = ?`+leaseHeld+q.d.falseLit, ns(until), id, owner)
	if err != nil {
		return q.wrap("renew mail lease", err)
	}
	return mustAffect(res, "renew mail lease")
}

// erasedBody replaces the body of a settled message: what was sent held
// reset links, sign-in links and codes, which must not stay at rest.
const erasedBody = "[erased after delivery or abandonment]"

func (q *queries) MarkMailSent(ctx context.Context, id int64, owner string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE outbox SET sent_at = ?, lease_until = 0, lease_owner = '', last_error = '',
		body_text = ?, body_html = ?`+leaseHeld+q.d.falseLit, ns(at), erasedBody, erasedBody, id, owner)
	if err != nil {
		return q.wrap("mark mail sent", err)
	}
	return mustAffect(res, "mark mail sent")
}

func (q *queries) MarkMailFailed(ctx context.Context, id int64, owner string, next time.Time, errMsg string, dead bool) error {
	if len(errMsg) > 1000 {
		errMsg = errMsg[:1000]
	}
	body := `body_text = body_text, body_html = body_html`
	if dead {
		body = `body_text = '` + erasedBody + `', body_html = '` + erasedBody + `'`
	}
	res, err := q.exec(ctx, `UPDATE outbox SET next_attempt_at = ?, lease_until = 0, lease_owner = '', last_error = ?, dead = ?, `+body+
		leaseHeld+q.d.falseLit, ns(next), errMsg, dead, id, owner)
	if err != nil {
		return q.wrap("mark mail failed", err)
	}
	return mustAffect(res, "mark mail failed")
}

func (q *queries) MailByID(ctx context.Context, id int64) (store.Mail, error) {
	m, err := scanMail(q.queryRow(ctx, `SELECT `+mailCols+` FROM outbox WHERE id = ?`, id))
	return m, q.wrap("mail by id", err)
}

func (q *queries) PendingMail(ctx context.Context) (int64, error) {
	var n int64
	err := q.queryRow(ctx, `SELECT count(*) FROM outbox WHERE sent_at = 0 AND dead = `+q.d.falseLit).Scan(&n)
	return n, q.wrap("pending mail", err)
}

func (q *queries) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	stmt, args := q.auditInsert(e)
	_, err := q.exec(ctx, stmt, args...)
	return q.wrap("append audit", err)
}

// auditInsert is the statement that stores e, and its arguments; an unset
// e.At is now. AppendAudit runs it alone, ThrottleRelease inside its own.
func (q *queries) auditInsert(e store.AuditEvent) (string, []any) {
	if e.At.IsZero() {
		e.At = q.now().UTC()
	}
	return `INSERT INTO audit_events (at, type, user_id, business_id, actor_id, client_ip, user_agent, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, []any{ns(e.At), e.Type, e.UserID, e.BusinessID, e.ActorID, e.ClientIP, e.UserAgent, e.Detail}
}

func (q *queries) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	where := "1 = 1"
	var args []any
	if f.UserID != 0 {
		where += " AND user_id = ?"
		args = append(args, f.UserID)
	}
	if f.BusinessID != 0 {
		where += " AND business_id = ?"
		args = append(args, f.BusinessID)
	}
	if f.Type != "" {
		where += " AND type = ?"
		args = append(args, f.Type)
	}
	if !f.Since.IsZero() {
		where += " AND at >= ?"
		args = append(args, ns(f.Since))
	}
	if !f.Until.IsZero() {
		where += " AND at < ?"
		args = append(args, ns(f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	args = append(args, limit)
	order := "at, id"
	if f.NewestFirst {
		order = "at DESC, id DESC"
	}
	rows, err := q.query(ctx, `SELECT id, at, type, user_id, business_id, actor_id, client_ip, user_agent, detail
		FROM audit_events WHERE `+where+` ORDER BY `+order+` LIMIT ?`, args...)
	return collect(q, "list audit", rows, err, scanAuditEvent)
}

func scanAuditEvent(row interface{ Scan(...any) error }) (store.AuditEvent, error) {
	var e store.AuditEvent
	var at int64
	err := row.Scan(&e.ID, &at, &e.Type, &e.UserID, &e.BusinessID, &e.ActorID, &e.ClientIP, &e.UserAgent, &e.Detail)
	e.At = tm(at)
	return e, err
}
