package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// emailKey is the identity of an email address: NFC and case folding
// (store.EmailKey); migration 11 rewrote the keys stored before.
func emailKey(email string) string { return store.EmailKey(email) }

func (q *queries) CreateBusiness(ctx context.Context, b *store.Business) error {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = q.now().UTC()
	}
	if b.Language == "" {
		b.Language = "en"
	}
	err := q.writeRow(ctx, `INSERT INTO businesses (slug, name, language, domain, hide_unknown_emails, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		strings.ToLower(b.Slug), b.Name, b.Language, nullString(strings.ToLower(b.Domain)), b.HideUnknownEmails, ns(b.CreatedAt)).Scan(&b.ID)
	return q.wrap("create business", err)
}

const businessCols = `id, slug, name, language, COALESCE(domain, ''), hide_unknown_emails, created_at`

func scanBusiness(row interface{ Scan(...any) error }) (store.Business, error) {
	var b store.Business
	var created int64
	err := row.Scan(&b.ID, &b.Slug, &b.Name, &b.Language, &b.Domain, &b.HideUnknownEmails, &created)
	b.CreatedAt = tm(created)
	return b, err
}

func (q *queries) businessWhere(ctx context.Context, op, where string, arg any) (store.Business, error) {
	b, err := scanBusiness(q.queryRow(ctx, `SELECT `+businessCols+` FROM businesses WHERE `+where, arg))
	return b, q.wrap(op, err)
}

func (q *queries) BusinessByID(ctx context.Context, id int64) (store.Business, error) {
	return q.businessWhere(ctx, "business by id", "id = ?", id)
}

func (q *queries) BusinessBySlug(ctx context.Context, slug string) (store.Business, error) {
	return q.businessWhere(ctx, "business by slug", "slug = ?", strings.ToLower(slug))
}

func (q *queries) BusinessByDomain(ctx context.Context, domain string) (store.Business, error) {
	return q.businessWhere(ctx, "business by domain", "domain = ?", strings.ToLower(domain))
}

func (q *queries) UpdateBusiness(ctx context.Context, b store.Business) error {
	if b.Language == "" {
		b.Language = "en"
	}
	res, err := q.exec(ctx, `UPDATE businesses SET name = ?, language = ?, domain = ?, hide_unknown_emails = ? WHERE id = ?`,
		b.Name, b.Language, nullString(strings.ToLower(b.Domain)), b.HideUnknownEmails, b.ID)
	if err != nil {
		return q.wrap("update business", err)
	}
	return mustAffect(res, "update business")
}

func (q *queries) ListBusinesses(ctx context.Context) ([]store.Business, error) {
	rows, err := q.query(ctx, `SELECT `+businessCols+` FROM businesses ORDER BY id`)
	return collect(q, "list businesses", rows, err, scanBusiness)
}

func (q *queries) CreateUser(ctx context.Context, u *store.User) error {
	now := q.now().UTC()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	u.UpdatedAt = u.CreatedAt
	if u.Language == "" {
		u.Language = "en"
	}
	if u.DefaultBusinessID == 0 && len(u.BusinessIDs) > 0 {
		u.DefaultBusinessID = u.BusinessIDs[0]
	}
	err := q.writeRow(ctx, `INSERT INTO users (email, email_key, full_name, password_hash, is_admin, active, language,
			default_business_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		strings.TrimSpace(u.Email), emailKey(u.Email), u.FullName, u.PasswordHash, u.IsAdmin, u.Active, u.Language,
		nullID(u.DefaultBusinessID), ns(u.CreatedAt), ns(u.UpdatedAt)).Scan(&u.ID)
	if err != nil {
		return q.wrap("create user", err)
	}
	for _, b := range u.BusinessIDs {
		if err := q.AddProfile(ctx, u.ID, b); err != nil {
			return err
		}
	}
	for _, r := range u.Roles {
		if _, err := q.exec(ctx, `INSERT INTO user_roles (user_id, role) VALUES (?, ?) ON CONFLICT DO NOTHING`, u.ID, r); err != nil {
			return q.wrap("add role", err)
		}
	}
	return nil
}

