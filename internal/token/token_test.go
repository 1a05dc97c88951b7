package token_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/store/storetest"
	"github.com/spaceauth/spaceauth/internal/testkit"
	"github.com/spaceauth/spaceauth/internal/token"
	"github.com/spaceauth/spaceauth/internal/token/tokentest"
)

func newClock() *testkit.Clock { return testkit.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)) }

// countingKeys counts the reads of the key table, to show what touches the
// database.
type countingKeys struct {
	store.Keys
	reads atomic.Int64
}

func (k *countingKeys) SigningKeys(ctx context.Context, since time.Time) ([]store.SigningKey, error) {
	k.reads.Add(1)
	return k.Keys.SigningKeys(ctx, since)
}

func openStore(t testing.TB) *sqlstore.Store { return storetest.SQLite(t) }

// newIssuer is a ring with one key over a fresh database.
func newIssuer(t *testing.T, o token.RingOptions) (*token.Issuer, *token.Ring, *sqlstore.Store) {
	t.Helper()
	st := openStore(t)
	ring := token.NewRing(st, o)
	if err := ring.EnsureKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	return token.NewIssuer(ring, "http://localhost:8080", o.Clock), ring, st
}

func segment(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	return tokentest.Segment(t, raw, i)
}

func encode(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

type jwkSet struct {
	Keys []map[string]string `json:"keys"`
}

func jwks(t *testing.T, r *token.Ring) jwkSet {
	t.Helper()
	b, err := r.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var s jwkSet
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("JWKS %s: %v", b, err)
	}
	return s
}

// publicFromJWK rebuilds a public key the way an offline verifier would.
func publicFromJWK(t *testing.T, k map[string]string) crypto.PublicKey {
	t.Helper()
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("JWK field %q: %v", s, err)
		}
		return b
	}
	switch k["kty"] {
	case "OKP":
		if k["crv"] != "Ed25519" {
			t.Fatalf("crv %q", k["crv"])
		}
		return ed25519.PublicKey(dec(k["x"]))
	case "RSA":
		return &rsa.PublicKey{N: new(big.Int).SetBytes(dec(k["n"])), E: int(new(big.Int).SetBytes(dec(k["e"])).Int64())}
	}
	t.Fatalf("kty %q", k["kty"])
	return nil
}

