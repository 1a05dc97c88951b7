package token

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// Algorithms a Ring can make keys for.
const (
	AlgEdDSA = "EdDSA"
	AlgRS256 = "RS256"
)

// RingOptions configure a Ring.
type RingOptions struct {
	// Alg is the algorithm of new keys: AlgEdDSA (default) or AlgRS256.
	// Existing keys keep their own algorithm.
	Alg string
	// KEK seals new private keys at rest and opens sealed ones; empty keeps
	// new keys unsealed (and cannot open sealed ones).
	KEK string
	// MaxTokenLife is how long a retired key keeps verifying: the longest
	// validity any token is issued with. Default 7 days.
	MaxTokenLife time.Duration
	// Clock is the time source; nil means time.Now.
	Clock func() time.Time
}

// key is one opened signing key.
type key struct {
	kid     string
	alg     string
	pub     crypto.PublicKey
	priv    crypto.Signer
	created time.Time
	retired time.Time
}

// Ring holds the signing keys. It is safe for concurrent use. The database
// is the source of truth, so every process sharing it converges on the same
// keys: the signing path re-reads them every reloadEvery, and a token with
// an unknown kid triggers a (rate-limited) re-read.
type Ring struct {
	store store.Keys
	opts  RingOptions
	seal  *sealer // nil without a KEK

	// loadMu serialises reads of the store, so that a slow, older read
	// cannot overwrite a newer one, and lets the signing path skip a reload
	// another goroutine is already doing.
	loadMu sync.Mutex

	mu       sync.RWMutex
	keys     []key // newest first
	loadedAt time.Time
	missAt   time.Time // last reload caused by an unknown kid
}

const (
	// reloadEvery is how stale the signing path lets its keys get: a
	// rotation by another process is picked up within this. Retired keys
	// verify this much longer than MaxTokenLife, because a process that has
	// not yet noticed a rotation keeps signing with the old key.
	reloadEvery = time.Minute
	// missEvery is how often an unknown kid may cost a database read, so
	// that garbage kids cannot turn every request into a query.
	missEvery = time.Second
)

// NewRing makes a Ring over ks. Call Load or EnsureKey before use.
func NewRing(ks store.Keys, o RingOptions) *Ring {
	if o.Alg == "" {
		o.Alg = AlgEdDSA
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxTokenLife <= 0 {
		o.MaxTokenLife = 7 * 24 * time.Hour
	}
	r := &Ring{store: ks, opts: o}
	if o.KEK != "" {
		r.seal = newSealer(o.KEK)
	}
	return r
}

// verifyWindow is how long after its retirement a key still verifies.
func (r *Ring) verifyWindow() time.Duration { return r.opts.MaxTokenLife + reloadEvery }

// Load reads every key that still verifies. A key that cannot be opened
// (sealed without a KEK, wrong KEK, corrupt) fails the whole load: serving
// with a partial ring would refuse valid tokens with no hint why.
func (r *Ring) Load(ctx context.Context) error {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	return r.load(ctx)
}

// load is Load with loadMu held.
func (r *Ring) load(ctx context.Context) error {
	now := r.opts.Clock()
	stored, err := r.store.SigningKeys(ctx, now.Add(-r.verifyWindow()))
	if err != nil {
		return fmt.Errorf("token: load keys: %w", err)
	}
	keys := make([]key, 0, len(stored))
	for _, sk := range stored {
		k, err := r.open(sk)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	r.mu.Lock()
	r.keys, r.loadedAt = keys, now
	r.mu.Unlock()
	return nil
}

// open unseals and parses one stored key, checking that its algorithm
// label matches the key type: the label decides which algorithm tokens of
// this kid must use.
func (r *Ring) open(sk store.SigningKey) (key, error) {
	der := sk.PrivateKey
	if sk.Sealed {
		if r.seal == nil {
			return key{}, fmt.Errorf("token: signing key %s is sealed: a key-encryption key is needed (--key-encryption-key)", sk.ID)
		}
		plain, err := r.seal.open(der, sk.ID)
		if err != nil {
			return key{}, fmt.Errorf("token: signing key %s: %w", sk.ID, err)
		}
		der = plain
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return key{}, fmt.Errorf("token: signing key %s: parse private key: %w", sk.ID, err)
	}
	var want string
	switch p := priv.(type) {
	case ed25519.PrivateKey:
		want = AlgEdDSA
	case *rsa.PrivateKey:
		want = AlgRS256
		if p.N.BitLen() < 2048 {
			return key{}, fmt.Errorf("token: signing key %s: RSA key of %d bits, below 2048", sk.ID, p.N.BitLen())
		}
	default:
		return key{}, fmt.Errorf("token: signing key %s: unsupported key type %T", sk.ID, priv)
	}
	if sk.Algorithm != want {
		return key{}, fmt.Errorf("token: signing key %s: algorithm %q does not match its %s key", sk.ID, sk.Algorithm, want)
	}
	signer := priv.(crypto.Signer) // both cases above are Signers
	return key{kid: sk.ID, alg: sk.Algorithm, pub: signer.Public(), priv: signer, created: sk.CreatedAt, retired: sk.RetiredAt}, nil
}

// EnsureKey loads the keys and creates the first one when none signs.
func (r *Ring) EnsureKey(ctx context.Context) error {
	if err := r.Load(ctx); err != nil {
		return err
	}
	if _, ok := r.current(); ok {
		return nil
	}
	_, err := r.Rotate(ctx)
	return err
}

// Rotate creates a new signing key and retires the others, which keep
// verifying for MaxTokenLife. It returns the new kid.
//
// The others are retired before the new key is written, not after: when
// two processes rotate at once (several servers starting on an empty
// database), retiring afterwards could let each retire the other's new key
// and leave none signing. In this order the key written last is never
// retired. The moment with no unretired key is covered by current, which
// keeps signing with a key retired less than reloadEvery ago.
func (r *Ring) Rotate(ctx context.Context) (string, error) {
	if err := r.ProveKEK(ctx); err != nil {
		return "", err
	}
	sk, err := r.generate()
	if err != nil {
		return "", err
	}
	if err := r.store.RetireSigningKeys(ctx, sk.ID, sk.CreatedAt); err != nil {
		return "", fmt.Errorf("token: retire keys: %w", err)
	}
	if err := r.store.CreateSigningKey(ctx, sk); err != nil {
		return "", fmt.Errorf("token: store new key: %w", err)
	}
	if err := r.Load(ctx); err != nil {
		return "", err
	}
	return sk.ID, nil
}

// ProveKEK checks, without changing anything, that this ring's
// key-encryption key opens the stored keys: every key that still verifies
// and the newest sealed key ever stored (which names the KEK in use even
// when it has expired). A rotation runs it first, so that a wrong or
// missing KEK fails before a key that no correctly configured process can
// open is written (issue #18.5). With no sealed key stored, any KEK (or
// none) is accepted: the first sealed key sets it.
func (r *Ring) ProveKEK(ctx context.Context) error {
	stored, err := r.store.SigningKeys(ctx, time.Time{})
	if err != nil {
		return fmt.Errorf("token: load keys: %w", err)
	}
	cutoff := r.opts.Clock().Add(-r.verifyWindow())
	newestSealed := -1
	for i, sk := range stored {
		if sk.Sealed && (newestSealed < 0 || sk.CreatedAt.After(stored[newestSealed].CreatedAt)) {
			newestSealed = i
		}
	}
	for i, sk := range stored {
		if i != newestSealed && !sk.RetiredAt.IsZero() && sk.RetiredAt.Before(cutoff) {
			continue
		}
		if _, err := r.open(sk); err != nil {
			return err
		}
	}
	return nil
}

// generate makes a key of the configured algorithm, sealed when a KEK is
// set. The kid is 16 random bytes: it names the key and reveals nothing.
func (r *Ring) generate() (store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch r.opts.Alg {
	case AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return store.SigningKey{}, fmt.Errorf("token: unsupported signing algorithm %q (want %s or %s)", r.opts.Alg, AlgEdDSA, AlgRS256)
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: generate %s key: %w", r.opts.Alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: encode private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: encode public key: %w", err)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return store.SigningKey{}, fmt.Errorf("token: kid: %w", err)
	}
	sk := store.SigningKey{ID: base64.RawURLEncoding.EncodeToString(id[:]), Algorithm: r.opts.Alg, PublicKey: pub,
		PrivateKey: der, CreatedAt: r.opts.Clock().UTC()}
	if r.seal != nil {
		if sk.PrivateKey, err = r.seal.seal(der, sk.ID); err != nil {
			return store.SigningKey{}, fmt.Errorf("token: signing key %s: %w", sk.ID, err)
		}
		sk.Sealed = true
	}
	return sk, nil
}

// current is the signing key: the newest unretired key or, in the moment
// between a rotation's retire and its create (see Rotate), the newest key
// retired less than reloadEvery ago.
func (r *Ring) current() (key, bool) {
	now := r.opts.Clock()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if k.retired.IsZero() {
			return k, true
		}
	}
	for _, k := range r.keys {
		if now.Sub(k.retired) < reloadEvery {
			return k, true
		}
	}
	return key{}, false
}

