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

func checkBcrypt(s string) error {
	cost, err := bcrypt.Cost([]byte(s))
	if err != nil || len(s) != 60 {
		return fmt.Errorf("%w: bcrypt", ErrUnknownFormat)
	}
	if cost > 14 {
		return fmt.Errorf("%w: bcrypt cost %d above 14", ErrUnknownFormat, cost)
	}
	return nil
}

func verifyBcrypt(password, encoded string) (bool, error) {
	if err := checkBcrypt(encoded); err != nil {
		return false, err
	}
	// bcrypt reads at most 72 bytes; longer passwords are refused by the
	// library, and no password set through spaceauth can be one.
	if len(password) > 72 {
		return false, nil
	}
	err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: bcrypt: %v", ErrUnknownFormat, err)
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

const maxPBKDF2Iter = 1_000_000

// parseASPNet reads ASP.NET Identity v2 (0x00: PBKDF2-HMAC-SHA1, 1000
// iterations, 16-byte salt, 32-byte subkey) and v3 (0x01: prf, iterations
// and salt length as big-endian uint32, then salt and subkey).
func parseASPNet(s string) (aspnetHash, error) {
	bad := fmt.Errorf("%w: not bcrypt, Argon2id PHC or ASP.NET Identity", ErrUnknownFormat)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) < 1 {
		return aspnetHash{}, bad
	}
	switch b[0] {
	case 0x00:
		if len(b) != 1+16+32 {
			return aspnetHash{}, bad
		}
		return aspnetHash{prf: sha1.New, iter: 1000, salt: b[1:17], subkey: b[17:]}, nil
	case 0x01:
		if len(b) < 13 {
			return aspnetHash{}, bad
		}
		var h aspnetHash
		switch binary.BigEndian.Uint32(b[1:5]) {
		case 0:
			h.prf = sha1.New
		case 1:
			h.prf = sha256.New
		case 2:
			h.prf = sha512.New
		default:
			return aspnetHash{}, bad
		}
		iter := binary.BigEndian.Uint32(b[5:9])
		saltLen := binary.BigEndian.Uint32(b[9:13])
		if iter < 1 || iter > maxPBKDF2Iter || saltLen < 8 || saltLen > 64 || uint64(len(b)) < 13+uint64(saltLen)+16 {
			return aspnetHash{}, bad
		}
		h.iter = int(iter)
		h.salt = b[13 : 13+saltLen]
		h.subkey = b[13+saltLen:]
		if len(h.subkey) > 128 {
			return aspnetHash{}, bad
		}
		return h, nil
	}
	return aspnetHash{}, bad
}

func verifyASPNet(password, encoded string) (bool, error) {
	h, err := parseASPNet(encoded)
	if err != nil {
		return false, err
	}
	got, err := pbkdf2.Key(h.prf, password, h.salt, h.iter, len(h.subkey))
	if err != nil {
		return false, fmt.Errorf("%w: pbkdf2: %v", ErrUnknownFormat, err)
	}
	return subtle.ConstantTimeCompare(got, h.subkey) == 1, nil
}
