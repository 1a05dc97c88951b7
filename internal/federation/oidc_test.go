package federation_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/spaceauth/spaceauth/internal/federation"
	"github.com/spaceauth/spaceauth/internal/federation/fedtest"
)

const testRedirect = "http://127.0.0.1:9/sso/callback"

var opUsers = []fedtest.OPUser{
	{ID: "sub-ana", Username: "ana", Password: "ana-op-password", Email: "ana@example.com", EmailVerified: true, Name: "Ana Op"},
	{ID: "sub-eve", Username: "eve", Password: "eve-op-password", Email: "member@example.com", EmailVerified: false, Name: "Eve"},
}

// TestOIDCCodeFlowAgainstRealProvider runs the whole relying-party flow
// against zitadel's example OP as its own process: discovery, the real
// login page, code + PKCE exchange, ID token and nonce checks, and the
// UserInfo fallback for the email.
func TestOIDCCodeFlowAgainstRealProvider(t *testing.T) {
	op := fedtest.StartOP(t, opUsers, testRedirect)
	ctx := context.Background()
	rp, err := federation.Discover(ctx, http.DefaultClient, federation.OIDCConfig{Issuer: op.Issuer, ClientID: op.ClientID,
		ClientSecret: op.ClientSecret, RedirectURL: testRedirect}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, pw, email string
		verified        bool
	}{{"ana", "ana-op-password", "ana@example.com", true}, {"eve", "eve-op-password", "member@example.com", false}} {
		verifier := oauth2.GenerateVerifier()
		back, err := fedtest.SignIn(http.DefaultClient, rp.AuthCodeURL("state-1", "nonce-1", verifier), tc.user, tc.pw, testRedirect)
		if err != nil {
			t.Fatal(err)
		}
		if back.Query().Get("state") != "state-1" {
			t.Fatalf("state not returned: %s", back)
		}
		code := back.Query().Get("code")
		id, err := rp.Exchange(ctx, code, verifier, "nonce-1")
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if id.Subject != "sub-"+tc.user || id.Email != tc.email || id.EmailVerified != tc.verified {
			t.Errorf("identity: %+v", id)
		}
		// The code works once.
		if _, err := rp.Exchange(ctx, code, verifier, "nonce-1"); !errors.Is(err, federation.ErrInvalidToken) {
			t.Errorf("second exchange of one code: %v", err)
		}
	}

	t.Run("wrong PKCE verifier", func(t *testing.T) {
		back, err := fedtest.SignIn(http.DefaultClient, rp.AuthCodeURL("s", "n", oauth2.GenerateVerifier()), "ana", "ana-op-password", testRedirect)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rp.Exchange(ctx, back.Query().Get("code"), oauth2.GenerateVerifier(), "n"); !errors.Is(err, federation.ErrInvalidToken) {
			t.Errorf("exchange with another verifier: %v", err)
		}
	})
	t.Run("nonce of another flow", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		back, err := fedtest.SignIn(http.DefaultClient, rp.AuthCodeURL("s", "nonce-A", v), "ana", "ana-op-password", testRedirect)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rp.Exchange(ctx, back.Query().Get("code"), v, "nonce-B"); !errors.Is(err, federation.ErrInvalidToken) {
			t.Errorf("exchange expecting another nonce: %v", err)
		}
	})
}

// TestIDTokenAttacks feeds the verifier ID tokens an attacker could bring:
// real tokens for another client, past their expiry or without a nonce,
// and tokens signed with a key that is not the provider's.
func TestIDTokenAttacks(t *testing.T) {
	op := fedtest.StartOP(t, opUsers, testRedirect)
	ctx := context.Background()
	jwks := op.Issuer + "keys"
	// rawToken gets a real ID token from the provider for clientID.
	rawToken := func(t *testing.T, clientID, nonce string) string {
		t.Helper()
		cfg := oauth2.Config{ClientID: clientID, ClientSecret: op.ClientSecret, RedirectURL: testRedirect,
			Endpoint: oauth2.Endpoint{AuthURL: op.Issuer + "auth", TokenURL: op.Issuer + "oauth/token"},
			Scopes:   []string{"openid", "email"}}
		v := oauth2.GenerateVerifier()
		opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v)}
		if nonce != "" {
			opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
		}
		back, err := fedtest.SignIn(http.DefaultClient, cfg.AuthCodeURL("s", opts...), "ana", "ana-op-password", testRedirect)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			t.Fatal("no id_token")
		}
		return raw
	}
	good := rawToken(t, op.ClientID, "n-1")
	verify := func(now time.Time, raw, nonce string) error {
		v := federation.NewVerifier(http.DefaultClient, op.Issuer, jwks, op.ClientID, func() time.Time { return now })
		_, err := federation.VerifyIDToken(ctx, v, raw, nonce)
		return err
	}
	if err := verify(time.Now(), good, "n-1"); err != nil {
		t.Fatalf("the genuine token must verify: %v", err)
	}
	forged := forge(t, good)
	tests := []struct {
		name  string
		now   time.Time
		raw   string
		nonce string
	}{
		{"wrong audience", time.Now(), rawToken(t, op.OtherClient, "n-1"), "n-1"},
		{"expired", time.Now().Add(24 * time.Hour), good, "n-1"},
		{"missing nonce", time.Now(), rawToken(t, op.ClientID, ""), "n-1"},
		{"nonce of another flow", time.Now(), good, "n-2"},
		{"no nonce expected either", time.Now(), rawToken(t, op.ClientID, ""), ""},
		{"forged signature", time.Now(), forged, "n-1"},
		{"alg none", time.Now(), algNone(t, good), "n-1"},
		{"garbage", time.Now(), "not.a.jwt", "n-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := verify(tc.now, tc.raw, tc.nonce); !errors.Is(err, federation.ErrInvalidToken) {
				t.Errorf("verify = %v, want ErrInvalidToken", err)
			}
		})
	}
}

// forge re-signs good's claims (with the provider's kid) with a key the
// attacker made.
func forge(t *testing.T, good string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	var hdr struct {
		Kid string `json:"kid"`
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(h, &hdr)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", hdr.Kid))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// algNone strips the signature and claims alg "none".
func algNone(t *testing.T, good string) string {
	t.Helper()
	parts := strings.Split(good, ".")
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	return hdr + "." + parts[1] + "."
}
