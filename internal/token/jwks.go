package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is the RFC 7517 key set of the current key and every retired key
// that still verifies, newest first, so that other services can verify
// tokens offline. It refreshes stale keys like the signing path does.
func (r *Ring) JWKS(ctx context.Context) ([]byte, error) {
	if _, err := r.signer(ctx); err != nil {
		return nil, err
	}
	now := r.opts.Clock()
	r.mu.RLock()
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range r.keys {
		if !r.verifies(k, now) {
			continue
		}
		j := jwk{Kid: k.kid, Alg: k.alg, Use: "sig"}
		switch pub := k.pub.(type) {
		case ed25519.PublicKey:
			j.Kty, j.Crv, j.X = "OKP", "Ed25519", base64.RawURLEncoding.EncodeToString(pub)
		case *rsa.PublicKey:
			j.Kty = "RSA"
			j.N = base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
			j.E = base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
		}
		set.Keys = append(set.Keys, j)
	}
	r.mu.RUnlock()
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: encode JWKS: %w", err)
	}
	return b, nil
}
