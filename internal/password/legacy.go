package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// maxBcryptCost bounds the work a stored bcrypt hash can ask for: cost 14
// is about a second per verification, above what any web system uses.
const maxBcryptCost = 14

// bcryptAlphabet is bcrypt's own base64 alphabet, for salt and hash.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func checkBcrypt(s string) error {
	if len(s) != 60 {
		return fmt.Errorf("%w: bcrypt: length %d, want 60", ErrMalformedHash, len(s))
	}
	cost, err := bcrypt.Cost([]byte(s))
	if err != nil {
		return fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
	// The library decodes the salt only when it verifies; checking the
	// alphabet here makes Recognize and Verify agree on what is readable.
	if s[6] != '$' || strings.TrimLeft(s[7:], bcryptAlphabet) != "" {
		return fmt.Errorf("%w: bcrypt: not in bcrypt's base64 alphabet", ErrMalformedHash)
	}
	if cost > maxBcryptCost {
		return fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
	}
	return nil
}

func verifyBcrypt(password, encoded string) (bool, error) {
	if err := checkBcrypt(encoded); err != nil {
		return false, err
	}
	// bcrypt only ever keyed on the first 72 bytes, so the system that
	// wrote this hash accepted a long password by its prefix; doing the same
	// lets such users in (and upgrades them to Argon2id over the whole
	// password) instead of locking them out.
	if len(password) > 72 {
		password = password[:72]
	}
	err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
	return true, nil
}

// aspnetHash is a decoded ASP.NET Identity password hash.
type aspnetHash struct {
	prf    func() hash.Hash
	iter   int
	salt   []byte
	subkey []byte
}

// Bounds on ASP.NET Identity v3 hashes, for the same reason as the Argon2
// bounds: a hostile hash must not buy unbounded CPU. ASP.NET's own defaults
// are 10,000 (Identity 2.x/3.x) and 100,000 (.NET 7 and later) iterations.
const (
	maxPBKDF2Iter = 1_000_000
	minSubkeyLen  = 16
	maxSubkeyLen  = 128
)

// parseASPNet reads ASP.NET Identity v2 (0x00: PBKDF2-HMAC-SHA1, 1000
// iterations, 16-byte salt, 32-byte subkey) and v3 (0x01: prf, iterations
// and salt length as big-endian uint32, then salt and subkey).
func parseASPNet(s string) (aspnetHash, error) {
	unknown := fmt.Errorf("%w: not Argon2id PHC, bcrypt or ASP.NET Identity", ErrUnknownFormat)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) < 1 {
		return aspnetHash{}, unknown
	}
	switch b[0] {
	case 0x00:
		if len(b) != 1+16+32 {
			return aspnetHash{}, fmt.Errorf("%w: ASP.NET Identity v2: %d bytes, want 49", ErrMalformedHash, len(b))
		}
		return aspnetHash{prf: sha1.New, iter: 1000, salt: b[1:17], subkey: b[17:]}, nil
	case 0x01:
		if len(b) < 13 {
			return aspnetHash{}, fmt.Errorf("%w: ASP.NET Identity v3: header too short", ErrMalformedHash)
		}
		var h aspnetHash
		switch prf := binary.BigEndian.Uint32(b[1:5]); prf {
		case 0:
			h.prf = sha1.New
		case 1:
			h.prf = sha256.New
		case 2:
			h.prf = sha512.New
		default:
			return aspnetHash{}, fmt.Errorf("%w: ASP.NET Identity v3: unknown PRF %d", ErrMalformedHash, prf)
		}
		iter := binary.BigEndian.Uint32(b[5:9])
		saltLen := binary.BigEndian.Uint32(b[9:13])
		if iter < 1 || iter > maxPBKDF2Iter {
			return aspnetHash{}, fmt.Errorf("%w: ASP.NET Identity v3: %d iterations outside 1..%d", ErrMalformedHash, iter, maxPBKDF2Iter)
		}
		// Compare in 64 bits: saltLen comes from the input and 13+saltLen
		// must not wrap around.
		subkeyLen := int64(len(b)) - 13 - int64(saltLen)
		if saltLen < minSaltLen || saltLen > maxSaltLen || subkeyLen < minSubkeyLen || subkeyLen > maxSubkeyLen {
			return aspnetHash{}, fmt.Errorf("%w: ASP.NET Identity v3: salt or subkey length out of bounds", ErrMalformedHash)
		}
		h.iter = int(iter)
		h.salt = b[13 : 13+saltLen]
		h.subkey = b[13+saltLen:]
		return h, nil
	}
	return aspnetHash{}, unknown
}

func verifyASPNet(password, encoded string) (bool, error) {
	h, err := parseASPNet(encoded)
	if err != nil {
		return false, err
	}
	got, err := pbkdf2.Key(h.prf, password, h.salt, h.iter, len(h.subkey))
	if err != nil {
		return false, fmt.Errorf("%w: ASP.NET Identity pbkdf2: %v", ErrMalformedHash, err)
	}
	return subtle.ConstantTimeCompare(got, h.subkey) == 1, nil
}
