package token

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// RingOptions configure a Ring.
type RingOptions struct {
	Alg string // "EdDSA" (default) or "RS256", for new keys
	// KEK seals new private keys at rest and opens sealed ones; empty keeps
	// new keys unsealed.
	KEK string
	// MaxTokenLife is how long a retired key keeps verifying.
	MaxTokenLife time.Duration
	Clock        func() time.Time
}

type key struct {
	kid     string
	alg     string
	pub     crypto.PublicKey
	priv    crypto.Signer
	created time.Time
	retired time.Time
}

// Ring holds the signing keys. It is safe for concurrent use; the database
// is the source of truth, so every process sharing it sees the same keys.
type Ring struct {
	store    store.Keys
	opts     RingOptions
	aead     cipher.AEAD
	mu       sync.RWMutex
	keys     []key // newest first
	loadedAt time.Time
	missAt   time.Time
}

// How often the signing path re-reads the keys (a rotation by another
// process is picked up within this), and how often an unknown kid may
// trigger a reload.
const (
	reloadEvery = time.Minute
	missEvery   = time.Second
)

// NewRing makes a Ring over ks. Call Load or EnsureKey before use.
func NewRing(ks store.Keys, o RingOptions) *Ring {
	if o.Alg == "" {
		o.Alg = "EdDSA"
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxTokenLife <= 0 {
		o.MaxTokenLife = 7 * 24 * time.Hour
	}
	r := &Ring{store: ks, opts: o}
	if o.KEK != "" {
		r.aead = sealer(o.KEK)
	}
	return r
}

// sealer derives the AES-256-GCM key with HKDF-SHA256 from the secret.
func sealer(kek string) cipher.AEAD {
	k, err := hkdf.Key(sha256.New, []byte(kek), nil, "spaceauth signing-key seal v1", 32)
	if err != nil {
		panic(err) // only for an impossible length
	}
	block, _ := aes.NewCipher(k)
	aead, _ := cipher.NewGCM(block)
	return aead
}

// Load reads every key that still verifies.
func (r *Ring) Load(ctx context.Context) error {
	now := r.opts.Clock()
	stored, err := r.store.SigningKeys(ctx, now.Add(-r.opts.MaxTokenLife))
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

func (r *Ring) open(sk store.SigningKey) (key, error) {
	der := sk.PrivateKey
	if sk.Sealed {
		if r.aead == nil {
			return key{}, fmt.Errorf("token: signing key %s is sealed: give --key-encryption-key", sk.ID)
		}
		ns := r.aead.NonceSize()
		if len(der) < ns {
			return key{}, fmt.Errorf("token: signing key %s: sealed data too short", sk.ID)
		}
		plain, err := r.aead.Open(nil, der[:ns], der[ns:], []byte(sk.ID))
		if err != nil {
			return key{}, fmt.Errorf("token: cannot open signing key %s: wrong --key-encryption-key?", sk.ID)
		}
		der = plain
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return key{}, fmt.Errorf("token: signing key %s: %w", sk.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return key{}, fmt.Errorf("token: signing key %s: not a signer", sk.ID)
	}
	switch signer.(type) {
	case ed25519.PrivateKey:
		if sk.Algorithm != "EdDSA" {
			return key{}, fmt.Errorf("token: signing key %s: algorithm %s does not match an Ed25519 key", sk.ID, sk.Algorithm)
		}
	case *rsa.PrivateKey:
		if sk.Algorithm != "RS256" {
			return key{}, fmt.Errorf("token: signing key %s: algorithm %s does not match an RSA key", sk.ID, sk.Algorithm)
		}
	default:
		return key{}, fmt.Errorf("token: signing key %s: unsupported key type", sk.ID)
	}
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
func (r *Ring) Rotate(ctx context.Context) (string, error) {
	sk, err := r.generate()
	if err != nil {
		return "", err
	}
	if err := r.store.CreateSigningKey(ctx, sk); err != nil {
		return "", fmt.Errorf("token: store key: %w", err)
	}
	if err := r.store.RetireSigningKeys(ctx, sk.ID, sk.CreatedAt); err != nil {
		return "", fmt.Errorf("token: retire keys: %w", err)
	}
	return sk.ID, r.Load(ctx)
}

func (r *Ring) generate() (store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch r.opts.Alg {
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return store.SigningKey{}, fmt.Errorf("token: unsupported algorithm %q", r.opts.Alg)
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: encode key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("token: encode key: %w", err)
	}
	var id [16]byte
	rand.Read(id[:])
	sk := store.SigningKey{ID: base64.RawURLEncoding.EncodeToString(id[:]), Algorithm: r.opts.Alg, PublicKey: pub,
		PrivateKey: der, CreatedAt: r.opts.Clock().UTC()}
	if r.aead != nil {
		nonce := make([]byte, r.aead.NonceSize())
		rand.Read(nonce)
		sk.PrivateKey = r.aead.Seal(nonce, nonce, der, []byte(sk.ID))
		sk.Sealed = true
	}
	return sk, nil
}

// current is the newest unretired key.
func (r *Ring) current() (key, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if k.retired.IsZero() {
			return k, true
		}
	}
	return key{}, false
}

// signer returns the signing key, re-reading the keys when they are stale.
func (r *Ring) signer(ctx context.Context) (key, error) {
	r.mu.RLock()
	stale := r.opts.Clock().Sub(r.loadedAt) > reloadEvery
	r.mu.RUnlock()
	if stale {
		if err := r.Load(ctx); err != nil {
			return key{}, err
		}
	}
	k, ok := r.current()
	if !ok {
		return key{}, errors.New("token: no signing key (run spaceauth keys rotate)")
	}
	return k, nil
}

// verifier finds kid, reloading at most once a second on a miss so that a
// key made by another process is found without letting garbage kids turn
// every request into a database read.
func (r *Ring) verifier(ctx context.Context, kid string) (key, bool) {
	if k, ok := r.lookup(kid); ok {
		return k, true
	}
	now := r.opts.Clock()
	r.mu.Lock()
	if now.Sub(r.missAt) < missEvery {
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

func (r *Ring) lookup(kid string) (key, bool) {
	now := r.opts.Clock()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if k.kid == kid {
			if !k.retired.IsZero() && now.After(k.retired.Add(r.opts.MaxTokenLife)) {
				return key{}, false
			}
			return k, true
		}
	}
	return key{}, false
}
