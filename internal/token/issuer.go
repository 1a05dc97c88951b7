package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
)

var (
	// ErrInvalidToken is any token that does not verify.
	ErrInvalidToken = errors.New("token: invalid")
	// ErrExpired is a token past its exp (or before its nbf).
	ErrExpired = errors.New("token: expired")
)

// Actor is RFC 8693's act claim: who asked for an impersonation token.
type Actor struct {
	Subject string `json:"sub"`
}

// Token kinds (SPEC §6 "Token kinds"), the knd claim.
const (
	// KindAccess is a bearer token from a sign-in, a grant or an exchange.
	KindAccess = "access"
	// KindImpersonation is an access token issued to an API user for
	// another user (SPEC §3.2); it carries act.
	KindImpersonation = "impersonation"
	// KindOneTime is a link token (reset completion, magic link, sign-in
	// code, link token): accepted only by the portal's t= and the
	// exchange, once, never as a bearer.
	KindOneTime = "one-time"
)

// Claims are an access token's claims (SPEC §4).
type Claims struct {
	Issuer     string
	Subject    string // user id
	Email      string
	Name       string
	IssuedAt   time.Time
	NotBefore  time.Time
	ExpiresAt  time.Time
	ID         string // jti
	BusinessID int64  // bid: the user's default business
	Actor      *Actor
	// Version is the user's token version at issue; a token whose version
	// is below the user's current one has been revoked with all its kind.
	Version int64
	// Kind is the token's kind (KindAccess, KindImpersonation, KindOneTime).
	// Issue writes KindAccess for an empty Kind; Verify reads a token
	// without the claim (issued before kinds existed) as KindAccess.
	Kind string
}

// OneTime reports whether the token is a one-time link token.
func (c Claims) OneTime() bool { return c.Kind == KindOneTime }

// UserID is Subject as a number (0 when it is not one).
func (c Claims) UserID() int64 {
	id, _ := strconv.ParseInt(c.Subject, 10, 64)
	return id
}

type wireClaims struct {
	jwt.RegisteredClaims
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	BID   int64  `json:"bid,omitempty"`
	Act   *Actor `json:"act,omitempty"`
	Ver   int64  `json:"ver"`
	Knd   string `json:"knd,omitempty"`
}

// Leeway tolerates clock skew between processes when checking exp, nbf and
// iat: ten seconds, small next to any token's life.
const Leeway = 10 * time.Second

// maxTokenLen bounds what Verify parses; spaceauth's tokens are well under
// 1 KiB, and a bound keeps hostile input cheap.
const maxTokenLen = 8192

// Issuer signs and verifies tokens for one issuer URL. It is safe for
// concurrent use.
type Issuer struct {
	ring   *Ring
	iss    string
	now    func() time.Time
	parser *jwt.Parser

	// verified remembers tokens whose signature checked out, keyed by the
	// SHA-256 of the token's exact text (a collision would be a forgery):
	// the signature check was most of a bearer check's CPU. A hit still
	// re-checks the times and that the key still verifies. Only a token
	// verified a second time is kept: seen marks first verifications (a
	// digest prefix per slot, no pointers for the collector), so one-shot
	// tokens (portal links, exchanges) do not fill the cache that bearer
	// tokens, checked again and again, need.
	mu       sync.RWMutex
	verified map[[sha256.Size]byte]verifiedToken
	seen     *[seenSlots][16]byte
}

// seenSlots is the size of the first-verification filter: a token's
// mark lasts until another token lands on its slot, on average seenSlots
// first verifications later.
const seenSlots = 4096

type verifiedToken struct {
	claims Claims
	kid    string
}

// maxVerified bounds the verified-token cache; a full cache is emptied.
// An entry is the token's digest and its claims, about 0.4 KB.
const maxVerified = 4096

// NewIssuer makes an Issuer; clock nil means time.Now.
func NewIssuer(r *Ring, issuer string, clock func() time.Time) *Issuer {
	if clock == nil {
		clock = time.Now
	}
	return &Issuer{ring: r, iss: issuer, now: clock, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{AlgEdDSA, AlgRS256}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(clock),
		// One token, one spelling: no padding, no stray trailing bits.
		jwt.WithStrictDecoding(),
	), verified: make(map[[sha256.Size]byte]verifiedToken), seen: new([seenSlots][16]byte)}
}

// remembered returns the claims of raw if it verified before, its key still
// verifies and its times hold now (else the full check runs, and says why).
func (i *Issuer) remembered(key [sha256.Size]byte) (Claims, bool) {
	i.mu.RLock()
	v, ok := i.verified[key]
	i.mu.RUnlock()
	if !ok {
		return Claims{}, false
	}
	if _, ok := i.ring.lookup(v.kid); !ok {
		return Claims{}, false
	}
	now := i.now()
	c := v.claims
	if now.After(c.ExpiresAt.Add(Leeway)) || now.Before(c.NotBefore.Add(-Leeway)) || now.Before(c.IssuedAt.Add(-Leeway)) {
		return Claims{}, false
	}
	return c, true
}

