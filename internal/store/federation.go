package store

import (
	"context"
	"time"
)

// Federation stores identity providers per business, the links between a
// provider's subjects and users, and the server-side state of OpenID Connect
// flows in progress (SPEC §8).
type Federation interface {
	// CreateProvider inserts p (its business must exist) and sets p.ID.
	CreateProvider(ctx context.Context, p *Provider) error
	ProviderByID(ctx context.Context, id int64) (Provider, error)
	// ListProviders lists the providers of businessID (every business when
	// 0), oldest first.
	ListProviders(ctx context.Context, businessID int64) ([]Provider, error)
	// DeleteProvider removes the provider with its links and flows.
	DeleteProvider(ctx context.Context, id int64) error

	// LinkIdentity stores a new link; ErrConflict when the subject is
	// already linked.
	LinkIdentity(ctx context.Context, l FederatedIdentity) error
	// IdentityBySubject returns the link of subject at provider providerID.
	IdentityBySubject(ctx context.Context, providerID int64, subject string) (FederatedIdentity, error)
	TouchIdentity(ctx context.Context, providerID int64, subject string, at time.Time) error
	// UserIdentities lists the user's links, oldest first.
	UserIdentities(ctx context.Context, userID int64) ([]FederatedIdentity, error)

	// CreateOIDCFlow stores f and drops the flows that expired before
	// f.CreatedAt.
	CreateOIDCFlow(ctx context.Context, f OIDCFlow) error
	// SpendOIDCFlow marks the flow whose state hashes to stateHash used and
	// returns it as it was; it reports false (and the zero flow) when no
	// such flow exists or it was already spent, however many race.
	// Expiry and binding are the caller's checks.
	SpendOIDCFlow(ctx context.Context, stateHash []byte, at time.Time) (OIDCFlow, bool, error)

	// MarkSessionProvider records that session sessionID was opened through
	// provider providerID (for its logout URL).
	MarkSessionProvider(ctx context.Context, sessionID, providerID int64) error
	// SessionProvider returns the provider a session was opened through;
	// ErrNotFound when it was not federated.
	SessionProvider(ctx context.Context, sessionID int64) (Provider, error)
}

// Provider kinds.
const (
	ProviderOIDC = "oidc"
	ProviderLDAP = "ldap"
)

// Provider is an identity provider of one business. Secret is the OIDC
// client secret or the LDAP service bind password, sealed with the
// key-encryption key when Sealed.
type Provider struct {
	ID         int64
	BusinessID int64
	Kind       string // ProviderOIDC or ProviderLDAP
	Name       string
	// OpenID Connect
	Issuer    string
	ClientID  string
	LogoutURL string
	// LDAP
	LDAPURL        string
	StartTLS       bool
	BindDNTemplate string
	SearchBase     string
	SearchFilter   string
	BindDN         string

	Secret []byte
	Sealed bool
	// The business's options, as Nexudus has them per integration.
	CreateUsers       bool
	NoMemberPasswords bool
	NoAdminPasswords  bool
	CreatedAt         time.Time
}

// FederatedIdentity links a provider's subject to a user.
type FederatedIdentity struct {
	ProviderID int64
	Subject    string
	UserID     int64
	Email      string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// OIDCFlow is one authorization code flow in progress. The state and the
// browser binding are kept as hashes.
type OIDCFlow struct {
	StateHash   []byte
	ProviderID  int64
	BindingHash []byte
	Nonce       string
	Verifier    string // PKCE code verifier
	RedirectURL string
	Language    string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	SpentAt     time.Time
}
