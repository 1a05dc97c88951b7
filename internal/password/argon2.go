package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrUnknownFormat is returned for a stored hash in no format this package
// can verify (or with parameters outside the accepted bounds).
var ErrUnknownFormat = errors.New("password: unknown or malformed hash format")

// Params are Argon2id's costs. They are a value handed to NewHasher, never a
// global, so tests can run cheaply while production keeps DefaultParams.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams are the OWASP minimum for Argon2id (SPEC §6).
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
}

// Bounds on parameters read from stored hashes, so that a hostile or
// corrupt hash string cannot make one verification allocate gigabytes.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 64
	maxThreads = 64
	maxKeyLen  = 1024
)

// Hasher hashes with its Params and verifies every supported format.
type Hasher struct {
	p     Params
	dummy string
}

// NewHasher returns a Hasher with params p.
func NewHasher(p Params) *Hasher {
	h := &Hasher{p: p}
	var b [16]byte
	rand.Read(b[:])
	h.dummy, _ = h.Hash(base64.RawStdEncoding.EncodeToString(b[:]))
	return h
}

// Params returns the hasher's costs.
func (h *Hasher) Params() Params { return h.p }

// Hash returns password's Argon2id PHC string with a fresh random salt.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.Memory, h.p.Time, h.p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify checks password against encoded in any supported format. ok is
// the verdict; needsRehash is true when the hash is a legacy format or
// weaker than the hasher's Params. err is only for an unreadable hash.
func (h *Hasher) Verify(password, encoded string) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, salt, key, err := parsePHC(encoded)
		if err != nil {
			return false, false, err
		}
		got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
		ok = subtle.ConstantTimeCompare(got, key) == 1
		weaker := p.Memory < h.p.Memory || p.Time < h.p.Time || uint32(len(key)) < h.p.KeyLen
		return ok, ok && weaker, nil
	case isBcrypt(encoded):
		ok, err := verifyBcrypt(password, encoded)
		return ok, ok, err
	default:
		ok, err := verifyASPNet(password, encoded)
		return ok, ok, err
	}
}

// VerifyDummy does the work of one verification against a hash nobody
// holds, so that an unknown email costs what a known one does.
func (h *Hasher) VerifyDummy(password string) { h.Verify(password, h.dummy) }

// Recognize reports whether encoded is in a format Verify can check,
// without doing the (expensive) verification.
func (h *Hasher) Recognize(encoded string) error {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		_, _, _, err := parsePHC(encoded)
		return err
	case isBcrypt(encoded):
		return checkBcrypt(encoded)
	default:
		_, err := parseASPNet(encoded)
		return err
	}
}

// parsePHC reads $argon2id$v=19$m=..,t=..,p=..$salt$key within bounds.
func parsePHC(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2 version %q", ErrUnknownFormat, parts[2])
	}
	var p Params
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) != parts[3] {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2 parameters %q", ErrUnknownFormat, parts[3])
	}
	if p.Memory < 8 || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || threads < 1 || threads > maxThreads || p.Memory < 8*threads {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2 parameters out of bounds", ErrUnknownFormat)
	}
	p.Threads = uint8(threads)
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2 salt", ErrUnknownFormat)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxKeyLen {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2 key", ErrUnknownFormat)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