// Issue signs c for validity with the ring's current key, filling Issuer,
// IssuedAt, NotBefore, ExpiresAt and a fresh 128-bit jti (any values c
// carries for them are replaced). It returns the token and its claims as
// signed.
func (i *Issuer) Issue(ctx context.Context, c Claims, validity time.Duration) (string, Claims, error) {
	if validity <= 0 {
		return "", Claims{}, fmt.Errorf("token: validity %s is not positive", validity)
	}
	if c.Subject == "" {
		return "", Claims{}, errors.New("token: no subject")
	}
	k, err := i.ring.signer(ctx)
	if err != nil {
		return "", Claims{}, err
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", Claims{}, fmt.Errorf("token: jti: %w", err)
	}
	// JWT times are whole seconds; truncating here makes the returned
	// Claims equal what Verify will read back.
	now := i.now().Truncate(time.Second)
	if c.Kind == "" {
		c.Kind = KindAccess
	}
	switch c.Kind {
	case KindAccess, KindImpersonation, KindOneTime:
	default:
		return "", Claims{}, fmt.Errorf("token: unknown kind %q", c.Kind)
	}
	c.Issuer, c.ID = i.iss, base64.RawURLEncoding.EncodeToString(jti[:])
	c.IssuedAt, c.NotBefore, c.ExpiresAt = now, now, now.Add(validity).Truncate(time.Second)
	w := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: c.Issuer, Subject: c.Subject, ID: c.ID,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(c.ExpiresAt)},
		Email: c.Email, Name: c.Name, BID: c.BusinessID, Act: c.Actor, Ver: c.Version, Knd: c.Kind,
	}
	var method jwt.SigningMethod = jwt.SigningMethodEdDSA
	if k.alg == AlgRS256 {
		method = jwt.SigningMethodRS256
	}
	t := jwt.NewWithClaims(method, w)
	t.Header["kid"] = k.kid
	raw, err := t.SignedString(k.priv)
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: sign with key %s: %w", k.kid, err)
	}
	return raw, c, nil
}

// Verify checks raw's signature with the key its kid names, and only with
// that key's own algorithm (so neither "none" nor an HMAC keyed with a
// public key can pass), then its issuer and times. It returns ErrExpired
// for a genuine token outside its exp/nbf and ErrInvalidToken for anything
// else. It reads the store only for an unknown kid, at most once a second.
// Revocation (jti, token version) is the caller's check.
func (i *Issuer) Verify(ctx context.Context, raw string) (Claims, error) {
	if raw == "" || len(raw) > maxTokenLen {
		return Claims{}, ErrInvalidToken
	}
	// Sum256 only reads its input: hashing the string's bytes in place
	// saves copying every bearer token (a few hundred bytes) per check.
	key := sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
	if c, ok := i.remembered(key); ok {
		return c, nil
	}
	var w wireClaims
	var kid string
	_, err := i.parser.ParseWithClaims(raw, &w, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		k, ok := i.ring.verifier(ctx, kid)
		if !ok {
			return nil, errors.New("unknown kid")
		}
		if t.Method.Alg() != k.alg {
			return nil, errors.New("algorithm does not match the key")
		}
		return k.pub, nil
	})
	// The library checks claims only after the signature, so ErrExpired is
	// never an answer about a forged token.
	if errors.Is(err, jwt.ErrTokenExpired) || errors.Is(err, jwt.ErrTokenNotValidYet) {
		return Claims{}, ErrExpired
	}
	if err != nil || w.ID == "" || w.Subject == "" {
		return Claims{}, ErrInvalidToken
	}
	switch w.Knd {
	case "":
		w.Knd = KindAccess // signed before tokens stated their kind
	case KindAccess, KindImpersonation, KindOneTime:
	default:
		return Claims{}, ErrInvalidToken
	}
	c := Claims{Issuer: w.Issuer, Subject: w.Subject, Email: w.Email, Name: w.Name, ID: w.ID,
		BusinessID: w.BID, Actor: w.Act, Version: w.Ver, Kind: w.Knd, ExpiresAt: w.ExpiresAt.Time}
	if w.IssuedAt != nil {
		c.IssuedAt = w.IssuedAt.Time
	}
	if w.NotBefore != nil {
		c.NotBefore = w.NotBefore.Time
	}
	i.remember(key, verifiedToken{claims: c, kid: kid})
	return c, nil
}

// remember keeps v under key if key was verified before (its mark is in
// seen), else marks it.
func (i *Issuer) remember(key [sha256.Size]byte, v verifiedToken) {
	mark := [16]byte(key[:16])
	slot := binary.LittleEndian.Uint32(key[16:20]) % seenSlots
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.seen[slot] != mark {
		i.seen[slot] = mark
		return
	}
	if len(i.verified) >= maxVerified {
		clear(i.verified)
	}
	i.verified[key] = v
}
