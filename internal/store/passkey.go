package store

import (
	"context"
	"time"
)

// Passkeys stores WebAuthn credentials (SPEC §9) and the one-time
// challenges of their ceremonies.
type Passkeys interface {
	// CreatePasskey inserts p and sets p.ID; ErrConflict when the
	// credential id is already registered for p.RPID.
	CreatePasskey(ctx context.Context, p *Passkey) error
	// PasskeyByCredentialID finds a credential of relying party rpID.
	PasskeyByCredentialID(ctx context.Context, rpID string, credentialID []byte) (Passkey, error)
	// UserPasskeys lists the user's credentials, oldest first; rpID ""
	// lists those of every relying party.
	UserPasskeys(ctx context.Context, userID int64, rpID string) ([]Passkey, error)
	// UsePasskey records an accepted assertion: the new signature counter
	// and, when data is not nil, the credential record. The stored counter
	// is the judge, whatever counter the caller verified against (it may
	// have read it from a cache): the row moves only when its counter is
	// below toCount, or when both are 0 (an authenticator without a
	// counter). It reports false, changing nothing, otherwise: a counter
	// that did not move forward (a clone, or a concurrent use of the same
	// counter) or a passkey that is gone.
	UsePasskey(ctx context.Context, id int64, toCount int64, data []byte, at time.Time) (bool, error)
	// PasskeySignCount reads a passkey's stored counter (ErrNotFound when
	// it is gone), for a sign-in that writes nothing but must still check
	// the counter in its transaction.
	PasskeySignCount(ctx context.Context, id int64) (int64, error)
	// RenamePasskey and DeletePasskey act on the user's own credential
	// only; ErrNotFound otherwise.
	RenamePasskey(ctx context.Context, userID, id int64, name string) error
	DeletePasskey(ctx context.Context, userID, id int64) error
	// CreateWebAuthnChallenge stores a ceremony's challenge under the hash
	// of its handle.
	CreateWebAuthnChallenge(ctx context.Context, c WebAuthnChallenge) error
	// WebAuthnChallengeByHash reads a challenge without spending it.
	WebAuthnChallengeByHash(ctx context.Context, hash []byte) (WebAuthnChallenge, error)
	// TakeWebAuthnChallenge removes and returns the challenge: of any number
	// of concurrent takers exactly one gets it, the others ErrNotFound.
	// Expiry is the caller's check.
	TakeWebAuthnChallenge(ctx context.Context, hash []byte) (WebAuthnChallenge, error)
	// DeleteExpiredWebAuthnChallenges removes challenges expired before t.
	DeleteExpiredWebAuthnChallenges(ctx context.Context, t time.Time) error
}

// Passkey is one WebAuthn credential of a user at one relying party (a
// tenant host). Data is the verifier's credential record (public key,
// flags, counter), opaque to the store.
type Passkey struct {
	ID           int64
	UserID       int64
	RPID         string
	CredentialID []byte
	Name         string
	Data         []byte
	SignCount    int64
	CreatedAt    time.Time
	LastUsedAt   time.Time
}

// WebAuthnChallenge is a pending ceremony: Kind "register" or "login", for
// UserID (0 for a discoverable login) at BusinessID and relying party RPID.
// Data is the verifier's session record. Only a hash of the handle that
// names it (held by the browser or app that began it) is kept.
type WebAuthnChallenge struct {
	Hash       []byte
	Kind       string
	UserID     int64
	BusinessID int64
	RPID       string
	Data       []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
}
