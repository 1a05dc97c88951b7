package federation

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig is one OpenID Connect provider as the operator registered it.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string
}

// OIDC is a discovered OpenID Connect provider. It is safe for concurrent
// use; the provider's JWKS is fetched and refreshed by go-oidc.
type OIDC struct {
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	client   *http.Client
}

// Discover reads the provider's discovery document (its issuer must equal
// cfg.Issuer exactly) and prepares the code flow. client makes every request
// to the provider; now is the clock ID tokens' expiry is checked against.
func Discover(ctx context.Context, client *http.Client, cfg OIDCConfig, now func() time.Time) (*OIDC, error) {
	ctx = oidc.ClientContext(ctx, client)
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery of %s: %w", cfg.Issuer, err)
	}
	return &OIDC{
		provider: p,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
		},
		// The key set is fetched with the provider's client, not ctx: it
		// outlives this request.
		verifier: p.VerifierContext(oidc.ClientContext(context.Background(), client),
			&oidc.Config{ClientID: cfg.ClientID, Now: now}),
		client: client,
	}, nil
}

// NewVerifier verifies ID tokens of issuer for clientID with the keys
// published at jwksURL; for checks of a token obtained elsewhere.
func NewVerifier(client *http.Client, issuer, jwksURL, clientID string, now func() time.Time) *oidc.IDTokenVerifier {
	ks := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), client), jwksURL)
	return oidc.NewVerifier(issuer, ks, &oidc.Config{ClientID: clientID, Now: now})
}

// AuthCodeURL is where the browser goes to sign in: code flow with state,
// nonce and a PKCE S256 challenge of verifier.
func (o *OIDC) AuthCodeURL(state, nonce, verifier string) string {
	return o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
}

// Exchange trades code (with the PKCE verifier) for tokens at the provider
// and verifies the ID token, which must carry nonce.
func (o *OIDC) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	tok, err := o.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, o.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			// The provider answered and refused the code.
			return Identity{}, fmt.Errorf("%w: code exchange refused: %s", ErrInvalidToken, re.ErrorCode)
		}
		return Identity{}, fmt.Errorf("oidc code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: no id_token in the token response", ErrInvalidToken)
	}
	id, err := VerifyIDToken(ctx, o.verifier, raw, nonce)
	if err != nil || id.Email != "" || o.provider.UserInfoEndpoint() == "" {
		return id, err
	}
	// Providers may keep the profile out of the ID token when an access
	// token comes with it (OIDC Core §5.4): ask the UserInfo endpoint,
	// whose answer counts only for the same subject (§5.3.2).
	ui, err := o.provider.UserInfo(oidc.ClientContext(ctx, o.client), oauth2.StaticTokenSource(tok))
	if err != nil {
		return Identity{}, fmt.Errorf("oidc userinfo: %w", err)
	}
	if ui.Subject != id.Subject {
		return Identity{}, fmt.Errorf("%w: userinfo subject differs from the ID token's", ErrInvalidToken)
	}
	var c struct {
		Name string `json:"name"`
	}
	_ = ui.Claims(&c)
	id.Email, id.EmailVerified = strings.TrimSpace(ui.Email), ui.EmailVerified
	if id.Name == "" {
		id.Name = c.Name
	}
	return id, nil
}

// VerifyIDToken checks raw's signature against the provider's keys, its
// issuer, audience and expiry, and that its nonce equals nonce.
func VerifyIDToken(ctx context.Context, v *oidc.IDTokenVerifier, raw, nonce string) (Identity, error) {
	t, err := v.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	// go-oidc leaves the nonce to the caller. A token without one, or with
	// another flow's, is refused: it may be a replayed or injected token.
	if nonce == "" || subtle.ConstantTimeCompare([]byte(t.Nonce), []byte(nonce)) != 1 {
		return Identity{}, fmt.Errorf("%w: nonce mismatch", ErrInvalidToken)
	}
	var c struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := t.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	if t.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return Identity{Subject: t.Subject, Email: strings.TrimSpace(c.Email), EmailVerified: isTrue(c.EmailVerified), Name: c.Name}, nil
}

// isTrue reads email_verified, which some providers send as a string.
func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}