// errNoKey means the store holds no key that may sign.
var errNoKey = errors.New("token: no signing key (run spaceauth keys rotate)")

// signer returns the signing key, re-reading the keys when they are stale.
// Only one goroutine reloads; the others sign with the keys they have
// rather than queue behind it. A failed reload falls back on the cached key
// (the next call retries), since a key a minute stale still verifies.
func (r *Ring) signer(ctx context.Context) (key, error) {
	r.mu.RLock()
	stale := r.opts.Clock().Sub(r.loadedAt) > reloadEvery
	r.mu.RUnlock()
	var loadErr error
	if stale && r.loadMu.TryLock() {
		loadErr = r.load(ctx)
		r.loadMu.Unlock()
	}
	k, ok := r.current()
	switch {
	case ok:
		return k, nil
	case loadErr != nil:
		return key{}, loadErr
	}
	return key{}, errNoKey
}

// verifier finds kid. A miss reloads at most once per missEvery, so that a
// key made by another process is found quickly without letting garbage
// kids turn every request into a database read; a key rotated in within a
// second of such a garbage lookup is found on the next try.
func (r *Ring) verifier(ctx context.Context, kid string) (key, bool) {
	if k, ok := r.lookup(kid); ok {
		return k, true
	}
	now := r.opts.Clock()
	r.mu.Lock()
	// A clock that went backwards must not block reloads until it catches up.
	if d := now.Sub(r.missAt); d >= 0 && d < missEvery {
		r.mu.Unlock()
		return key{}, false
	}
	r.missAt = now
	r.mu.Unlock()
	if err := r.Load(ctx); err != nil {
		return key{}, false
	}
	return r.lookup(kid)
}

// lookup finds kid among the loaded keys that still verify.
func (r *Ring) lookup(kid string) (key, bool) {
	now := r.opts.Clock()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if k.kid == kid {
			return k, r.verifies(k, now)
		}
	}
	return key{}, false
}

// verifies reports whether k may still verify tokens at now.
func (r *Ring) verifies(k key, now time.Time) bool {
	return k.retired.IsZero() || now.Before(k.retired.Add(r.verifyWindow()))
}
