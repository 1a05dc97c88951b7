package auth

import (
	"context"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// The storage auth needs, declared here per concern where it is used,
// instead of all of store.Store: each field of Service holds only what
// its concern calls. Writes that must be atomic with their audit event and
// queued mail go through Transactor, whose store.Queries is the one wide
// view, and only inside a transaction. *sqlstore.Store satisfies Store (the
// wiring package checks it at compile time).

// Transactor runs fn in one write transaction.
type Transactor interface {
	InTx(ctx context.Context, fn func(q store.Queries) error) error
}

// UserStore reads accounts and keeps their password hashes current.
type UserStore interface {
	UserByID(ctx context.Context, id int64) (store.User, error)
	UserByEmail(ctx context.Context, email string) (store.User, error)
	// SignInUserByEmail adds what the user's businesses say about passwords.
	SignInUserByEmail(ctx context.Context, email string) (store.User, store.PasswordRules, error)
	// ListUsers lists a business's members (0: everyone), for the console.
	ListUsers(ctx context.Context, businessID int64) ([]store.User, error)
	// SetPasswordHash upgrades a hash after a sign-in with old parameters.
	SetPasswordHash(ctx context.Context, id int64, hash string, at time.Time) error
	// EachPasswordHash feeds the hashing-cost estimate.
	EachPasswordHash(ctx context.Context, except string, fn func(hash string) error) error
}

// BusinessStore reads and creates businesses (tenants).
type BusinessStore interface {
	CreateBusiness(ctx context.Context, b *store.Business) error
	BusinessByID(ctx context.Context, id int64) (store.Business, error)
	BusinessBySlug(ctx context.Context, slug string) (store.Business, error)
	BusinessByDomain(ctx context.Context, domain string) (store.Business, error)
	ListBusinesses(ctx context.Context) ([]store.Business, error)
}

// TokenStore keeps what outlives a bearer token's signature: revocations,
// refresh-token families and reset tokens.
type TokenStore interface {
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error
	TokenRevoked(ctx context.Context, jti string) (bool, error)
	RefreshFamilyByID(ctx context.Context, id []byte) (store.RefreshFamily, error)
	LegacyRefreshFamily(ctx context.Context, hash []byte) (store.RefreshFamily, error)
	ExchangeRefreshToken(ctx context.Context, cur store.RefreshFamily, next store.RefreshRotation, e store.AuditEvent) (bool, error)
	RevokeRefreshFamily(ctx context.Context, id []byte, at time.Time) error
	CreateResetToken(ctx context.Context, t store.ResetToken) error
	ResetTokenByHash(ctx context.Context, hash []byte) (store.ResetToken, error)
}

// SessionStore reads portal sessions.
type SessionStore interface {
	SessionByHash(ctx context.Context, hash []byte) (store.Session, error)
	TouchSession(ctx context.Context, id int64, at time.Time) error
	UserSessions(ctx context.Context, userID int64, now time.Time) ([]store.Session, error)
}

// SecondStepStore keeps the second steps of a sign-in: emailed codes,
// TOTP and recovery codes, and the sign-ins waiting for them.
type SecondStepStore interface {
	LatestOTP(ctx context.Context, userID int64) (store.OTP, error)
	OTPTry(ctx context.Context, id int64) (int, error)
	SpendOTP(ctx context.Context, id int64, at time.Time) (bool, error)
	SetTOTPPending(ctx context.Context, userID int64, secret string) error
	UseTOTPStep(ctx context.Context, userID, step int64) (bool, error)
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte, at time.Time) (bool, error)
	CreatePendingSignIn(ctx context.Context, p store.PendingSignIn) error
	PendingSignInByHash(ctx context.Context, hash []byte) (store.PendingSignIn, error)
	PendingSignInTry(ctx context.Context, hash []byte) (int, error)
	SpendPendingSignIn(ctx context.Context, hash []byte, at time.Time) (bool, error)
}

