package token

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

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
}

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
}

// Leeway tolerates clock skew between processes when checking times.
const Leeway = 10 * time.Second

// Issuer signs and verifies tokens for one issuer URL.
type Issuer struct {
	ring   *Ring
	iss    string
	now    func() time.Time
	parser map[string]*jwt.Parser
}

// NewIssuer makes an Issuer; clock nil means time.Now.
func NewIssuer(r *Ring, issuer string, clock func() time.Time) *Issuer {
	if clock == nil {
		clock = time.Now
	}
	i := &Issuer{ring: r, iss: issuer, now: clock, parser: map[string]*jwt.Parser{}}
	for _, alg := range []string{"EdDSA", "RS256"} {
		// One parser per algorithm: a token is only ever checked with the
		// algorithm of the key its kid names, never one it chose itself.
		i.parser[alg] = jwt.NewParser(jwt.WithValidMethods([]string{alg}), jwt.WithIssuer(issuer),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(Leeway), jwt.WithTimeFunc(clock))
	}
	return i
}

// Issue signs c for validity, filling Issuer, times and a fresh jti.
func (i *Issuer) Issue(ctx context.Context, c Claims, validity time.Duration) (string, Claims, error) {
	k, err := i.ring.signer(ctx)
	if err != nil {
		return "", Claims{}, err
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", Claims{}, fmt.Errorf("token: jti: %w", err)
	}
	now := i.now().Truncate(time.Second)
	c.Issuer, c.ID = i.iss, base64.RawURLEncoding.EncodeToString(jti[:])
	c.IssuedAt, c.NotBefore, c.ExpiresAt = now, now, now.Add(validity)
	w := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: c.Issuer, Subject: c.Subject, ID: c.ID,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(c.ExpiresAt)},
		Email: c.Email, Name: c.Name, BID: c.BusinessID, Act: c.Actor, Ver: c.Version,
	}
	var method jwt.SigningMethod = jwt.SigningMethodEdDSA
	if k.alg == "RS256" {
		method = jwt.SigningMethodRS256
	}
	t := jwt.NewWithClaims(method, w)
	t.Header["kid"] = k.kid
	raw, err := t.SignedString(k.priv)
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: sign: %w", err)
	}
	return raw, c, nil
}

// Verify checks raw's signature with the key its kid names (and only with
// that key's algorithm), its issuer and its times.
func (i *Issuer) Verify(ctx context.Context, raw string) (Claims, error) {
	if raw == "" || len(raw) > 8192 {
		return Claims{}, ErrInvalidToken
	}
	kid, alg, ok := peekHeader(raw)
	if !ok {
		return Claims{}, ErrInvalidToken
	}
	k, found := i.ring.verifier(ctx, kid)
	if !found || k.alg != alg {
		return Claims{}, ErrInvalidToken
	}
	var w wireClaims
	_, err := i.parser[k.alg].ParseWithClaims(raw, &w, func(*jwt.Token) (any, error) { return k.pub, nil })
	if errors.Is(err, jwt.ErrTokenExpired) || errors.Is(err, jwt.ErrTokenNotValidYet) {
		return Claims{}, ErrExpired
	}
	if err != nil || w.ID == "" || w.Subject == "" {
		return Claims{}, ErrInvalidToken
	}
	c := Claims{Issuer: w.Issuer, Subject: w.Subject, Email: w.Email, Name: w.Name, ID: w.ID,
		BusinessID: w.BID, Actor: w.Act, Version: w.Ver}
	if w.IssuedAt != nil {
		c.IssuedAt = w.IssuedAt.Time
	}
	if w.NotBefore != nil {
		c.NotBefore = w.NotBefore.Time
	}
	c.ExpiresAt = w.ExpiresAt.Time
	return c, nil
}

// peekHeader reads kid and alg from the unverified header.
func peekHeader(raw string) (kid, alg string, ok bool) {
	t, _, err := jwt.NewParser().ParseUnverified(raw, &jwt.RegisteredClaims{})
	if err != nil {
		return "", "", false
	}
	kid, _ = t.Header["kid"].(string)
	alg, _ = t.Header["alg"].(string)
	return kid, alg, kid != "" && alg != ""
}
