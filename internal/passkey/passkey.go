package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// ErrInvalid is a response that does not verify: wrong challenge, origin,
// relying party, signature, an unknown credential, or malformed input.
var ErrInvalid = errors.New("passkey: response invalid")

// RP is one relying party: ID is the tenant host (no port), Origin the one
// exact origin its pages are served from, Name what authenticators show.
type RP struct {
	ID, Origin, Name string
}

// Account is a user as the ceremonies see it: Handle is the WebAuthn user
// handle stored in discoverable credentials; Credentials are the records
// (Verified.Data of earlier ceremonies) registered at this relying party.
type Account struct {
	Handle            []byte
	Name, DisplayName string
	Credentials       [][]byte
	// Records, when set, are the Credentials already parsed (ParseRecord),
	// so that a caller that keeps them need not parse them per ceremony;
	// they are used instead of Credentials.
	Records []*Record
	// SignCounts, when set, are the credentials' current signature
	// counters (kept apart from the records, so that a sign-in need not
	// rewrite the record only to move its counter); they replace the
	// counters inside the records.
	SignCounts []uint32
}

// Record is a parsed credential record. It is never changed once parsed,
// so one Record may serve any number of concurrent ceremonies.
type Record struct {
	c webauthn.Credential
}

// ParseRecord parses a credential record (Verified.Data).
func ParseRecord(data []byte) (*Record, error) {
	r := &Record{}
	if err := json.Unmarshal(data, &r.c); err != nil {
		return nil, fmt.Errorf("passkey: stored credential: %w", err)
	}
	return r, nil
}

// Verified is a checked ceremony: the credential id and its record (the
// public key, flags and signature counter) to keep.
type Verified struct {
	CredentialID []byte
	Data         []byte
	SignCount    uint32
	// RecordChanged (FinishLogin only): the record differs from the stored
	// one in more than its counter (the authenticator's flags moved), so
	// Data must be kept; otherwise Data is nil.
	RecordChanged bool
	// CloneWarning: the authenticator's counter did not increase, so two
	// copies of the private key may exist.
	CloneWarning bool
}

// Verifier runs ceremonies; it caches one configured verifier per relying
// party. It is safe for concurrent use.
type Verifier struct {
	timeout time.Duration
	mu      sync.Mutex
	rps     map[RP]*webauthn.WebAuthn
}

// NewVerifier returns a Verifier whose ceremonies last timeout.
func NewVerifier(timeout time.Duration) *Verifier {
	return &Verifier{timeout: timeout, rps: map[RP]*webauthn.WebAuthn{}}
}

// Timeout is how long a ceremony may take.
func (v *Verifier) Timeout() time.Duration { return v.timeout }

func (v *Verifier) rp(rp RP) (*webauthn.WebAuthn, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if w, ok := v.rps[rp]; ok {
		return w, nil
	}
	to := webauthn.TimeoutConfig{Enforce: true, Timeout: v.timeout, TimeoutUVD: v.timeout}
	w, err := webauthn.New(&webauthn.Config{
		RPID: rp.ID, RPDisplayName: rp.Name, RPOrigins: []string{rp.Origin},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts:              webauthn.TimeoutsConfig{Login: to, Registration: to},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: relying party %s: %w", rp.ID, err)
	}
	if len(v.rps) > 10000 { // hosts are tenants, but do not grow without bound
		clear(v.rps)
	}
	v.rps[rp] = w
	return w, nil
}

type user struct {
	a     Account
	creds []webauthn.Credential
}

func (u user) WebAuthnID() []byte                         { return u.a.Handle }
func (u user) WebAuthnName() string                       { return u.a.Name }
func (u user) WebAuthnDisplayName() string                { return u.a.DisplayName }
func (u user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func newUser(a Account) (user, error) {
	u := user{a: a}
	recs := a.Records
	if recs == nil {
		for _, d := range a.Credentials {
			r, err := ParseRecord(d)
			if err != nil {
				return user{}, err
			}
			recs = append(recs, r)
		}
	}
	for _, r := range recs {
		// A copy: the ceremony moves its counter and flags, the Record
		// stays as parsed (the byte slices are shared but only read).
		c := r.c
		if i := len(u.creds); i < len(a.SignCounts) {
			c.Authenticator.SignCount = a.SignCounts[i]
		}
		u.creds = append(u.creds, c)
	}
	return u, nil
}

// BeginRegistration makes the creation options for a new discoverable
// credential of a (JSON, as navigator.credentials.create wants it under
// "publicKey") and the session record to keep until FinishRegistration.
func (v *Verifier) BeginRegistration(rp RP, a Account) (options, session []byte, err error) {
	w, err := v.rp(rp)
	if err != nil {
		return nil, nil, err
	}
	u, err := newUser(a)
	if err != nil {
		return nil, nil, err
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(u.creds))
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := w.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired}),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return marshalPair(creation, sd)
}

