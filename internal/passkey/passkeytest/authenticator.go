// Package passkeytest is a software WebAuthn authenticator for tests and
// the load generator: it answers creation and request options the way a
// browser with a platform authenticator does (user present and verified,
// "none" attestation, ES256 keys, discoverable credentials).
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

var b64 = base64.RawURLEncoding

// Credential is one key pair held by the authenticator.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey

	mu      sync.Mutex
	counter uint32
}

// Authenticator holds discoverable credentials, like a platform
// authenticator. It is safe for concurrent use.
type Authenticator struct {
	mu    sync.Mutex
	creds []*Credential
}

type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
	} `json:"publicKey"`
}

// Register answers creation options (the JSON the server sent, with a
// "publicKey" member) from origin, returning the PublicKeyCredential JSON
// to send back and the new credential.
func (a *Authenticator) Register(origin string, options []byte) ([]byte, *Credential, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, nil, fmt.Errorf("creation options: %w", err)
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil || o.PublicKey.Challenge == "" || o.PublicKey.RP.ID == "" {
		return nil, nil, errors.New("creation options: missing challenge, rp id or user id")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	c := &Credential{ID: make([]byte, 32), RPID: o.PublicKey.RP.ID, UserHandle: handle, Key: key}
	if _, err := rand.Read(c.ID); err != nil {
		return nil, nil, err
	}
	clientData, err := json.Marshal(map[string]any{"type": "webauthn.create", "challenge": o.PublicKey.Challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		return nil, nil, err
	}
	// The uncompressed point is 0x04 || X || Y, 32 bytes each on P-256.
	point, err := key.PublicKey.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("public key: %w", err)
	}
	x, y := point[1:33], point[33:65]
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		return nil, nil, err
	}
	auth := authData(c.RPID, 0x01|0x04|0x40, 0)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(c.ID)))
	auth = append(auth, c.ID...)
	auth = append(auth, cose...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, nil, err
	}
	resp, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(clientData), "attestationObject": b64.EncodeToString(att),
			"transports": []string{"internal"}},
		"clientExtensionResults": map[string]any{},
	})
	if err != nil {
		return nil, nil, err
	}
	a.mu.Lock()
	a.creds = append(a.creds, c)
	a.mu.Unlock()
	return resp, c, nil
}

// Assert answers request options from origin with the first credential of
// the options' relying party, as a user picking it would.
func (a *Authenticator) Assert(origin string, options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("request options: %w", err)
	}
	a.mu.Lock()
	var c *Credential
	for _, cr := range a.creds {
		if cr.RPID == o.PublicKey.RPID {
			c = cr
			break
		}
	}
	a.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("no credential for relying party %q", o.PublicKey.RPID)
	}
	return c.Assert(origin, o.PublicKey.RPID, o.PublicKey.Challenge)
}

// Add makes the authenticator hold c as well (a copy of a credential: a
// clone, or the same key on a second device).
func (a *Authenticator) Add(c *Credential) {
	a.mu.Lock()
	a.creds = append(a.creds, c)
	a.mu.Unlock()
}

// Assert signs an assertion of c for rpID (which may differ from c.RPID:
// an attacker's choice) over the base64url challenge, from origin. The
// signature counter advances by one on each call.
func (c *Credential) Assert(origin, rpID, challenge string) ([]byte, error) {
	c.mu.Lock()
	c.counter++
	n := c.counter
	c.mu.Unlock()
	return c.AssertWithCounter(origin, rpID, challenge, n)
}

// AssertWithCounter is Assert with a chosen signature counter.
func (c *Credential) AssertWithCounter(origin, rpID, challenge string, counter uint32) ([]byte, error) {
	clientData, err := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		return nil, err
	}
	auth := authData(rpID, 0x01|0x04, counter)
	cdh := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(clientData), "authenticatorData": b64.EncodeToString(auth),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(c.UserHandle)},
		"clientExtensionResults": map[string]any{},
	})
}

// Challenge returns the base64url challenge of request or creation options.
func Challenge(options []byte) (string, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil || o.PublicKey.Challenge == "" {
		return "", fmt.Errorf("options without a challenge: %v", err)
	}
	return o.PublicKey.Challenge, nil
}

func authData(rpID string, flags byte, counter uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, counter)
}
