package store

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound is returned when a looked-up record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when a unique value (email, slug, domain) is taken.
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable wraps every failure of the database itself (down,
	// unreadable, full, a failed transaction): callers answer "try again
	// later", never with an authentication verdict (SPEC §2).
	ErrUnavailable = errors.New("store: unavailable")
)

// Store is a storage backend. Queries run outside a transaction; InTx runs fn
// in one transaction that commits when fn returns nil.
type Store interface {
	Queries
	InTx(ctx context.Context, fn func(q Queries) error) error
	Ping(ctx context.Context) error
	// ProbeWrite proves the database takes writes: it rewrites one
	// heartbeat row in a transaction of its own.
	ProbeWrite(ctx context.Context) error
	// Migrated reports whether every embedded migration has been applied.
	Migrated(ctx context.Context) (bool, error)
	// StateEpoch returns a number that changes whenever a user, a user's
	// roles or businesses, a business, or the revoked tokens change, in
	// this process or any other. ok is false when it cannot be trusted at
	// the moment; callers then must not serve anything from a cache.
	StateEpoch(ctx context.Context) (epoch int64, ok bool)
	Pruning
	Close() error
}

// Pruning deletes rows that can no longer matter (docs/retention.md): each
// call deletes at most limit rows past before, in a short write of its
// own, and returns how many went. The caller picks before (the retention
// rule); a caller loops until fewer than limit go. Pruners in several
// processes on one database delete disjoint rows or none, never an error.
type Pruning interface {
	// Prune deletes, from table, the rows past before:
	//   - sessions: expired or revoked (with their sso_sessions rows, by
	//     the foreign key's cascade);
	//   - refresh_families: families that expired, or were revoked (a
	//     revocation is the family's expiry), then, within the same limit,
	//     legacy tokens (migration 18) whose family's end at the migration
	//     is past: rows that can never again yield a token or detect a reuse;
	//   - refresh_legacy: those legacy tokens alone;
	//   - otp_codes: expired sign-in codes, except a code while an older
	//     code of its user has not expired (so that deleting the newest
	//     never makes an older, replaced code the user's latest);
	//   - revoked_tokens, spent_tokens: revocations and spent marks of
	//     tokens that expired;
	//   - reset_tokens, twofactor_pending, oidc_flows, webauthn_challenges:
	//     expired rows;
	//   - throttle: counters whose last event is past;
	//   - outbox: settled messages (sent or dead) created before before;
	//   - audit_events: events that happened before before.
	// Another table is an error.
	Prune(ctx context.Context, table string, before time.Time, limit int) (int64, error)
}

// Queries is every read and write a backend offers.
type Queries interface {
	Businesses
	Users
	Keys
	Tokens
	Sessions
	Resets
	Outbox
	Audit
	Throttles
	OTPs
	Refresh
	TwoFactor
	PendingSignIns
	Federation
	Passkeys
}

// Businesses stores tenants.
type Businesses interface {
	CreateBusiness(ctx context.Context, b *Business) error
	BusinessByID(ctx context.Context, id int64) (Business, error)
	BusinessBySlug(ctx context.Context, slug string) (Business, error)
	BusinessByDomain(ctx context.Context, domain string) (Business, error)
	ListBusinesses(ctx context.Context) ([]Business, error)
	// UpdateBusiness replaces the settings of business b.ID (name,
	// language, domain, hide-unknown-emails; the slug stays): ErrNotFound
	// for no such business, ErrConflict for a domain already in use.
	UpdateBusiness(ctx context.Context, b Business) error
}

// Users stores users, their profiles and roles.
type Users interface {
	// CreateUser inserts u with its Roles and BusinessIDs and sets u.ID.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (User, error)
	// UserByEmail matches case-insensitively.
	UserByEmail(ctx context.Context, email string) (User, error)
	// SignInUserByEmail is UserByEmail with the password rules of the
	// identity providers of the user's businesses, read in one step for a
	// password sign-in.
	SignInUserByEmail(ctx context.Context, email string) (User, PasswordRules, error)
	ListUsers(ctx context.Context, businessID int64) ([]User, error)
	SetUserActive(ctx context.Context, id int64, active bool, at time.Time) error
	SetPasswordHash(ctx context.Context, id int64, hash string, at time.Time) error
	// RevokeUserTokens makes every token of the user issued so far invalid
	// by increasing its TokenVersion.
	RevokeUserTokens(ctx context.Context, id int64, at time.Time) error
	AddProfile(ctx context.Context, userID, businessID int64) error
	SetMustReset(ctx context.Context, id int64, must bool) error
	// EachPasswordHash calls fn with every stored password hash that does not
	// start with except (the current hasher's own prefix), to find the kinds
	// of legacy hash still in use; fn's error stops the scan.
	EachPasswordHash(ctx context.Context, except string, fn func(hash string) error) error
}

