package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealInfo binds the derived key to this one use, so the same secret used
// elsewhere (or for a later format) yields an unrelated key.
const sealInfo = "spaceauth signing-key seal v1"

// sealer encrypts private keys at rest with AES-256-GCM under a key derived
// from the configured key-encryption secret with HKDF-SHA256 (no salt: the
// secret is configuration, not a password, and each key gets a fresh
// random nonce). The kid is the additional data, so a sealed blob moved to
// another key's row does not open. Stored form: nonce || ciphertext+tag.
type sealer struct {
	key []byte // 32 bytes
}

func newSealer(secret string) *sealer { return newSealerFor(secret, sealInfo) }

// newSealerFor derives the key for one use (info), so that secrets of
// different kinds are sealed under unrelated keys.
func newSealerFor(secret, info string) *sealer {
	// HKDF of 32 bytes cannot fail (the limit is 255×32); were it to, the
	// nil key would make every seal and open report an error, not panic.
	k, _ := hkdf.Key(sha256.New, []byte(secret), nil, info, 32)
	return &sealer{key: k}
}

// SecretSealer seals short text secrets (TOTP secrets) at rest with the
// same construction as signing keys, under a key derived for this use
// from the key-encryption key (SPEC §6 "Secrets at rest").
type SecretSealer struct{ s *sealer }

// sealedPrefix marks a sealed value; a value without it was stored before
// sealing (or without a key-encryption key) and is read as is.
const sealedPrefix = "sealed:v1:"

// NewSecretSealer returns a sealer for kek; nil when kek is empty, which
// leaves secrets as they are.
func NewSecretSealer(kek string) *SecretSealer {
	if kek == "" {
		return nil
	}
	return &SecretSealer{s: newSealerFor(kek, "spaceauth totp-secret seal v1")}
}

// Seal encrypts plain, bound to aad (the owner, so a sealed value copied to
// another row does not open). A nil sealer returns plain.
func (ss *SecretSealer) Seal(plain, aad string) (string, error) {
	if ss == nil || plain == "" {
		return plain, nil
	}
	b, err := ss.s.seal([]byte(plain), aad)
	if err != nil {
		return "", err
	}
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(b), nil
}

// Open reverses Seal. A value without the sealed prefix is returned as it
// is; a sealed value without a sealer, or that does not open, is an error.
func (ss *SecretSealer) Open(stored, aad string) (string, error) {
	rest, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored, nil
	}
	if ss == nil {
		return "", errors.New("seal: a sealed secret needs the key-encryption key (--key-encryption-key)")
	}
	b, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	plain, err := ss.s.open(b, aad)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

func (s *sealer) aead() (cipher.AEAD, error) {
	if len(s.key) != 32 {
		return nil, errors.New("seal: no key derived from the key-encryption key")
	}
	block, err := aes.NewCipher(s.key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return g, nil
}

// seal encrypts plain for kid.
func (s *sealer) seal(plain []byte, kid string) ([]byte, error) {
	g, err := s.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(plain)+g.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return g.Seal(nonce, nonce, plain, []byte(kid)), nil
}

// open decrypts what seal made for kid.
func (s *sealer) open(sealed []byte, kid string) ([]byte, error) {
	g, err := s.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < g.NonceSize()+g.Overhead() {
		return nil, errors.New("sealed private key is truncated")
	}
	ns := g.NonceSize()
	plain, err := g.Open(nil, sealed[:ns], sealed[ns:], []byte(kid))
	if err != nil {
		return nil, errors.New("cannot open the sealed private key: wrong key-encryption key (--key-encryption-key)?")
	}
	return plain, nil
}
