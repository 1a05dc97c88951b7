package store

import "time"

// Business is one tenant: a coworking space with its own portal host.
type Business struct {
	ID                int64
	Slug              string
	Name              string
	Language          string // default language, ISO 639-1
	Domain            string // optional custom domain, lowercase, no port
	HideUnknownEmails bool
	CreatedAt         time.Time
}

// User is a person who signs in. Email is unique case-insensitively.
type User struct {
	ID                int64
	Email             string
	FullName          string
	PasswordHash      string // PHC string
	IsAdmin           bool
	Active            bool
	Language          string
	DefaultBusinessID int64 // 0 when the user has no profile
	// TokenVersion increases whenever every token of the user issued so far
	// must stop working (password change, "sign out everywhere").
	TokenVersion    int64
	TokensRevokedAt time.Time
	// TOTPSecret is set while two-factor authentication is on; TOTPPending
	// holds a secret being enrolled; TOTPLastStep is the newest time step
	// whose code was accepted (replay refusal).
	TOTPSecret   string
	TOTPPending  string
	TOTPLastStep int64
	// MustReset refuses sign-in until the password is changed.
	MustReset   bool
	Roles       []string
	BusinessIDs []int64 // businesses where the user has a profile
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// HasRole reports whether the user holds role (case-sensitive).
func (u User) HasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// InBusiness reports whether the user has a profile at business id.
func (u User) InBusiness(id int64) bool {
	for _, b := range u.BusinessIDs {
		if b == id {
			return true
		}
	}
	return false
}

// SigningKey is one JWT signing key. PrivateKey may be sealed with the
// configured key-encryption key (Sealed true).
type SigningKey struct {
	ID         string // kid
	Algorithm  string // "EdDSA" or "RS256"
	PublicKey  []byte // PKIX DER
	PrivateKey []byte // PKCS#8 DER, possibly sealed
	Sealed     bool
	CreatedAt  time.Time
	RetiredAt  time.Time // zero while the key is the signing key
}

// Session is a portal session. Only the hash of the cookie value is kept.
type Session struct {
	ID         int64
	Hash       []byte
	UserID     int64
	BusinessID int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time
	UserAgent  string
	ClientIP   string
	// TokenVersion is the user's token version when the credential that
	// opened the session was checked; a session whose version is not the
	// user's current one is dead (SPEC §6).
	TokenVersion int64
	// ActorID is the administrator whose impersonation token opened the
	// session (0 when none); such a session may not add lasting
	// credentials to the account.
	ActorID int64
}

// ResetToken is a password-reset token. Only its hash is kept.
type ResetToken struct {
	Hash       []byte
	UserID     int64
	BusinessID int64
	Language   string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	SpentAt    time.Time
	// TokenVersion is the user's token version when the link was made; a
	// link is dead once the version moves past it (SPEC §6).
	TokenVersion int64
}

// Mail is one outbox message, rendered when it was queued.
type Mail struct {
	ID            int64
	Kind          string // "reset", "password-changed", ...
	FromName      string
	To            string
	Subject       string
	Text          string
	HTML          string
	CreatedAt     time.Time
	NextAttemptAt time.Time
	LeaseUntil    time.Time
	Attempts      int
	LastError     string
	SentAt        time.Time
	Dead          bool
}

// AuditEvent is one security-relevant event.
type AuditEvent struct {
	ID         int64
	At         time.Time
	Type       string
	UserID     int64
	BusinessID int64
	ActorID    int64
	ClientIP   string
	UserAgent  string
	Detail     string
}

// AuditFilter selects audit events; zero fields do not filter.
type AuditFilter struct {
	UserID     int64
	BusinessID int64
	Type       string
	Since      time.Time
	Until      time.Time
	Limit      int
	// NewestFirst orders (and limits) from the newest event back, as an
	// operator reading the log expects (SPEC §7); otherwise oldest first.
	NewestFirst bool
}

// OTP is a passwordless sign-in code. Only its hash is kept.
type OTP struct {
	ID         int64
	UserID     int64
	BusinessID int64
	CodeHash   []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Tries      int
	SpentAt    time.Time
}

// RefreshFamily is the chain of OAuth2 refresh tokens that one grant
// began, in one row however often it rotates: a rotation replaces the
// current token's hash and counts a generation up. Its tokens carry the
// family id and their generation, so a token of an earlier generation is
// recognised (reuse) without a row of its own. Only hashes are kept.
type RefreshFamily struct {
	// ID is the SHA-256 of the family id the tokens carry. A family
	// migrated from before families had rows of their own (Legacy set)
	// is keyed by its token's hash until its first rotation gives it an id.
	ID         []byte
	Generation int64  // of the current token; the first is 0
	Hash       []byte // SHA-256 of the current token
	UserID     int64
	ClientID   string
	CreatedAt  time.Time // the grant that began the family
	IssuedAt   time.Time // the current token
	ExpiresAt  time.Time // the current token's end, the family's too
	RevokedAt  time.Time
	// TokenVersion is the user's token version when the grant began; the
	// family is dead once the user's version moves past it (SPEC §6).
	TokenVersion int64
	// ActorID is the impersonating user when the family began with an
	// impersonation token (0 otherwise); its tokens keep the act claim.
	ActorID int64
	// Legacy is the old family name of a family migrated by migration
	// 18 ("" for a family begun since): the tokens it had rotated away
	// before the migration still find it, for reuse detection.
	Legacy string
}

// RefreshRotation is what a rotation writes into its family: the new
// token's hash, issue and expiry, and the family's ID (the same, except
// when a legacy family rotates for the first time).
type RefreshRotation struct {
	ID        []byte
	Hash      []byte
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// PendingSignIn is the portal form's half-done sign-in: the password
// checked out and a second factor is owed. Only hashes of the step token
// and of the browser binding are kept.
type PendingSignIn struct {
	Hash         []byte
	BrowserHash  []byte
	UserID       int64
	BusinessID   int64
	TokenVersion int64 // the user's token version read before the password check
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Tries        int
	SpentAt      time.Time
}

// PasswordRules say whether an identity provider of any business a user
// has a profile at refuses spaceauth passwords of members, of
// administrators (SPEC §8).
type PasswordRules struct {
	NoMemberPasswords bool
	NoAdminPasswords  bool
}
