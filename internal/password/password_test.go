package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// cheap keeps the tests fast; the cost is a value, never a global.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestArgon2RoundTrip(t *testing.T) {
	h := NewHasher(cheap)
	enc, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Count(enc, "$") != 5 {
		t.Fatalf("not a PHC string: %s", enc)
	}
	if err := h.Recognize(enc); err != nil {
		t.Fatalf("Recognize: %v", err)
	}
	other, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if other == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for _, c := range []struct {
		name, pw string
		ok       bool
	}{
		{"right", "correct horse", true},
		{"case", "correct horsE", false},
		{"prefix", "correct hors", false},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(c.pw, enc)
			if ok != c.ok || rehash || err != nil {
				t.Fatalf("Verify = %v %v %v, want %v false nil", ok, rehash, err, c.ok)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	stored, err := NewHasher(cheap).Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(*Params)) Params { p := cheap; f(&p); return p }
	for _, c := range []struct {
		name   string
		hasher Params
		want   bool
	}{
		{"same", cheap, false},
		{"more memory", with(func(p *Params) { p.Memory = 128 }), true},
		{"more time", with(func(p *Params) { p.Time = 2 }), true},
		{"longer key", with(func(p *Params) { p.KeyLen = 64 }), true},
		{"longer salt", with(func(p *Params) { p.SaltLen = 32 }), true},
		{"weaker hasher", with(func(p *Params) { p.KeyLen = 16 }), false},
		{"other parallelism", with(func(p *Params) { p.Threads = 2; p.Memory = 64 }), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := NewHasher(c.hasher)
			ok, rehash, err := h.Verify("pw", stored)
			if !ok || rehash != c.want || err != nil {
				t.Fatalf("Verify = %v %v %v, want rehash %v", ok, rehash, err, c.want)
			}
			// A wrong password never asks for an upgrade: the caller
			// must not store a hash of it.
			if ok, rehash, _ := h.Verify("wrong", stored); ok || rehash {
				t.Fatalf("wrong password: ok=%v rehash=%v", ok, rehash)
			}
		})
	}
}

func TestDefaultParamsMeetSpec(t *testing.T) {
	p := DefaultParams()
	if p.Memory < 19456 || p.Time < 2 || p.Threads < 1 || p.KeyLen < 32 || p.SaltLen < 16 {
		t.Fatalf("default params below SPEC §6: %+v", p)
	}
	enc, err := NewHasher(p).Hash("x")
	if err != nil || !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("%s %v", enc, err)
	}
}

func TestHasherParams(t *testing.T) {
	if got := NewHasher(Params{}).Params(); got != DefaultParams() {
		t.Fatalf("zero Params = %+v, want the defaults", got)
	}
	// Costs this package would refuse to read back must not be written:
	// Hash fails instead of producing a hash nobody can sign in with.
	for _, p := range []Params{
		{Memory: 1 << 30, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Memory: 64, Time: 100, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Memory: 64, Time: 1, Threads: 1, KeyLen: 4, SaltLen: 16},
		{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 4},
		{Memory: 64, Time: 1, Threads: 200, KeyLen: 32, SaltLen: 16},
	} {
		if enc, err := NewHasher(p).Hash("pw"); err == nil {
			t.Errorf("Hash with %+v = %s, want an error", p, enc)
		}
	}
}

func TestVerifyDummy(t *testing.T) {
	h := NewHasher(cheap)
	// The dummy must cost what a real hash does: same algorithm, same
	// params.
	p, _, _, err := parsePHC(h.dummy)
	if err != nil || p != cheap {
		t.Fatalf("dummy hash %q: %+v %v", h.dummy, p, err)
	}
	h.VerifyDummy("anything")
}

