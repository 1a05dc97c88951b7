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

// Signer is a lean form of Credential.Assert for the load generator: the
// parts of an assertion that do not change between sign-ins (the ids, the
// RP id's hash, the JSON around the values) are made once, and each
// assertion is appended to a caller's buffer. It signs the same bytes
// Assert does, with the same key. One Signer serves one goroutine.
type Signer struct {
	c          *Credential
	counter    uint32
	clientPre  []byte // clientDataJSON up to the challenge
	clientPost []byte // clientDataJSON after the challenge
	auth       []byte // authenticator data; the counter is its last 4 bytes
	head, tail []byte // the credential JSON around clientDataJSON, and after the userHandle
	signed     []byte // authenticator data || SHA-256(clientDataJSON)
	client     []byte
}

// NewSigner returns a Signer of c's assertions for rpID from origin. Its
// counter starts where c's is and moves apart from it.
func NewSigner(c *Credential, origin, rpID string) *Signer {
	c.mu.Lock()
	n := c.counter
	c.mu.Unlock()
	id := b64.EncodeToString(c.ID)
	s := &Signer{c: c, counter: n,
		clientPre:  []byte(`{"challenge":"`),
		clientPost: []byte(`","crossOrigin":false,"origin":` + strconvQuote(origin) + `,"type":"webauthn.get"}`),
		auth:       authData(rpID, 0x01|0x04, 0),
		head:       []byte(`{"clientExtensionResults":{},"id":"` + id + `","rawId":"` + id + `","response":{"authenticatorData":"`),
		tail:       []byte(`"},"type":"public-key"}`),
	}
	return s
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// AppendAssertion appends the PublicKeyCredential JSON of the next
// assertion (the counter moves by one) over the base64url challenge.
func (s *Signer) AppendAssertion(dst []byte, challenge []byte) ([]byte, error) {
	s.counter++
	binary.BigEndian.PutUint32(s.auth[len(s.auth)-4:], s.counter)
	s.client = append(append(append(s.client[:0], s.clientPre...), challenge...), s.clientPost...)
	cdh := sha256.Sum256(s.client)
	s.signed = append(append(s.signed[:0], s.auth...), cdh[:]...)
	digest := sha256.Sum256(s.signed)
	sig, err := ecdsa.SignASN1(rand.Reader, s.c.Key, digest[:])
	if err != nil {
		return dst, err
	}
	dst = append(dst, s.head...)
	dst = b64.AppendEncode(dst, s.auth)
	dst = append(dst, `","clientDataJSON":"`...)
	dst = b64.AppendEncode(dst, s.client)
	dst = append(dst, `","signature":"`...)
	dst = b64.AppendEncode(dst, sig)
	dst = append(dst, `","userHandle":"`...)
	dst = b64.AppendEncode(dst, s.c.UserHandle)
	return append(dst, s.tail...), nil
}