func (q *queries) AddProfile(ctx context.Context, userID, businessID int64) error {
	_, err := q.exec(ctx, `INSERT INTO profiles (user_id, business_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		userID, businessID, ns(q.now()))
	if err != nil {
		return q.wrap("add profile", err)
	}
	_, err = q.exec(ctx, `UPDATE users SET default_business_id = ? WHERE id = ? AND default_business_id IS NULL`, businessID, userID)
	return q.wrap("add profile", err)
}

func (q *queries) userCols() string {
	return `u.id, u.email, u.full_name, u.password_hash, u.is_admin, u.active, u.language,
		COALESCE(u.default_business_id, 0), u.token_version, u.tokens_revoked_at, u.created_at, u.updated_at,
		u.totp_secret, u.totp_pending, u.totp_last_step, u.must_reset,
		COALESCE((SELECT ` + q.d.listAgg("r.role") + ` FROM user_roles r WHERE r.user_id = u.id), ''),
		COALESCE((SELECT ` + q.d.listAgg("p.business_id") + ` FROM profiles p WHERE p.user_id = u.id), '')`
}

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var revoked, created, updated int64
	var roles, businesses string
	err := row.Scan(&u.ID, &u.Email, &u.FullName, &u.PasswordHash, &u.IsAdmin, &u.Active, &u.Language,
		&u.DefaultBusinessID, &u.TokenVersion, &revoked, &created, &updated, &u.TOTPSecret, &u.TOTPPending, &u.TOTPLastStep, &u.MustReset,
		&roles, &businesses)
	if err != nil {
		return u, err
	}
	u.TokensRevokedAt, u.CreatedAt, u.UpdatedAt = tm(revoked), tm(created), tm(updated)
	if roles != "" {
		u.Roles = strings.Split(roles, ",")
	}
	for _, s := range strings.Split(businesses, ",") {
		if s == "" {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return u, fmt.Errorf("profile id %q: %w", s, err)
		}
		u.BusinessIDs = append(u.BusinessIDs, id)
	}
	return u, nil
}

func (q *queries) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, err := scanUser(q.queryRow(ctx, `SELECT `+q.userCols()+` FROM users u WHERE u.id = ?`, id))
	return u, q.wrap("user by id", err)
}

func (q *queries) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(q.queryRow(ctx, `SELECT `+q.userCols()+` FROM users u WHERE u.email_key = ?`, emailKey(email)))
	return u, q.wrap("user by email", err)
}

func (q *queries) SignInUserByEmail(ctx context.Context, email string) (store.User, store.PasswordRules, error) {
	var r store.PasswordRules
	rule := func(col string) string {
		return `EXISTS (SELECT 1 FROM sso_providers sp JOIN profiles pp ON pp.business_id = sp.business_id
			WHERE pp.user_id = u.id AND sp.` + col + ` <> ` + q.d.falseLit + `)`
	}
	u, err := scanUser(scanMore{q.queryRow(ctx, `SELECT `+q.userCols()+`, `+rule("no_member_passwords")+`, `+rule("no_admin_passwords")+`
		FROM users u WHERE u.email_key = ?`, emailKey(email)), []any{&r.NoMemberPasswords, &r.NoAdminPasswords}})
	return u, r, q.wrap("user by email", err)
}

// scanMore scans a row's columns past the ones asked for into more.
type scanMore struct {
	row  interface{ Scan(...any) error }
	more []any
}

func (s scanMore) Scan(dest ...any) error { return s.row.Scan(append(dest, s.more...)...) }

func (q *queries) ListUsers(ctx context.Context, businessID int64) ([]store.User, error) {
	var rows *sql.Rows
	var err error
	if businessID == 0 {
		rows, err = q.query(ctx, `SELECT `+q.userCols()+` FROM users u ORDER BY u.id`)
	} else {
		rows, err = q.query(ctx, `SELECT `+q.userCols()+` FROM users u
			WHERE EXISTS (SELECT 1 FROM profiles p WHERE p.user_id = u.id AND p.business_id = ?) ORDER BY u.id`, businessID)
	}
	return collect(q, "list users", rows, err, scanUser)
}

func (q *queries) SetUserActive(ctx context.Context, id int64, active bool, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE users SET active = ?, updated_at = ? WHERE id = ?`, active, ns(at), id)
	if err != nil {
		return q.wrap("set user active", err)
	}
	return mustAffect(res, "set user active")
}

func (q *queries) SetPasswordHash(ctx context.Context, id int64, hash string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, ns(at), id)
	if err != nil {
		return q.wrap("set password hash", err)
	}
	return mustAffect(res, "set password hash")
}

func (q *queries) RevokeUserTokens(ctx context.Context, id int64, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE users SET token_version = token_version + 1, tokens_revoked_at = ?, updated_at = ? WHERE id = ?`,
		ns(at), ns(at), id)
	if err != nil {
		return q.wrap("revoke user tokens", err)
	}
	return mustAffect(res, "revoke user tokens")
}

func (q *queries) SetMustReset(ctx context.Context, id int64, must bool) error {
	res, err := q.exec(ctx, `UPDATE users SET must_reset = ? WHERE id = ?`, must, id)
	if err != nil {
		return q.wrap("set must reset", err)
	}
	return mustAffect(res, "set must reset")
}

func (q *queries) EachPasswordHash(ctx context.Context, except string, fn func(hash string) error) error {
	rows, err := q.query(ctx, `SELECT password_hash FROM users WHERE substr(password_hash, 1, ?) <> ?`, len(except), except)
	if err != nil {
		return q.wrap("password hashes", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return q.wrap("password hashes", err)
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return q.wrap("password hashes", rows.Err())
}