// aspnet builds an ASP.NET Identity hash the way ASP.NET does.
func aspnet(t *testing.T, v3 bool, prf uint32, newHash func() hash.Hash, iter int, salt []byte, pw string) string {
	t.Helper()
	keyLen := 32
	if !v3 {
		key, err := pbkdf2.Key(sha1.New, pw, salt, 1000, keyLen)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(append(append([]byte{0}, salt...), key...))
	}
	key, err := pbkdf2.Key(newHash, pw, salt, iter, keyLen)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{1}
	b = binary.BigEndian.AppendUint32(b, prf)
	b = binary.BigEndian.AppendUint32(b, uint32(iter))
	b = binary.BigEndian.AppendUint32(b, uint32(len(salt)))
	return base64.StdEncoding.EncodeToString(append(append(b, salt...), key...))
}

func TestLegacyFormats(t *testing.T) {
	h := NewHasher(cheap)
	const pw = "legacy pass"
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 40) // 80 bytes: bcrypt keys on the first 72
	bcLong, err := bcrypt.GenerateFromPassword([]byte(long[:72]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	for _, c := range []struct {
		name, enc, pw string
	}{
		{"bcrypt 2a", string(bc), pw},
		{"bcrypt 2b", "$2b$" + string(bc[4:]), pw},
		{"bcrypt 2y", "$2y$" + string(bc[4:]), pw},
		{"bcrypt over 72 bytes", string(bcLong), long},
		{"aspnet v2", aspnet(t, false, 0, nil, 0, salt, pw), pw},
		{"aspnet v3 sha1", aspnet(t, true, 0, sha1.New, 10000, salt, pw), pw},
		{"aspnet v3 sha256", aspnet(t, true, 1, sha256.New, 10000, salt, pw), pw},
		{"aspnet v3 sha512", aspnet(t, true, 2, sha512.New, 100000, salt[:12], pw), pw},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := h.Recognize(c.enc); err != nil {
				t.Fatalf("Recognize: %v", err)
			}
			if ok, rehash, err := h.Verify(c.pw, c.enc); !ok || !rehash || err != nil {
				t.Fatalf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
			}
			if ok, rehash, err := h.Verify("wrong pass", c.enc); ok || rehash || err != nil {
				t.Fatalf("wrong password: ok=%v rehash=%v err=%v", ok, rehash, err)
			}
		})
	}
}

