package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

var cheap = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestArgon2RoundTrip(t *testing.T) {
	h := NewHasher(cheap)
	enc, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC string: %s", enc)
	}
	if ok, rehash, err := h.Verify("correct horse", enc); !ok || rehash || err != nil {
		t.Fatalf("Verify = %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify("correct horsE", enc); ok {
		t.Fatal("wrong password accepted")
	}
	other, _ := h.Hash("correct horse")
	if other == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	// A stronger hasher wants the weaker hash upgraded.
	strong := NewHasher(Params{Memory: 128, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16})
	if ok, rehash, _ := strong.Verify("correct horse", enc); !ok || !rehash {
		t.Fatalf("upgrade not requested: ok=%v rehash=%v", ok, rehash)
	}
}

func TestDefaultParamsMeetSpec(t *testing.T) {
	p := DefaultParams()
	if p.Memory < 19456 || p.Time < 2 || p.Threads < 1 {
		t.Fatalf("default params below SPEC §6: %+v", p)
	}
	enc, err := NewHasher(p).Hash("x")
	if err != nil || !strings.Contains(enc, "m=19456,t=2,p=1") {
		t.Fatalf("%s %v", enc, err)
	}
}

func TestLegacyFormats(t *testing.T) {
	h := NewHasher(cheap)
	bc, err := bcrypt.GenerateFromPassword([]byte("legacy pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	v2key, _ := pbkdf2.Key(sha1.New, "legacy pass", salt, 1000, 32)
	v2 := base64.StdEncoding.EncodeToString(append(append([]byte{0}, salt...), v2key...))
	v3key, _ := pbkdf2.Key(sha256.New, "legacy pass", salt, 10000, 32)
	v3b := []byte{1}
	v3b = binary.BigEndian.AppendUint32(v3b, 1)
	v3b = binary.BigEndian.AppendUint32(v3b, 10000)
	v3b = binary.BigEndian.AppendUint32(v3b, uint32(len(salt)))
	v3 := base64.StdEncoding.EncodeToString(append(append(v3b, salt...), v3key...))
	for name, enc := range map[string]string{"bcrypt": string(bc), "aspnet v2": v2, "aspnet v3": v3} {
		t.Run(name, func(t *testing.T) {
			if err := h.Recognize(enc); err != nil {
				t.Fatalf("Recognize: %v", err)
			}
			if ok, rehash, err := h.Verify("legacy pass", enc); !ok || !rehash || err != nil {
				t.Fatalf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
			}
			if ok, _, err := h.Verify("wrong pass", enc); ok || err != nil {
				t.Fatalf("wrong password: ok=%v err=%v", ok, err)
			}
		})
	}
}

func TestMalformedHashes(t *testing.T) {
	h := NewHasher(cheap)
	for _, enc := range []string{
		"", "plain", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$2a$99$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
		base64.StdEncoding.EncodeToString([]byte{1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 16}),
	} {
		if err := h.Recognize(enc); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Recognize(%q) = %v", enc, err)
		}
		if ok, _, err := h.Verify("x", enc); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v", enc, ok, err)
		}
	}
}

func TestPolicy(t *testing.T) {
	p, err := NewPolicy()
	if err != nil {
		t.Fatal(err)
	}
	if p.CommonCount() < 10000 {
		t.Fatalf("only %d common passwords bundled", p.CommonCount())
	}
	cases := []struct{ pw, email, reason string }{
		{"short", "a@b.co", "password_too_short"},
		{"ñandúñan", "a@b.co", ""}, // 8 code points, more bytes
		{strings.Repeat("x", 257), "a@b.co", "password_too_long"},
		{strings.Repeat("xy", 128), "a@b.co", ""},
		{"password", "a@b.co", "password_common"},
		{"PassWord1", "a@b.co", "password_common"},
		{"iloveyou", "a@b.co", "password_common"},
		{"Alice.Martin@Example.com", "alice.martin@example.com", "password_is_email"},
		{"alice.martin", "alice.martin@example.com", "password_is_email"},
		{"correct horse battery", "a@b.co", ""},
	}
	for _, c := range cases {
		err := p.Check(c.pw, c.email)
		var pe *PolicyError
		switch {
		case c.reason == "" && err != nil:
			t.Errorf("Check(%q) = %v, want nil", c.pw, err)
		case c.reason != "" && (!errors.As(err, &pe) || pe.Reason != c.reason):
			t.Errorf("Check(%q) = %v, want %s", c.pw, err, c.reason)
		}
	}
}

// FuzzVerify: hostile hash strings never panic and never verify.
func FuzzVerify(f *testing.F) {
	h := NewHasher(cheap)
	good, _ := h.Hash("pw")
	for _, s := range []string{good, "$2a$04$abcdefghijklmnopqrstuu", "AAAA", "AQAAAAEAACcQAAAAEA==", "$argon2id$v=19$m=1,t=1,p=1$$", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, enc string) {
		if enc == good {
			return
		}
		ok, _, err := h.Verify("pw", enc)
		if ok && err != nil {
			t.Fatalf("ok with error for %q", enc)
		}
		h.Recognize(enc)
	})
}