// Keys stores JWT signing keys.
type Keys interface {
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// RetireSigningKeys sets RetiredAt on every key not yet retired except keep.
	RetireSigningKeys(ctx context.Context, keep string, at time.Time) error
	// SigningKeys lists keys retired after since (and every unretired key),
	// newest first.
	SigningKeys(ctx context.Context, since time.Time) ([]SigningKey, error)
}

// Tokens records revoked and spent access tokens by jti.
type Tokens interface {
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error
	TokenRevoked(ctx context.Context, jti string) (bool, error)
	// SpendToken marks jti as used on the portal. It reports true only for the
	// one call that spent it, however many race.
	SpendToken(ctx context.Context, jti string, expiresAt time.Time) (bool, error)
}

// Sessions stores portal sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s *Session) error
	// SessionByHash returns an unrevoked session; expiry is the caller's check.
	SessionByHash(ctx context.Context, hash []byte) (Session, error)
	TouchSession(ctx context.Context, id int64, at time.Time) error
	RevokeSession(ctx context.Context, id int64, at time.Time) error
	RevokeUserSessions(ctx context.Context, userID int64, at time.Time) error
	// UserSessions lists the user's unrevoked sessions that expire after now.
	UserSessions(ctx context.Context, userID int64, now time.Time) ([]Session, error)
}

// Resets stores password-reset tokens.
type Resets interface {
	CreateResetToken(ctx context.Context, t ResetToken) error
	ResetTokenByHash(ctx context.Context, hash []byte) (ResetToken, error)
	// SpendResetToken spends one token; it reports true only for the one
	// call that spent it, however many race.
	SpendResetToken(ctx context.Context, hash []byte, at time.Time) (bool, error)
	// SpendResetTokens spends every unspent reset token of the user.
	SpendResetTokens(ctx context.Context, userID int64, at time.Time) error
}

// Outbox is the durable mail queue.
type Outbox interface {
	EnqueueMail(ctx context.Context, m *Mail) error
	// ClaimMail leases up to limit due messages to owner (a token unique to
	// this claim) until leaseUntil, counting an attempt on each. A leased
	// message is not claimed again before its lease ends, also by another
	// process.
	ClaimMail(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]Mail, error)
	// RenewMailLease extends owner's lease on id to until. It returns
	// ErrNotFound when owner no longer holds the message (another claim took
	// it over, or it was settled): the message must not be sent then.
	RenewMailLease(ctx context.Context, id int64, owner string, until time.Time) error
	// MarkMailSent records the delivery and erases the body, which may hold
	// links and codes (SPEC §6 "Secrets at rest"). It returns ErrNotFound
	// when owner no longer holds the message.
	MarkMailSent(ctx context.Context, id int64, owner string, at time.Time) error
	// MarkMailFailed records a failed attempt by owner; dead stops further
	// attempts and erases the body. It returns ErrNotFound when owner no
	// longer holds the message.
	MarkMailFailed(ctx context.Context, id int64, owner string, next time.Time, errMsg string, dead bool) error
	MailByID(ctx context.Context, id int64) (Mail, error)
	// PendingMail counts messages neither sent nor dead.
	PendingMail(ctx context.Context) (int64, error)
}

// Audit stores security events.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// Throttles counts events per key (an account, a client address) in
// windows, for rate limiting that holds across processes.
type Throttles interface {
	// ThrottleHit counts one event for key at now and returns the count in
	// the current window. A window starts at the first event and ends window
	// after the latest one, so steady pressure keeps it open.
	ThrottleHit(ctx context.Context, key string, now time.Time, window time.Duration) (ThrottleState, error)
	// ThrottleGet returns key's state; a key never hit has Count 0.
	ThrottleGet(ctx context.Context, key string) (ThrottleState, error)
	ThrottleClear(ctx context.Context, key string) error
	// ThrottleTake counts one event for key at now if, in one atomic step,
	// the key's count in its window is below free, or the window is over,
	// or the key's state is still prev (as ThrottleGet returned it: a
	// compare-and-swap for the caller that decided from prev that a delay
	// has passed). ok is false when none held; the caller reads the state
	// again. Below free, concurrent takes do not contend: each counts, up to
	// free, whatever process makes it. As with ThrottleHit, the window
	// restarts when the previous event is older than window.
	ThrottleTake(ctx context.Context, key string, prev ThrottleState, free int, now time.Time, window time.Duration) (ok bool, err error)
	// ThrottleRefund gives back one event of key (an attempt counted in
	// advance that turned out not to be a failure); never below zero.
	ThrottleRefund(ctx context.Context, key string) error
	// ThrottleGetMany returns the states of keys, in their order, read in
	// one step; a key never hit has Count 0.
	ThrottleGetMany(ctx context.Context, keys ...string) ([]ThrottleState, error)
	// ThrottleTakeMany runs ThrottleTake for each of takes, in order, each
	// only if every one before it took, in one atomic step: the takes that
	// held (a prefix of takes, n of them) are counted, the rest not. The
	// keys must differ.
	ThrottleTakeMany(ctx context.Context, takes []ThrottleTakeArgs) (n int, err error)
	// ThrottleRelease closes a successful sign-in in one atomic step:
	// clearKey's count is forgotten (ThrottleClear), refundKey, unless "",
	// gives back one event (ThrottleRefund), and e, unless nil, is
	// appended to the audit log. Either all of it is stored or none.
	ThrottleRelease(ctx context.Context, clearKey, refundKey string, e *AuditEvent) error
}

