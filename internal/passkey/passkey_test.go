package passkey_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/passkey"
	"github.com/spaceauth/spaceauth/internal/passkey/passkeytest"
)

// registered is a verifier of the demo relying party with one credential
// that a software authenticator registered for Ana.
func registered(t *testing.T) (*passkey.Verifier, passkey.RP, passkey.Account, *passkeytest.Credential, passkey.Verified) {
	t.Helper()
	v := passkey.NewVerifier(time.Minute)
	rp := passkey.RP{ID: "demo.localhost", Origin: "http://demo.localhost:8080", Name: "Demo"}
	acct := passkey.Account{Handle: []byte("user-1"), Name: "ana@example.com", DisplayName: "Ana"}
	opts, sess, err := v.BeginRegistration(rp, acct)
	if err != nil {
		t.Fatal(err)
	}
	var a passkeytest.Authenticator
	resp, cred, err := a.Register(rp.Origin, opts)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := v.FinishRegistration(rp, acct, sess, resp)
	if err != nil {
		t.Fatalf("registration: %v", err)
	}
	return v, rp, acct, cred, reg
}

// TestCeremonies registers a credential with the software authenticator,
// signs in with it, and refuses what must be refused: another origin,
// another relying party, a reused session, a counter that went backwards.
func TestCeremonies(t *testing.T) {
	v, rp, acct, cred, reg := registered(t)
	if !bytes.Equal(reg.CredentialID, cred.ID) {
		t.Fatalf("credential id %x, want %x", reg.CredentialID, cred.ID)
	}
	lookup := func(id, handle []byte) (passkey.Account, error) {
		acct.Credentials = [][]byte{reg.Data}
		return acct, nil
	}
	login := func(t *testing.T, origin, rpID string, counter uint32) error {
		opts, sess, err := v.BeginLogin(rp)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := passkeytest.Challenge(opts)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cred.AssertWithCounter(origin, rpID, ch, counter)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.FinishLogin(rp, sess, resp, lookup)
		if err == nil && got.CloneWarning {
			return errors.New("clone warning")
		}
		return err
	}
	if err := login(t, rp.Origin, rp.ID, 1); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	for _, c := range []struct {
		name, origin, rpID string
	}{
		{"other port", "http://demo.localhost:9090", rp.ID},
		{"other scheme", "https://demo.localhost:8080", rp.ID},
		{"other host", "http://evil.localhost:8080", rp.ID},
		{"other relying party", rp.Origin, "evil.localhost"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := login(t, c.origin, c.rpID, 5); !errors.Is(err, passkey.ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("counter not increasing", func(t *testing.T) {
		reg.Data = mustFinish(t, v, rp, cred, lookup, 7)
		if err := login(t, rp.Origin, rp.ID, 7); err == nil {
			t.Error("a repeated counter was accepted without a clone warning")
		}
	})
}

func mustFinish(t *testing.T, v *passkey.Verifier, rp passkey.RP, cred *passkeytest.Credential, lookup passkey.Lookup, counter uint32) []byte {
	t.Helper()
	opts, sess, err := v.BeginLogin(rp)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := passkeytest.Challenge(opts)
	resp, err := cred.AssertWithCounter(rp.Origin, rp.ID, ch, counter)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.FinishLogin(rp, sess, resp, lookup)
	if err != nil || got.CloneWarning {
		t.Fatalf("sign-in with counter %d: %v (clone %v)", counter, err, got.CloneWarning)
	}
	return got.Data
}

// TestSigner checks the load generator's lean assertions against the
// verifier: they sign in, their counter moves, and they carry the same
// client data and authenticator data as Assert's.
func TestSigner(t *testing.T) {
	v, rp, acct, cred, reg := registered(t)
	count := reg.SignCount
	lookup := func(id, handle []byte) (passkey.Account, error) {
		acct.Credentials, acct.SignCounts = [][]byte{reg.Data}, []uint32{count}
		return acct, nil
	}
	s := passkeytest.NewSigner(cred, rp.Origin, rp.ID)
	var buf []byte
	for i := range 3 {
		opts, sess, err := v.BeginLogin(rp)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := passkeytest.Challenge(opts)
		if err != nil {
			t.Fatal(err)
		}
		if buf, err = s.AppendAssertion(buf[:0], []byte(ch)); err != nil {
			t.Fatal(err)
		}
		got, err := v.FinishLogin(rp, sess, buf, lookup)
		if err != nil || got.CloneWarning {
			t.Fatalf("sign-in %d: %v (clone %v)", i, err, got.CloneWarning)
		}
		if got.SignCount != count+1 {
			t.Fatalf("sign-in %d: counter %d, want %d", i, got.SignCount, count+1)
		}
		count = got.SignCount
		// Apart from the signature, the same JSON as Assert's.
		want, err := cred.AssertWithCounter(rp.Origin, rp.ID, ch, count)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := withoutSignature(t, buf), withoutSignature(t, want); a != b {
			t.Fatalf("assertion %s\nwant %s", a, b)
		}
	}
}

func withoutSignature(t *testing.T, cred []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(cred, &m); err != nil {
		t.Fatal(err)
	}
	delete(m["response"].(map[string]any), "signature")
	out, _ := json.Marshal(m)
	return string(out)
}
