package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// A refresh token (SPEC §5.1) is base64url of a format byte, its family's
// 16-byte random id, its generation (8 bytes, big-endian) and 32 random
// bytes. The family's row keeps SHA-256 of the id and of the current token
// only (SPEC §4), so one row serves a family however often it rotates, and
// a token of an earlier generation is known as a reuse without a row of its
// own (docs/architecture.md, "Refresh-token families").
const (
	refreshFormat    = 1
	refreshFamilyLen = 16
	refreshTokenLen  = 1 + refreshFamilyLen + 8 + 32
)

// refreshRef is what a presented refresh token says of itself.
type refreshRef struct {
	fid  []byte // the family id; nil for a legacy token
	id   []byte // the family's key: SHA-256 of fid (legacy: of the token)
	gen  int64
	hash []byte // SHA-256 of the token
	// legacy: not in the format, so possibly a token issued before
	// families had rows of their own (migration 18): a migrated family is
	// keyed by its token's hash until its first rotation.
	legacy bool
}

func parseRefresh(raw string) refreshRef {
	hash := secretHash(raw)
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != refreshTokenLen || b[0] != refreshFormat {
		return refreshRef{id: hash, hash: hash, legacy: true}
	}
	gen := binary.BigEndian.Uint64(b[1+refreshFamilyLen:])
	if gen > math.MaxInt64 { // never issued: looked up as what it is, unknown
		return refreshRef{id: hash, hash: hash, legacy: true}
	}
	fid := b[1 : 1+refreshFamilyLen]
	return refreshRef{fid: fid, id: familyKey(fid), gen: int64(gen), hash: hash}
}

// familyKey is the stored key of family id fid. A plain SHA-256 suffices:
// fid is 128 random bits.
func familyKey(fid []byte) []byte {
	h := sha256.Sum256(fid)
	return h[:]
}

func newFamilyID() ([]byte, error) {
	fid := make([]byte, refreshFamilyLen)
	if _, err := rand.Read(fid); err != nil {
		return nil, fmt.Errorf("random: %w", err)
	}
	return fid, nil
}

// newRefreshToken returns a new token of family fid at generation gen.
func newRefreshToken(fid []byte, gen int64) (raw string, hash []byte, err error) {
	b := make([]byte, refreshTokenLen)
	b[0] = refreshFormat
	copy(b[1:], fid)
	binary.BigEndian.PutUint64(b[1+refreshFamilyLen:], uint64(gen))
	if _, err := rand.Read(b[1+refreshFamilyLen+8:]); err != nil {
		return "", nil, fmt.Errorf("random: %w", err)
	}
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, secretHash(raw), nil
}

// refreshStanding is where a presented token stands in its family.
type refreshStanding int

const (
	// refreshUnknown: not ours, forged, of a family revoked, expired or
	// pruned: invalid_grant, and nothing to revoke.
	refreshUnknown refreshStanding = iota
	// refreshCurrent: the live family's current token.
	refreshCurrent
	// refreshRotated: an earlier generation of a live family: a reuse.
	refreshRotated
)

// findRefresh looks up raw's family and where raw stands in it. Knowing
// the family id proves having held one of its tokens (it is 128 random
// bits found only in them), so an earlier generation is a reuse; a current
// generation needs the token's own hash, compared in constant time, and
// anything else (a generation never issued, a wrong secret) is forged.
func (s *Service) findRefresh(ctx context.Context, raw string, now time.Time) (store.RefreshFamily, refreshRef, refreshStanding, error) {
	ref := parseRefresh(raw)
	f, err := s.revocable.RefreshFamilyByID(ctx, ref.id)
	standing := refreshUnknown
	switch {
	case isNotFound(err) && ref.legacy:
		// A token from before migration 18, rotated away before or since.
		f, err = s.revocable.LegacyRefreshFamily(ctx, ref.hash)
		standing = refreshRotated
	case err != nil:
	case ref.legacy:
		if f.Legacy != "" && f.Generation == 0 && subtle.ConstantTimeCompare(f.Hash, ref.hash) == 1 {
			standing = refreshCurrent
		}
	case ref.gen < f.Generation:
		standing = refreshRotated
	case ref.gen == f.Generation && subtle.ConstantTimeCompare(f.Hash, ref.hash) == 1:
		standing = refreshCurrent
	}
	if isNotFound(err) {
		return store.RefreshFamily{}, ref, refreshUnknown, nil
	}
	if err != nil {
		return store.RefreshFamily{}, ref, refreshUnknown, err
	}
	if !f.RevokedAt.IsZero() || !now.Before(f.ExpiresAt) {
		return f, ref, refreshUnknown, nil
	}
	return f, ref, standing, nil
}