// ThrottleTakeArgs are the arguments of one ThrottleTake.
type ThrottleTakeArgs struct {
	Key    string
	Prev   ThrottleState
	Free   int
	Now    time.Time
	Window time.Duration
}

// ThrottleState is one key's counter.
type ThrottleState struct {
	Count       int
	WindowStart time.Time
	LastAt      time.Time
}

// OTPs stores passwordless sign-in codes.
type OTPs interface {
	CreateOTP(ctx context.Context, o *OTP) error
	// LatestOTP returns the user's newest code; a newer code replaces older ones.
	LatestOTP(ctx context.Context, userID int64) (OTP, error)
	// OTPTry counts one attempt and returns the count including it.
	OTPTry(ctx context.Context, id int64) (int, error)
	// SpendOTP marks the code used; true only for the one call that did.
	SpendOTP(ctx context.Context, id int64, at time.Time) (bool, error)
}

// Refresh stores OAuth2 refresh-token families, one row per family.
type Refresh interface {
	CreateRefreshFamily(ctx context.Context, f RefreshFamily) error
	// RefreshFamilyByID returns the family, live or not; ErrNotFound when
	// there is none (never was, or pruned).
	RefreshFamilyByID(ctx context.Context, id []byte) (RefreshFamily, error)
	// LegacyRefreshFamily returns the family of a token issued before
	// migration 18 that was rotated away (before or since): ErrNotFound
	// when hash is no such token or its family is gone.
	LegacyRefreshFamily(ctx context.Context, hash []byte) (RefreshFamily, error)
	// ExchangeRefreshToken rotates family cur.ID from its current token
	// (cur.Generation, cur.Hash) to next, one generation up, and in the
	// same transaction appends e for the family's user. It reports false,
	// and stores nothing, when that token is no longer current or the
	// family is revoked: of racing exchanges of one token, one wins.
	ExchangeRefreshToken(ctx context.Context, cur RefreshFamily, next RefreshRotation, e AuditEvent) (bool, error)
	// RevokeRefreshFamily revokes the family (a no-op when revoked).
	RevokeRefreshFamily(ctx context.Context, id []byte, at time.Time) error
	// RevokeRefreshTokens revokes the user's live families of clientID, or
	// of every client when clientID is ""; revoked families are not
	// touched again, so the cost follows the live families only.
	RevokeRefreshTokens(ctx context.Context, userID int64, clientID string, at time.Time) error
}

// TwoFactor stores TOTP state and recovery codes.
type TwoFactor interface {
	SetTOTPPending(ctx context.Context, userID int64, secret string) error
	// EnableTOTP turns two-factor on with secret, replacing the recovery codes.
	EnableTOTP(ctx context.Context, userID int64, secret string, step int64, recoveryHashes [][]byte) error
	DisableTOTP(ctx context.Context, userID int64) error
	// UseTOTPStep records that step's code was used; false when a code of
	// that step or a later one was already accepted (a replay).
	UseTOTPStep(ctx context.Context, userID, step int64) (bool, error)
	// UseRecoveryCode spends one recovery code; false when unknown or used.
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte, at time.Time) (bool, error)
}

// PendingSignIns stores the portal form's pending second-factor steps, a
// credential of their own (SPEC §6 matrix).
type PendingSignIns interface {
	CreatePendingSignIn(ctx context.Context, p PendingSignIn) error
	PendingSignInByHash(ctx context.Context, hash []byte) (PendingSignIn, error)
	// PendingSignInTry counts one attempt and returns the count including it.
	PendingSignInTry(ctx context.Context, hash []byte) (int, error)
	// SpendPendingSignIn marks the step used; true only for the one call
	// that did, however many race.
	SpendPendingSignIn(ctx context.Context, hash []byte, at time.Time) (bool, error)
}