func TestMalformedHashes(t *testing.T) {
	h := NewHasher(cheap)
	v3 := func(prf, iter, saltLen uint32, rest int) string {
		b := []byte{1}
		b = binary.BigEndian.AppendUint32(b, prf)
		b = binary.BigEndian.AppendUint32(b, iter)
		b = binary.BigEndian.AppendUint32(b, saltLen)
		return base64.StdEncoding.EncodeToString(append(b, make([]byte, rest)...))
	}
	const salt, key = "c2FsdHNhbHRzYWx0", "a2V5a2V5a2V5a2V5a2V5a2V5"
	for _, c := range []struct {
		name, enc string
		want      error
	}{
		{"empty", "", ErrUnknownFormat},
		{"plain text", "plain", ErrUnknownFormat},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, ErrUnknownFormat},
		{"unknown base64 marker", base64.StdEncoding.EncodeToString([]byte{7, 1, 2, 3}), ErrUnknownFormat},
		{"argon2 no key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$", ErrMalformedHash},
		{"argon2 extra field", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$", ErrMalformedHash},
		{"argon2 huge memory", "$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 memory overflow", "$argon2id$v=19$m=99999999999,t=1,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 huge time", "$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 huge work", "$argon2id$v=19$m=262144,t=16,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 zero time", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 zero threads", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 threads over uint8", "$argon2id$v=19$m=4096,t=1,p=257$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 memory below lanes", "$argon2id$v=19$m=16,t=1,p=4$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 reordered", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 signed", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"argon2 short salt", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key, ErrMalformedHash},
		{"argon2 bad base64", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$a2V5!!", ErrMalformedHash},
		{"argon2 long key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("A", 200), ErrMalformedHash},
		{"bcrypt huge cost", "$2a$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz0123456", ErrMalformedHash},
		{"bcrypt truncated", "$2a$04$abcdefghijklmnopqrstuu", ErrMalformedHash},
		{"aspnet v2 short", base64.StdEncoding.EncodeToString(make([]byte, 20)), ErrMalformedHash},
		{"aspnet v3 header only", base64.StdEncoding.EncodeToString([]byte{1, 0, 0}), ErrMalformedHash},
		{"aspnet v3 huge iterations", v3(1, 0xffffffff, 16, 48), ErrMalformedHash},
		{"aspnet v3 zero iterations", v3(1, 0, 16, 48), ErrMalformedHash},
		{"aspnet v3 unknown prf", v3(9, 1000, 16, 48), ErrMalformedHash},
		{"aspnet v3 salt past end", v3(1, 1000, 0xffffffff, 48), ErrMalformedHash},
		{"aspnet v3 no subkey", v3(1, 1000, 16, 16), ErrMalformedHash},
		{"aspnet v3 huge subkey", v3(1, 1000, 16, 16+4096), ErrMalformedHash},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := h.Recognize(c.enc); !errors.Is(err, c.want) {
				t.Errorf("Recognize = %v, want %v", err, c.want)
			}
			if ok, rehash, err := h.Verify("x", c.enc); ok || rehash || !errors.Is(err, c.want) {
				t.Errorf("Verify = %v, %v, %v; want %v", ok, rehash, err, c.want)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	p := DefaultPolicy()
	if p.MinLen != 8 || p.MaxLen != 256 {
		t.Fatalf("DefaultPolicy lengths %d..%d", p.MinLen, p.MaxLen)
	}
	if p.CommonCount() < 10000 {
		t.Fatalf("only %d common passwords bundled", p.CommonCount())
	}
	for _, c := range []struct{ name, pw, email, reason string }{
		{"short", "short", "a@b.co", ReasonTooShort},
		{"empty", "", "a@b.co", ReasonTooShort},
		{"code points not bytes", "ñandúñan", "a@b.co", ""}, // 8 code points, 11 bytes
		{"7 code points in 14 bytes", "ññññññññ"[2:], "a@b.co", ReasonTooShort},
		{"too long", strings.Repeat("x", 257), "a@b.co", ReasonTooLong},
		{"at the maximum", strings.Repeat("xy", 128), "a@b.co", ""},
		{"long in code points", strings.Repeat("ñ", 257), "a@b.co", ReasonTooLong},
		{"common", "password", "a@b.co", ReasonCommon},
		{"common any case", "PassWord1", "a@b.co", ReasonCommon},
		{"common from deep in the list", "iloveyou", "a@b.co", ReasonCommon},
		{"email", "Alice.Martin@Example.com", "alice.martin@example.com", ReasonIsEmail},
		{"email with spaces", "alice.martin@example.com", " Alice.Martin@example.com ", ReasonIsEmail},
		{"email local part", "Alice.Martin", "alice.martin@example.com", ReasonIsEmail},
		{"contains the email is fine", "alice.martin@example.com!", "alice.martin@example.com", ""},
		{"no email given", "correct horse battery", "", ""},
		{"good", "correct horse battery", "a@b.co", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := p.Check(c.pw, c.email)
			var pe *PolicyError
			switch {
			case c.reason == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case c.reason != "" && (!errors.As(err, &pe) || pe.Reason != c.reason):
				t.Errorf("Check = %v, want %s", err, c.reason)
			}
		})
	}
	// A literal Policy builds the common set on first use.
	lit := &Policy{MinLen: 8, MaxLen: 256}
	var pe *PolicyError
	if err := lit.Check("qwertyuiop", ""); !errors.As(err, &pe) || pe.Reason != ReasonCommon {
		t.Fatalf("literal Policy: %v", err)
	}
}

// FuzzVerify: hostile hash strings never panic, never verify, and only
// ever fail with one of the two sentinels.
func FuzzVerify(f *testing.F) {
	h := NewHasher(cheap)
	good, err := h.Hash("pw")
	if err != nil {
		f.Fatal(err)
	}
	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for _, s := range []string{
		good, string(bc), "$2a$04$abcdefghijklmnopqrstuu", "AAAA", "AQAAAAEAACcQAAAAEA==",
		"$argon2id$v=19$m=1,t=1,p=1$$", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "",
		"AQAAAAIAAYagAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, enc string) {
		if enc == good || enc == string(bc) {
			return
		}
		// Bounded: the fuzzer must not be able to find a hash string that
		// asks for more than the limits allow.
		if p, _, _, err := parsePHC(enc); err == nil && uint64(p.Memory)*uint64(p.Time) > maxWork {
			t.Fatalf("accepted work %d for %q", uint64(p.Memory)*uint64(p.Time), enc)
		}
		rerr := h.Recognize(enc)
		if rerr != nil && !errors.Is(rerr, ErrUnknownFormat) && !errors.Is(rerr, ErrMalformedHash) {
			t.Fatalf("Recognize(%q) = %v: not a sentinel", enc, rerr)
		}
		ok, _, err := h.Verify("pw", enc)
		if ok && err != nil {
			t.Fatalf("ok with error for %q", enc)
		}
		if (err == nil) != (rerr == nil) {
			t.Fatalf("Recognize and Verify disagree on %q: %v / %v", enc, rerr, err)
		}
	})
}

// FuzzPolicy: any input gets a verdict without panicking, and the verdict
// agrees with the length rules.
func FuzzPolicy(f *testing.F) {
	p := DefaultPolicy()
	for _, s := range [][2]string{
		{"password", "a@b.co"}, {"", ""}, {"ñandúñan", "x@y"}, {"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", ""},
		{"ALICE@EXAMPLE.COM", "alice@example.com"}, {strings.Repeat("a", 300), ""}, {"İstanbul1", "@"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pw, email string) {
		err := p.Check(pw, email)
		n := len([]rune(pw))
		var pe *PolicyError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("Check(%q) = %v: not a *PolicyError", pw, err)
		}
		switch {
		case n < p.MinLen && (pe == nil || pe.Reason != ReasonTooShort):
			t.Fatalf("Check(%q) = %v, want too short", pw, err)
		case n > p.MaxLen && (pe == nil || pe.Reason != ReasonTooLong):
			t.Fatalf("Check(%q) = %v, want too long", pw, err)
		}
	})
}

// TestCostClass: hashes that cost the same share a class, different costs
// do not, and unreadable hashes have none.
func TestCostClass(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	a1, _ := h.Hash("one password")
	a2, _ := h.Hash("another password")
	if !strings.HasPrefix(a1, h.Prefix()) || h.CostClass(a1) == "" || h.CostClass(a1) != h.CostClass(a2) {
		t.Fatalf("argon2id: prefix %q, classes %q %q", h.Prefix(), h.CostClass(a1), h.CostClass(a2))
	}
	stronger, _ := NewHasher(Params{Memory: 128, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}).Hash("x")
	b10a, _ := bcrypt.GenerateFromPassword([]byte("a"), 10)
	b10b, _ := bcrypt.GenerateFromPassword([]byte("b"), 10)
	b11, _ := bcrypt.GenerateFromPassword([]byte("a"), 11)
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{a1, stronger, false},
		{string(b10a), string(b10b), true},
		{string(b10a), string(b11), false},
		{string(b10a), a1, false},
	} {
		ca, cb := h.CostClass(tc.a), h.CostClass(tc.b)
		if ca == "" || cb == "" || (ca == cb) != tc.same {
			t.Errorf("classes %q and %q: same=%v, want %v", ca, cb, ca == cb, tc.same)
		}
	}
	for _, bad := range []string{"", "$argon2id$v=19$nonsense", "$2a$99$short", "not a hash"} {
		if c := h.CostClass(bad); c != "" {
			t.Errorf("class of %q: %q, want none", bad, c)
		}
	}
}