func TestIssueVerify(t *testing.T) {
	for _, c := range []struct {
		alg, kty string
		method   jwt.SigningMethod
	}{
		{token.AlgEdDSA, "OKP", jwt.SigningMethodEdDSA},
		{token.AlgRS256, "RSA", jwt.SigningMethodRS256},
	} {
		t.Run(c.alg, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			iss, ring, _ := newIssuer(t, token.RingOptions{Alg: c.alg, Clock: clk.Now, MaxTokenLife: time.Hour})
			in := token.Claims{Subject: "42", Email: "a@b.co", Name: "Ana", BusinessID: 7, Actor: &token.Actor{Subject: "1"}, Version: 3}
			raw, issued, err := iss.Issue(ctx, in, 30*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			got, err := iss.Verify(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			jti, _ := base64.RawURLEncoding.DecodeString(got.ID)
			if got.Issuer != "http://localhost:8080" || got.Subject != "42" || got.UserID() != 42 || got.Email != "a@b.co" ||
				got.Name != "Ana" || got.BusinessID != 7 || got.Actor == nil || got.Actor.Subject != "1" || got.Version != 3 ||
				got.ID != issued.ID || len(jti) < 16 || !got.IssuedAt.Equal(clk.Now()) || !got.NotBefore.Equal(clk.Now()) ||
				!got.ExpiresAt.Equal(clk.Now().Add(30*time.Minute)) || !got.ExpiresAt.Equal(issued.ExpiresAt) {
				t.Fatalf("claims %+v, issued %+v", got, issued)
			}
			hdr, body := segment(t, raw, 0), segment(t, raw, 1)
			if hdr["alg"] != c.alg || hdr["kid"] == "" || hdr["kid"] == nil {
				t.Fatalf("header %v", hdr)
			}
			// The wire names are SPEC §4's.
			for _, name := range []string{"iss", "sub", "email", "name", "iat", "nbf", "exp", "jti", "bid", "act", "ver", "knd"} {
				if _, ok := body[name]; !ok {
					t.Errorf("claim %q missing from %v", name, body)
				}
			}
			if act, _ := body["act"].(map[string]any); act["sub"] != "1" {
				t.Errorf("act = %v", body["act"])
			}
			// Another service verifies with the JWKS alone.
			set := jwks(t, ring)
			if len(set.Keys) != 1 || set.Keys[0]["kid"] != hdr["kid"] || set.Keys[0]["alg"] != c.alg ||
				set.Keys[0]["kty"] != c.kty || set.Keys[0]["use"] != "sig" {
				t.Fatalf("JWKS %v", set)
			}
			parts := strings.Split(raw, ".")
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			if err := c.method.Verify(parts[0]+"."+parts[1], sig, publicFromJWK(t, set.Keys[0])); err != nil {
				t.Fatalf("JWKS key does not verify the token: %v", err)
			}
			if c.kty == "RSA" && set.Keys[0]["e"] != "AQAB" {
				t.Errorf("e = %q", set.Keys[0]["e"])
			}
		})
	}
}

// TestKinds: a token states its kind (SPEC §6 "Token kinds") and Verify
// returns it; a token without the claim, signed before kinds existed, is
// an access token; an unknown kind is neither issued nor accepted.
func TestKinds(t *testing.T) {
	ctx := context.Background()
	iss, _, st := newIssuer(t, token.RingOptions{})
	for _, c := range []struct{ in, want string }{
		{"", token.KindAccess},
		{token.KindAccess, token.KindAccess},
		{token.KindImpersonation, token.KindImpersonation},
		{token.KindOneTime, token.KindOneTime},
	} {
		raw, issued, err := iss.Issue(ctx, token.Claims{Subject: "1", Kind: c.in}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		got, err := iss.Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != c.want || issued.Kind != c.want || segment(t, raw, 1)["knd"] != c.want {
			t.Errorf("kind %q: issued %q, verified %q, wire %v", c.in, issued.Kind, got.Kind, segment(t, raw, 1)["knd"])
		}
		if got.OneTime() != (c.want == token.KindOneTime) {
			t.Errorf("kind %q: OneTime() = %v", c.want, got.OneTime())
		}
	}
	if _, _, err := iss.Issue(ctx, token.Claims{Subject: "1", Kind: "master"}, time.Minute); err == nil {
		t.Error("a token of an unknown kind was issued")
	}
	// Tokens signed with the ring's key but written by hand: no knd (an
	// old token) reads as access; an unknown knd is refused.
	for _, c := range []struct {
		knd  any
		want string
	}{{nil, token.KindAccess}, {"master", ""}, {"", token.KindAccess}} {
		claims := jwt.MapClaims{"iss": "http://localhost:8080", "sub": "1", "jti": "k" + fmt.Sprint(c.knd),
			"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "ver": 0}
		if c.knd != nil {
			claims["knd"] = c.knd
		}
		raw := signWithStoredKey(t, st, claims)
		got, err := iss.Verify(ctx, raw)
		if c.want == "" {
			if err == nil {
				t.Errorf("knd %v accepted as %q", c.knd, got.Kind)
			}
			continue
		}
		if err != nil || got.Kind != c.want {
			t.Errorf("knd %v: kind %q, err %v; want %q", c.knd, got.Kind, err, c.want)
		}
	}
}

// signWithStoredKey signs claims with the store's current (unsealed)
// Ed25519 key, as the issuer would, for tokens Issue would not write.
func signWithStoredKey(t *testing.T, st *sqlstore.Store, claims jwt.MapClaims) string {
	t.Helper()
	keys, err := st.SigningKeys(context.Background(), time.Time{})
	if err != nil || len(keys) == 0 {
		t.Fatalf("signing keys: %v (%d)", err, len(keys))
	}
	priv, err := x509.ParsePKCS8PrivateKey(keys[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = keys[0].ID
	raw, err := tok.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestIssueRefusals(t *testing.T) {
	iss, _, _ := newIssuer(t, token.RingOptions{})
	for _, c := range []struct {
		name     string
		claims   token.Claims
		validity time.Duration
	}{
		{"no subject", token.Claims{}, time.Minute},
		{"zero validity", token.Claims{Subject: "1"}, 0},
		{"negative validity", token.Claims{Subject: "1"}, -time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			if raw, _, err := iss.Issue(context.Background(), c.claims, c.validity); err == nil {
				t.Fatalf("issued %s", raw)
			}
		})
	}
	if _, _, err := token.NewIssuer(token.NewRing(openStore(t), token.RingOptions{}), "x", nil).Issue(
		context.Background(), token.Claims{Subject: "1"}, time.Minute); err == nil {
		t.Fatal("issued with an empty ring")
	}
}

func TestTimes(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	iss, _, _ := newIssuer(t, token.RingOptions{Clock: clk.Now})
	raw, _, err := iss.Issue(ctx, token.Claims{Subject: "1"}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	for _, c := range []struct {
		name string
		at   time.Duration // from issue
		want error
	}{
		{"just issued", 0, nil},
		{"skewed verifier a little behind", -5 * time.Second, nil},
		{"verifier far behind: not yet valid", -time.Minute, token.ErrExpired},
		{"before exp", 29 * time.Minute, nil},
		{"within the leeway after exp", 30*time.Minute + token.Leeway - time.Second, nil},
		{"past the leeway", 30*time.Minute + token.Leeway + time.Second, token.ErrExpired},
		{"long expired", 48 * time.Hour, token.ErrExpired},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk.Set(start.Add(c.at))
			if _, err := iss.Verify(ctx, raw); !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func TestVerifyRefusals(t *testing.T) {
	ctx := context.Background()
	iss, ring, st := newIssuer(t, token.RingOptions{})
	raw, _, err := iss.Issue(ctx, token.Claims{Subject: "1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(raw, ".")
	kid := segment(t, raw, 0)["kid"].(string)
	keys, err := st.SigningKeys(ctx, time.Time{})
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v %v", keys, err)
	}
	pkix := keys[0].PublicKey
	pub, err := x509.ParsePKIXPublicKey(pkix)
	if err != nil {
		t.Fatal(err)
	}
	pemPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	hs256 := func(secret []byte) string {
		h := encode(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid})
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(h + "." + parts[1]))
		return h + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	// A token really signed, but by an RSA key of the attacker's, under
	// the Ed25519 key's kid.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "http://localhost:8080", "sub": "1", "jti": "x",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
	rs.Header["kid"] = kid
	rsRaw, err := rs.SignedString(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	otherRaw, _, err := token.NewIssuer(ring, "https://elsewhere.example", nil).Issue(ctx, token.Claims{Subject: "1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// A valid signature from another database's key with a kid nobody here knows.
	strangerRaw, _, _ := func() (string, token.Claims, error) {
		i, _, _ := newIssuer(t, token.RingOptions{})
		return i.Issue(ctx, token.Claims{Subject: "1"}, time.Minute)
	}()
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	for _, c := range []struct{ name, tok string }{
		{"tampered payload", parts[0] + "." + encode(map[string]any{"iss": "http://localhost:8080", "sub": "2", "jti": "j", "exp": 9999999999}) + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)},
		{"zero signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))},
		{"no signature", parts[0] + "." + parts[1] + "."},
		{"alg none", encode(map[string]any{"alg": "none", "kid": kid}) + "." + parts[1] + "."},
		{"alg None", encode(map[string]any{"alg": "None", "kid": kid}) + "." + parts[1] + "."},
		{"HS256 keyed with the raw public key", hs256(pub.(ed25519.PublicKey))},
		{"HS256 keyed with the PKIX DER", hs256(pkix)},
		{"HS256 keyed with the PEM", hs256(pemPub)},
		{"RS256 under an EdDSA kid", rsRaw},
		{"no kid", encode(map[string]any{"alg": "EdDSA"}) + "." + parts[1] + "." + parts[2]},
		{"unknown kid", encode(map[string]any{"alg": "EdDSA", "kid": "nope"}) + "." + parts[1] + "." + parts[2]},
		{"kid not a string", encode(map[string]any{"alg": "EdDSA", "kid": 7}) + "." + parts[1] + "." + parts[2]},
		{"stranger's key", strangerRaw},
		{"wrong issuer", otherRaw},
		{"padded signature", raw + "=="},
		{"garbage", "a.b.c"},
		{"empty", ""},
		{"two segments", parts[0] + "." + parts[1]},
		{"four segments", raw + ".x"},
		{"huge", strings.Repeat("a", 10000)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if claims, err := iss.Verify(ctx, c.tok); !errors.Is(err, token.ErrInvalidToken) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", claims, err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clk := newClock()
	bKeys := &countingKeys{Keys: st}
	a := token.NewRing(st, token.RingOptions{Clock: clk.Now, MaxTokenLife: time.Hour})
	b := token.NewRing(bKeys, token.RingOptions{Clock: clk.Now, MaxTokenLife: time.Hour})
	if err := a.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureKey(ctx); err != nil { // finds a's key, makes none
		t.Fatal(err)
	}
	ia, ib := token.NewIssuer(a, "x", clk.Now), token.NewIssuer(b, "x", clk.Now)
	old, _, err := ia.Issue(ctx, token.Claims{Subject: "1"}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	oldKid := segment(t, old, 0)["kid"]
	clk.Add(time.Minute)
	kid, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _, err := ia.Issue(ctx, token.Claims{Subject: "1"}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := segment(t, fresh, 0)["kid"]; got != kid || got == oldKid {
		t.Fatalf("new token kid %v, want the new key %s", got, kid)
	}

	// b has never seen the new key: it finds it on demand, with one read.
	before := bKeys.reads.Load()
	for _, tok := range []string{old, fresh, fresh} {
		if _, err := ib.Verify(ctx, tok); err != nil {
			t.Fatalf("ring b: %v", err)
		}
	}
	if n := bKeys.reads.Load() - before; n != 1 {
		t.Fatalf("ring b read the keys %d times, want 1", n)
	}
	// b signs with the new key once its keys are a minute old.
	clk.Add(2 * time.Minute)
	viaB, _, err := ib.Issue(ctx, token.Claims{Subject: "1"}, time.Minute)
	if err != nil || segment(t, viaB, 0)["kid"] != kid {
		t.Fatalf("ring b after reload signs with %v (%v), want %s", segment(t, viaB, 0)["kid"], err, kid)
	}

	set := jwks(t, a)
	if len(set.Keys) != 2 || set.Keys[0]["kid"] != kid || set.Keys[1]["kid"] != oldKid {
		t.Fatalf("JWKS after rotation: %v", set)
	}
	// Once every token the old key could have signed has expired, it
	// stops verifying and leaves the JWKS.
	// The verifier's clock stays behind so that the token's own exp does
	// not answer first: the refusal must come from the retired key.
	// ia2 verifies old twice before the window ends, so the token is in
	// its cache of verified tokens: the cache must not outlive the key.
	var behind atomic.Int64
	ia2 := token.NewIssuer(a, "x", func() time.Time { return clk.Now().Add(-time.Duration(behind.Load())) })
	for range 2 {
		if _, err := ia2.Verify(ctx, old); err != nil {
			t.Fatalf("old token while its key is retiring: %v", err)
		}
	}
	clk.Add(2 * time.Hour)
	behind.Store(int64(2 * time.Hour))
	if _, err := ia2.Verify(ctx, old); !errors.Is(err, token.ErrInvalidToken) {
		t.Fatalf("token of a long-retired key: %v", err)
	}
	if set := jwks(t, a); len(set.Keys) != 1 || set.Keys[0]["kid"] != kid {
		t.Fatalf("JWKS after the old key's window: %v", set)
	}
}

// TestSecondProcess: a ring started before a rotation made elsewhere
// verifies tokens signed after it.
func TestSecondProcess(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	first := token.NewRing(st, token.RingOptions{Alg: token.AlgRS256})
	if err := first.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	second := token.NewRing(st, token.RingOptions{})
	if err := second.Load(ctx); err != nil {
		t.Fatal(err)
	}
	// The second process uses its own algorithm for keys it makes, but
	// verifies the first one's RS256 keys by their own algorithm.
	if _, err := first.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	raw, _, err := token.NewIssuer(first, "x", nil).Issue(ctx, token.Claims{Subject: "9"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c, err := token.NewIssuer(second, "x", nil).Verify(ctx, raw)
	if err != nil || c.UserID() != 9 {
		t.Fatalf("second ring: %+v %v", c, err)
	}
}

// TestUnknownKidRateLimit: garbage kids cost at most one read a second, and
// known kids none.
func TestUnknownKidRateLimit(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	keys := &countingKeys{Keys: openStore(t)}
	ring := token.NewRing(keys, token.RingOptions{Clock: clk.Now})
	if err := ring.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	iss := token.NewIssuer(ring, "x", clk.Now)
	raw, _, err := iss.Issue(ctx, token.Claims{Subject: "1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(raw, ".")
	forged := encode(map[string]any{"alg": "EdDSA", "kid": "garbage"}) + "." + parts[1] + "." + parts[2]
	before := keys.reads.Load()
	for range 100 {
		if _, err := iss.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		iss.Verify(ctx, forged)
	}
	if n := keys.reads.Load() - before; n != 1 {
		t.Fatalf("%d reads for 100 unknown kids in one second, want 1", n)
	}
	clk.Add(time.Second)
	iss.Verify(ctx, forged)
	if n := keys.reads.Load() - before; n != 2 {
		t.Fatalf("%d reads a second later, want 2", n)
	}
}

// TestConcurrentStart: servers starting together on an empty database, and
// rotations racing each other, always leave a key that signs.
func TestConcurrentStart(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			r := token.NewRing(st, token.RingOptions{})
			if err := r.EnsureKey(ctx); err != nil {
				errs <- err
				return
			}
			if i%2 == 0 {
				if _, err := r.Rotate(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Long after, when no retired key may sign any more, one still does.
	late := func() time.Time { return time.Now().Add(time.Hour) }
	r := token.NewRing(st, token.RingOptions{Clock: late})
	if err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := token.NewIssuer(r, "x", late).Issue(ctx, token.Claims{Subject: "1"}, time.Minute); err != nil {
		t.Fatalf("no signing key after concurrent rotations: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	iss, ring, _ := newIssuer(t, token.RingOptions{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				raw, _, err := iss.Issue(ctx, token.Claims{Subject: "1"}, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := iss.Verify(ctx, raw); err != nil {
					t.Error(err)
					return
				}
			}
			if i == 0 {
				if _, err := ring.Rotate(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func TestSealedKeys(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []string{token.AlgEdDSA, token.AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			st := openStore(t)
			sealed := token.NewRing(st, token.RingOptions{Alg: alg, KEK: "s3cret"})
			if err := sealed.EnsureKey(ctx); err != nil {
				t.Fatal(err)
			}
			keys, err := st.SigningKeys(ctx, time.Time{})
			if err != nil || len(keys) != 1 || !keys[0].Sealed {
				t.Fatalf("key not sealed at rest: %+v %v", keys, err)
			}
			if _, err := x509.ParsePKCS8PrivateKey(keys[0].PrivateKey); err == nil {
				t.Fatal("sealed private key parses as plain PKCS#8")
			}
			raw, _, err := token.NewIssuer(sealed, "x", nil).Issue(ctx, token.Claims{Subject: "1"}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			// Another process with the same secret opens it and verifies.
			again := token.NewRing(st, token.RingOptions{KEK: "s3cret"})
			if err := again.Load(ctx); err != nil {
				t.Fatalf("right KEK: %v", err)
			}
			if _, err := token.NewIssuer(again, "x", nil).Verify(ctx, raw); err != nil {
				t.Fatalf("verify after reopening: %v", err)
			}
			for _, c := range []struct{ name, kek, want string }{
				{"wrong KEK", "wrong", "wrong key-encryption key"},
				{"no KEK", "", "is sealed"},
			} {
				err := token.NewRing(st, token.RingOptions{KEK: c.kek}).Load(ctx)
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), keys[0].ID) {
					t.Errorf("%s: %v", c.name, err)
				}
			}
		})
	}
}

// TestSealedBlobBoundToKid: a sealed private key copied into another
// key's row does not open, because the kid is authenticated with it.
func TestSealedBlobBoundToKid(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if err := token.NewRing(st, token.RingOptions{KEK: "k"}).EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := st.SigningKeys(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	moved := keys[0]
	moved.ID = "moved"
	st2 := openStore(t)
	if err := st2.CreateSigningKey(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if err := token.NewRing(st2, token.RingOptions{KEK: "k"}).Load(ctx); err == nil {
		t.Fatal("a sealed key opened under another kid")
	}
}

// FuzzVerify: no string panics the verifier, and none but the issued
// token verifies.
func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	st := openStore(f)
	ring := token.NewRing(st, token.RingOptions{})
	if err := ring.EnsureKey(ctx); err != nil {
		f.Fatal(err)
	}
	iss := token.NewIssuer(ring, "x", nil)
	good, want, err := iss.Issue(ctx, token.Claims{Subject: "1", Actor: &token.Actor{Subject: "2"}}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, s := range []string{
		good, "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "", "....", parts[0] + "." + parts[1] + ".",
		parts[0] + ".e30." + parts[2], "eyJhbGciOiJIUzI1NiIsImtpZCI6MX0." + parts[1] + "." + parts[2],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := iss.Verify(ctx, raw)
		if err != nil && !errors.Is(err, token.ErrInvalidToken) && !errors.Is(err, token.ErrExpired) {
			t.Fatalf("Verify(%q) = %v: not a sentinel", raw, err)
		}
		// Only the issued token may verify: anything else is a forgery.
		if err == nil && raw != good {
			t.Fatalf("forged token verified: %q -> %+v (want %+v)", raw, c, want)
		}
	})
}