// ThrottleStore keeps the shared attempt counters.
type ThrottleStore interface {
	ThrottleHit(ctx context.Context, key string, now time.Time, window time.Duration) (store.ThrottleState, error)
	ThrottleGet(ctx context.Context, key string) (store.ThrottleState, error)
	ThrottleTake(ctx context.Context, key string, prev store.ThrottleState, free int, now time.Time, window time.Duration) (ok bool, err error)
	ThrottleClear(ctx context.Context, key string) error
	ThrottleRefund(ctx context.Context, key string) error
	ThrottleGetMany(ctx context.Context, keys ...string) ([]store.ThrottleState, error)
	ThrottleTakeMany(ctx context.Context, takes []store.ThrottleTakeArgs) (int, error)
	ThrottleRelease(ctx context.Context, clearKey, refundKey string, e *store.AuditEvent) error
}

// stateSource is what the bearer-check cache reads through, and the
// counter that tells it another writer changed something.
type stateSource interface {
	StateEpoch(ctx context.Context) (epoch int64, ok bool)
	UserByID(ctx context.Context, id int64) (store.User, error)
	BusinessByID(ctx context.Context, id int64) (store.Business, error)
	BusinessBySlug(ctx context.Context, slug string) (store.Business, error)
	BusinessByDomain(ctx context.Context, domain string) (store.Business, error)
	TokenRevoked(ctx context.Context, jti string) (bool, error)
	PasskeyByCredentialID(ctx context.Context, rpID string, credentialID []byte) (store.Passkey, error)
}

// FederationStore keeps the identity providers of each business, the
// identities linked to them, the OIDC flows in progress and which provider
// opened a session (SPEC §8).
type FederationStore interface {
	CreateProvider(ctx context.Context, p *store.Provider) error
	ProviderByID(ctx context.Context, id int64) (store.Provider, error)
	ListProviders(ctx context.Context, businessID int64) ([]store.Provider, error)
	DeleteProvider(ctx context.Context, id int64) error
	IdentityBySubject(ctx context.Context, providerID int64, subject string) (store.FederatedIdentity, error)
	UserIdentities(ctx context.Context, userID int64) ([]store.FederatedIdentity, error)
	TouchIdentity(ctx context.Context, providerID int64, subject string, at time.Time) error
	CreateOIDCFlow(ctx context.Context, f store.OIDCFlow) error
	SpendOIDCFlow(ctx context.Context, stateHash []byte, at time.Time) (store.OIDCFlow, bool, error)
	MarkSessionProvider(ctx context.Context, sessionID, providerID int64) error
	SessionProvider(ctx context.Context, sessionID int64) (store.Provider, error)
}

// PasskeyStore keeps passkeys and the challenges of their ceremonies
// (SPEC §9).
type PasskeyStore interface {
	PasskeyByCredentialID(ctx context.Context, rpID string, credentialID []byte) (store.Passkey, error)
	UserPasskeys(ctx context.Context, userID int64, rpID string) ([]store.Passkey, error)
	RenamePasskey(ctx context.Context, userID, id int64, name string) error
	WebAuthnChallengeByHash(ctx context.Context, hash []byte) (store.WebAuthnChallenge, error)
	TakeWebAuthnChallenge(ctx context.Context, hash []byte) (store.WebAuthnChallenge, error)
	SpendWebAuthnChallenge(ctx context.Context, hash []byte) error
}

// AuditLog records security events outside a transaction (inside one,
// the transaction's Queries records them) and lists them for the console.
type AuditLog interface {
	AppendAudit(ctx context.Context, e store.AuditEvent) error
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

// resetReader is what checking a reset token reads: in a transaction or,
// for a look before the form, outside one (nonTxResetReader).
type resetReader interface {
	ResetTokenByHash(ctx context.Context, hash []byte) (store.ResetToken, error)
	UserByID(ctx context.Context, id int64) (store.User, error)
}

// Store is everything New needs: the union of the concerns above.
type Store interface {
	Transactor
	UserStore
	BusinessStore
	TokenStore
	SessionStore
	SecondStepStore
	ThrottleStore
	FederationStore
	PasskeyStore
	AuditLog
	StateEpoch(ctx context.Context) (epoch int64, ok bool)
}