// FinishRegistration verifies an attestation response (the JSON of a
// PublicKeyCredential) against session.
func (v *Verifier) FinishRegistration(rp RP, a Account, session, response []byte) (Verified, error) {
	w, sd, err := v.resume(rp, session)
	if err != nil {
		return Verified{}, err
	}
	u, err := newUser(a)
	if err != nil {
		return Verified{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	cred, err := w.CreateCredential(u, sd, parsed)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return verified(cred)
}

// resume opens the second half of a ceremony: rp's relying party and the
// session record its first half stored.
func (v *Verifier) resume(rp RP, session []byte) (*webauthn.WebAuthn, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	w, err := v.rp(rp)
	if err != nil {
		return nil, sd, err
	}
	if err := json.Unmarshal(session, &sd); err != nil {
		return nil, sd, fmt.Errorf("passkey: session record: %w", err)
	}
	return w, sd, nil
}

// BeginLogin makes request options for a discoverable sign-in (no user
// named; any passkey of this relying party may answer).
func (v *Verifier) BeginLogin(rp RP) (options, session []byte, err error) {
	w, err := v.rp(rp)
	if err != nil {
		return nil, nil, err
	}
	assertion, sd, err := w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	return marshalPair(assertion, sd)
}

// Lookup finds the account that owns credentialID and whose handle is
// userHandle, with that credential's record among its Credentials.
type Lookup func(credentialID, userHandle []byte) (Account, error)

// FinishLogin verifies an assertion response against session. An error
// from lookup is returned as it is (wrapped), so that storage failures stay
// storage failures; every verification failure is ErrInvalid.
func (v *Verifier) FinishLogin(rp RP, session, response []byte, lookup Lookup) (Verified, error) {
	w, sd, err := v.resume(rp, session)
	if err != nil {
		return Verified{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var (
		lookupErr error
		owner     user
	)
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		a, err := lookup(rawID, userHandle)
		if err != nil {
			lookupErr = err
			return nil, err
		}
		owner, err = newUser(a)
		return owner, err
	}
	cred, err := w.ValidateDiscoverableLogin(handler, sd, parsed)
	if lookupErr != nil {
		return Verified{}, fmt.Errorf("passkey: credential lookup: %w", lookupErr)
	}
	if err != nil {
		return Verified{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// Only the counter and the flags move in a login; a record whose flags
	// stayed need not be marshalled and written again.
	for _, c := range owner.creds {
		if bytes.Equal(c.ID, cred.ID) && sameFlags(c.Flags, cred.Flags) {
			return Verified{CredentialID: cred.ID, SignCount: cred.Authenticator.SignCount, CloneWarning: cred.Authenticator.CloneWarning}, nil
		}
	}
	out, err := verified(cred)
	out.RecordChanged = true
	return out, err
}

// sameFlags compares the flags a record keeps (the exported ones; the raw
// byte of the last ceremony is not marshalled).
func sameFlags(a, b webauthn.CredentialFlags) bool {
	return a.UserPresent == b.UserPresent && a.UserVerified == b.UserVerified &&
		a.BackupEligible == b.BackupEligible && a.BackupState == b.BackupState
}

func verified(c *webauthn.Credential) (Verified, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return Verified{}, fmt.Errorf("passkey: credential record: %w", err)
	}
	return Verified{CredentialID: c.ID, Data: data, SignCount: c.Authenticator.SignCount, CloneWarning: c.Authenticator.CloneWarning}, nil
}

func marshalPair(options, session any) ([]byte, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: options: %w", err)
	}
	s, err := json.Marshal(session)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: session record: %w", err)
	}
	return o, s, nil
}
