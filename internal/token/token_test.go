package token_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/token"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestIssueVerify(t *testing.T) {
	for _, alg := range []string{"EdDSA", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
			ring := token.NewRing(openStore(t), token.RingOptions{Alg: alg, Clock: c.Now, MaxTokenLife: time.Hour})
			if err := ring.EnsureKey(ctx); err != nil {
				t.Fatal(err)
			}
			iss := token.NewIssuer(ring, "http://localhost:8080", c.Now)
			raw, claims, err := iss.Issue(ctx, token.Claims{Subject: "42", Email: "a@b.co", Name: "A", BusinessID: 7,
				Actor: &token.Actor{Subject: "1"}, Version: 3}, 30*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			got, err := iss.Verify(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != "42" || got.UserID() != 42 || got.Email != "a@b.co" || got.BusinessID != 7 || got.Actor.Subject != "1" ||
				got.Version != 3 || got.ID != claims.ID || len(got.ID) < 22 || !got.ExpiresAt.Equal(c.now.Add(30*time.Minute)) {
				t.Fatalf("claims %+v", got)
			}
			hdr := decodeSegment(t, raw, 0)
			if hdr["alg"] != alg || hdr["kid"] == "" {
				t.Fatalf("header %v", hdr)
			}
			c.now = c.now.Add(31 * time.Minute)
			if _, err := iss.Verify(ctx, raw); !errors.Is(err, token.ErrExpired) {
				t.Fatalf("expired token: %v", err)
			}
		})
	}
}

func decodeSegment(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	ring := token.NewRing(openStore(t), token.RingOptions{})
	if err := ring.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	iss := token.NewIssuer(ring, "http://localhost:8080", nil)
	raw, _, err := iss.Issue(ctx, token.Claims{Subject: "1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(raw, ".")
	hdr := decodeSegment(t, raw, 0)
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	noneHdr := enc(map[string]any{"alg": "none", "kid": hdr["kid"]})
	hsHdr := enc(map[string]any{"alg": "HS256", "kid": hdr["kid"]})
	mac := hmac.New(sha256.New, []byte("secret"))
	mac.Write([]byte(hsHdr + "." + parts[1]))
	other := token.NewIssuer(ring, "https://elsewhere.example", nil)
	otherRaw, _, _ := other.Issue(ctx, token.Claims{Subject: "1"}, time.Minute)
	cases := map[string]string{
		"tampered payload": parts[0] + "." + enc(map[string]any{"sub": "2", "exp": 9999999999}) + "." + parts[2],
		"tampered sig":     parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"alg none":         noneHdr + "." + parts[1] + ".",
		"HS256 confusion":  hsHdr + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)),
		"unknown kid":      enc(map[string]any{"alg": "EdDSA", "kid": "nope"}) + "." + parts[1] + "." + parts[2],
		"wrong issuer":     otherRaw,
		"garbage":          "a.b.c",
		"empty":            "",
		"two segments":     parts[0] + "." + parts[1],
		"huge":             strings.Repeat("a", 10000),
	}
	for name, tok := range cases {
		if _, err := iss.Verify(ctx, tok); !errors.Is(err, token.ErrInvalidToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRotationAcrossRings(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	c := &clock{now: time.Now()}
	a := token.NewRing(st, token.RingOptions{Clock: c.Now, MaxTokenLife: time.Hour})
	b := token.NewRing(st, token.RingOptions{Clock: c.Now, MaxTokenLife: time.Hour})
	if err := a.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	ia, ib := token.NewIssuer(a, "x", c.Now), token.NewIssuer(b, "x", c.Now)
	old, _, _ := ia.Issue(ctx, token.Claims{Subject: "1"}, 30*time.Minute)
	c.now = c.now.Add(time.Minute)
	kid, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _, _ := ia.Issue(ctx, token.Claims{Subject: "1"}, 30*time.Minute)
	if decodeSegment(t, fresh, 0)["kid"] != kid {
		t.Fatal("new tokens not signed with the new key")
	}
	// The other process has never seen the new key: it finds it on demand.
	for _, tok := range []string{old, fresh} {
		if _, err := ib.Verify(ctx, tok); err != nil {
			t.Fatalf("ring b: %v", err)
		}
	}
	var set struct{ Keys []map[string]string }
	j, _ := a.JWKS(ctx)
	json.Unmarshal(j, &set)
	if len(set.Keys) != 2 || set.Keys[0]["kid"] != kid || set.Keys[0]["kty"] != "OKP" || set.Keys[0]["crv"] != "Ed25519" || set.Keys[0]["use"] != "sig" {
		t.Fatalf("JWKS %s", j)
	}
	// After MaxTokenLife the retired key stops verifying and leaves the JWKS.
	c.now = c.now.Add(2 * time.Hour)
	if _, err := ia.Verify(ctx, old); err == nil {
		t.Fatal("token of a long-retired key verified")
	}
	j, _ = a.JWKS(ctx)
	json.Unmarshal(j, &set)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS after expiry: %s", j)
	}
}

func TestSealedKeys(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	sealed := token.NewRing(st, token.RingOptions{KEK: "s3cret"})
	if err := sealed.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	keys, _ := st.SigningKeys(ctx, time.Time{})
	if len(keys) != 1 || !keys[0].Sealed {
		t.Fatalf("key not sealed at rest: %+v", keys)
	}
	if err := token.NewRing(st, token.RingOptions{KEK: "s3cret"}).Load(ctx); err != nil {
		t.Fatalf("right KEK: %v", err)
	}
	if err := token.NewRing(st, token.RingOptions{KEK: "wrong"}).Load(ctx); err == nil || !strings.Contains(err.Error(), "key-encryption-key") {
		t.Fatalf("wrong KEK: %v", err)
	}
	if err := token.NewRing(st, token.RingOptions{}).Load(ctx); err == nil || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("no KEK: %v", err)
	}
}

// FuzzVerify: no string panics the verifier or verifies.
func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(f.TempDir(), "db.sqlite"), sqlstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	ring := token.NewRing(st, token.RingOptions{})
	if err := ring.EnsureKey(ctx); err != nil {
		f.Fatal(err)
	}
	iss := token.NewIssuer(ring, "x", nil)
	good, want, _ := iss.Issue(ctx, token.Claims{Subject: "1"}, time.Minute)
	for _, s := range []string{good, "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "", "...."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := iss.Verify(ctx, raw)
		// Only the issued token (or a re-spelling of its exact bytes)
		// may verify: anything else with valid claims is a forgery.
		if err == nil && (c.ID != want.ID || c.Subject != want.Subject || !c.ExpiresAt.Equal(want.ExpiresAt)) {
			t.Fatalf("forged token verified: %q -> %+v", raw, c)
		}
	})
}
