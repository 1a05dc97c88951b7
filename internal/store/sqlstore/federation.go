package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

const providerCols = `id, business_id, kind, name, issuer, client_id, logout_url, ldap_url, starttls,
	bind_dn_template, search_base, search_filter, bind_dn, secret, sealed, create_users,
	no_member_passwords, no_admin_passwords, created_at`

func scanProvider(row interface{ Scan(...any) error }) (store.Provider, error) {
	var p store.Provider
	var created int64
	err := row.Scan(&p.ID, &p.BusinessID, &p.Kind, &p.Name, &p.Issuer, &p.ClientID, &p.LogoutURL, &p.LDAPURL,
		&p.StartTLS, &p.BindDNTemplate, &p.SearchBase, &p.SearchFilter, &p.BindDN, &p.Secret, &p.Sealed,
		&p.CreateUsers, &p.NoMemberPasswords, &p.NoAdminPasswords, &created)
	p.CreatedAt = tm(created)
	return p, err
}

func (q *queries) CreateProvider(ctx context.Context, p *store.Provider) error {
	secret := p.Secret
	if secret == nil {
		secret = []byte{}
	}
	err := q.writeRow(ctx, `INSERT INTO sso_providers (business_id, kind, name, issuer, client_id, logout_url,
		ldap_url, starttls, bind_dn_template, search_base, search_filter, bind_dn, secret, sealed,
		create_users, no_member_passwords, no_admin_passwords, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.BusinessID, p.Kind, p.Name, p.Issuer, p.ClientID, p.LogoutURL, p.LDAPURL, p.StartTLS,
		p.BindDNTemplate, p.SearchBase, p.SearchFilter, p.BindDN, secret, p.Sealed,
		p.CreateUsers, p.NoMemberPasswords, p.NoAdminPasswords, ns(p.CreatedAt)).Scan(&p.ID)
	return q.wrap("create provider", err)
}

func (q *queries) ProviderByID(ctx context.Context, id int64) (store.Provider, error) {
	p, err := scanProvider(q.queryRow(ctx, `SELECT `+providerCols+` FROM sso_providers WHERE id = ?`, id))
	return p, q.wrap("provider by id", err)
}

func (q *queries) ListProviders(ctx context.Context, businessID int64) ([]store.Provider, error) {
	var rows *sql.Rows
	var err error
	if businessID == 0 {
		rows, err = q.query(ctx, `SELECT `+providerCols+` FROM sso_providers ORDER BY id`)
	} else {
		rows, err = q.query(ctx, `SELECT `+providerCols+` FROM sso_providers WHERE business_id = ? ORDER BY id`, businessID)
	}
	return collect(q, "list providers", rows, err, scanProvider)
}

func (q *queries) DeleteProvider(ctx context.Context, id int64) error {
	res, err := q.exec(ctx, `DELETE FROM sso_providers WHERE id = ?`, id)
	if err != nil {
		return q.wrap("delete provider", err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return q.wrap("delete provider", err)
}

func (q *queries) LinkIdentity(ctx context.Context, l store.FederatedIdentity) error {
	_, err := q.exec(ctx, `INSERT INTO federated_identities (provider_id, subject, user_id, email, created_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?)`, l.ProviderID, l.Subject, l.UserID, l.Email, ns(l.CreatedAt), ns(l.LastUsedAt))
	return q.wrap("link identity", err)
}

const identityCols = `provider_id, subject, user_id, email, created_at, last_used_at`

func scanIdentity(row interface{ Scan(...any) error }) (store.FederatedIdentity, error) {
	var l store.FederatedIdentity
	var created, used int64
	err := row.Scan(&l.ProviderID, &l.Subject, &l.UserID, &l.Email, &created, &used)
	l.CreatedAt, l.LastUsedAt = tm(created), tm(used)
	return l, err
}

func (q *queries) IdentityBySubject(ctx context.Context, providerID int64, subject string) (store.FederatedIdentity, error) {
	l, err := scanIdentity(q.queryRow(ctx, `SELECT `+identityCols+` FROM federated_identities
		WHERE provider_id = ? AND subject = ?`, providerID, subject))
	return l, q.wrap("identity by subject", err)
}

func (q *queries) TouchIdentity(ctx context.Context, providerID int64, subject string, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE federated_identities SET last_used_at = ? WHERE provider_id = ? AND subject = ?`,
		ns(at), providerID, subject)
	return q.wrap("touch identity", err)
}

func (q *queries) UserIdentities(ctx context.Context, userID int64) ([]store.FederatedIdentity, error) {
	rows, err := q.query(ctx, `SELECT `+identityCols+` FROM federated_identities WHERE user_id = ?
		ORDER BY created_at, provider_id`, userID)
	return collect(q, "user identities", rows, err, scanIdentity)
}

func (q *queries) CreateOIDCFlow(ctx context.Context, f store.OIDCFlow) error {
	// Flows nobody finished are dropped as new ones come: the table holds
	// at most the last few minutes' worth.
	if _, err := q.exec(ctx, `DELETE FROM oidc_flows WHERE expires_at < ?`, ns(f.CreatedAt)); err != nil {
		return q.wrap("create oidc flow", err)
	}
	_, err := q.exec(ctx, `INSERT INTO oidc_flows (state_hash, provider_id, binding_hash, nonce, verifier,
		redirect_url, language, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.StateHash, f.ProviderID, f.BindingHash, f.Nonce, f.Verifier, f.RedirectURL, f.Language,
		ns(f.CreatedAt), ns(f.ExpiresAt))
	return q.wrap("create oidc flow", err)
}

func (q *queries) SpendOIDCFlow(ctx context.Context, stateHash []byte, at time.Time) (store.OIDCFlow, bool, error) {
	var f store.OIDCFlow
	var created, expires, spent int64
	err := q.writeRow(ctx, `UPDATE oidc_flows SET spent_at = ? WHERE state_hash = ? AND spent_at = 0
		RETURNING state_hash, provider_id, binding_hash, nonce, verifier, redirect_url, language, created_at, expires_at, spent_at`,
		ns(at), stateHash).Scan(&f.StateHash, &f.ProviderID, &f.BindingHash, &f.Nonce, &f.Verifier, &f.RedirectURL,
		&f.Language, &created, &expires, &spent)
	if err == sql.ErrNoRows {
		return store.OIDCFlow{}, false, nil
	}
	if err != nil {
		return store.OIDCFlow{}, false, q.wrap("spend oidc flow", err)
	}
	f.CreatedAt, f.ExpiresAt, f.SpentAt = tm(created), tm(expires), tm(spent)
	return f, true, nil
}

func (q *queries) MarkSessionProvider(ctx context.Context, sessionID, providerID int64) error {
	_, err := q.exec(ctx, `INSERT INTO sso_sessions (session_id, provider_id) VALUES (?, ?)`, sessionID, providerID)
	return q.wrap("mark session provider", err)
}

func (q *queries) SessionProvider(ctx context.Context, sessionID int64) (store.Provider, error) {
	p, err := scanProvider(q.queryRow(ctx, `SELECT `+prefixed("p.", providerCols)+` FROM sso_sessions s
		JOIN sso_providers p ON p.id = s.provider_id WHERE s.session_id = ?`, sessionID))
	return p, q.wrap("session provider", err)
}

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
