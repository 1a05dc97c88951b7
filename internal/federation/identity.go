package federation

import "errors"

// Identity is what a provider asserts about the person who signed in.
type Identity struct {
	// Subject is the provider's stable identifier of the person (OIDC sub,
	// the LDAP entry's entryUUID or DN).
	Subject string
	Email   string
	// EmailVerified is true only when the provider says it checked the
	// address (OIDC email_verified; an LDAP directory is the operator's own
	// and counts as verified).
	EmailVerified bool
	Name          string
}

var (
	// ErrInvalidCredentials means the provider refused the person: a wrong
	// LDAP password or an unknown LDAP user.
	ErrInvalidCredentials = errors.New("federation: invalid credentials")
	// ErrInvalidToken means an ID token or a code exchange failed a check
	// (signature, issuer, audience, expiry, nonce) or the provider refused
	// the code.
	ErrInvalidToken = errors.New("federation: invalid ID token")
)
