package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/spaceauth/spaceauth/internal/third_party/argon2"
)

var (
	// ErrUnknownFormat is returned for a stored hash in no format this
	// package can verify.
	ErrUnknownFormat = errors.New("password: unknown hash format")
	// ErrMalformedHash is returned for a hash in a known format that cannot
	// be read, or whose costs are outside the accepted bounds.
	ErrMalformedHash = errors.New("password: malformed hash")
)

// Params are Argon2id's costs. They are a value handed to NewHasher, never a
// global, so tests can run cheaply while production keeps DefaultParams.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams are the OWASP minimum for Argon2id (SPEC §6).
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
}

// Bounds on Argon2id costs. They apply to hashes read from storage, so that
// a hostile or corrupt hash string (an import, a tampered row) cannot make
// one verification allocate gigabytes or run for minutes, and to the
// hasher's own Params, so that it never writes a hash it would refuse.
// They admit every common deployment (OWASP's, RFC 9106's second
// recommendation of 64 MiB, t=3, p=4) but not RFC 9106's 2 GiB option.
const (
	minMemory  = 8         // KiB; Argon2 also needs 8 KiB per lane
	maxMemory  = 256 << 10 // 256 MiB in KiB
	maxTime    = 16
	maxThreads = 16
	// maxWork caps memory × passes, the real cost of one verification:
	// 1 GiB worth of block passes (e.g. 256 MiB × 4, 64 MiB × 16).
	maxWork    = 1 << 20
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 128
)

// check reports whether p is within the bounds above.
func (p Params) check() error {
	switch {
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("argon2 parallelism %d outside 1..%d", p.Threads, maxThreads)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("argon2 time %d outside 1..%d", p.Time, maxTime)
	case p.Memory < minMemory*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("argon2 memory %d KiB outside %d..%d", p.Memory, minMemory*uint32(p.Threads), maxMemory)
	case uint64(p.Memory)*uint64(p.Time) > maxWork:
		return fmt.Errorf("argon2 memory × time %d above %d", uint64(p.Memory)*uint64(p.Time), maxWork)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("argon2 salt length %d outside %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("argon2 key length %d outside %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// weakerThan reports whether a hash made with p should be redone with want.
// Parallelism is left out: fewer lanes over the same memory cost an
// attacker no less.
func (p Params) weakerThan(want Params) bool {
	return p.Memory < want.Memory || p.Time < want.Time || p.KeyLen < want.KeyLen || p.SaltLen < want.SaltLen
}

// Hasher hashes with its Params and verifies every supported format. It is
// safe for concurrent use.
type Hasher struct {
	p Params
	// dummy is an Argon2id hash with p's costs that no password matches,
	// verified in place of a missing user's hash so that both cost the same.
	dummy string
	bufs  buffers
}

// buffers keeps Argon2id working memory from one hash to the next, so that
// hashing holds one buffer per concurrent hash instead of leaving one of the
// memory cost (19 MiB) as garbage per hash. Kept buffers have the hasher's
// own cost: a stored hash with a smaller one uses the start of a buffer; one
// with a larger cost (an import from a system with stronger parameters)
// gets a heap buffer of its own for that hash, as before, since keeping it
// would hold more than the slots' budget (slots × the hasher's cost). Kept
// buffers come from argon2.NewBuffer, mapped outside the Go heap, so they
// are not part of the heap the soft memory limit paces.
type buffers struct {
	mu   sync.Mutex
	free []*argon2.Buffer
	keep int    // buffers kept at most: one per hashing slot (KeepBuffers)
	size uint32 // blocks of a kept buffer; 0 keeps none
}

// get returns a buffer for a hash of need blocks.
func (b *buffers) get(need uint32) *argon2.Buffer {
	if need > b.size {
		return new(argon2.Buffer) // sized by IDKeyInto, never kept
	}
	b.mu.Lock()
	if n := len(b.free); n > 0 {
		buf := b.free[n-1]
		b.free = b.free[:n-1]
		b.mu.Unlock()
		return buf
	}
	b.mu.Unlock()
	// Allocated at the full size, so that a smaller hash first does not
	// leave a buffer the hasher's own hashes would have to regrow.
	return argon2.NewBuffer(b.size, 1)
}

// put takes back a buffer from get, keeping it if there is room. Its
// contents (derived from the last password) are not wiped: the next hash
// overwrites every block it uses before reading it, a wipe would cost a
// pass over 19 MiB per hash, and whoever can read this process's memory can
// read the passwords in its requests as well.
func (b *buffers) put(buf *argon2.Buffer) {
	if buf.Len() != b.size || b.size == 0 {
		return
	}
	b.mu.Lock()
	if len(b.free) < b.keep {
		b.free = append(b.free, buf)
	}
	b.mu.Unlock()
}

// KeepBuffers sets how many Argon2id buffers the hasher keeps between
// hashes (NewHasher: one per CPU). Set it to the number of hashes that run
// at once, the hashing slots: more hashes at once still work, with buffers
// of their own that are not kept. It is safe to call at any time.
func (h *Hasher) KeepBuffers(n int) {
	h.bufs.mu.Lock()
	defer h.bufs.mu.Unlock()
	h.bufs.keep = max(n, 0)
	if len(h.bufs.free) > h.bufs.keep {
		clear(h.bufs.free[h.bufs.keep:]) // let the collector have them
		h.bufs.free = h.bufs.free[:h.bufs.keep]
	}
}

// idKey is argon2.IDKey in one of the hasher's buffers.
func (h *Hasher) idKey(password, salt []byte, p Params) []byte {
	buf := h.bufs.get(argon2.Blocks(p.Memory, p.Threads))
	defer h.bufs.put(buf)
	return argon2.IDKeyInto(buf, password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// NewHasher returns a Hasher with params p. Zero fields take their
// DefaultParams value; params outside the accepted bounds make every Hash
// fail, so a misconfiguration shows at the first hash, not as a panic.
func NewHasher(p Params) *Hasher {
	d := DefaultParams()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	h := &Hasher{p: p}
	h.bufs.keep = runtime.NumCPU() // the hashing pool's default slots
	if p.check() == nil {
		// Only a hasher within bounds keeps buffers: a misconfigured one
		// hashes nothing, and its memory cost could be anything.
		h.bufs.size = argon2.Blocks(p.Memory, p.Threads)
		// A random salt and a random key in the hasher's own format: as
		// costly to verify as any real hash, and matched by no password
		// anyone knows. Building it hashes nothing, so start-up neither
		// waits for Argon2id nor leaves its 19 MiB buffer behind (the
		// start-up and idle-memory measurements of issue 6).
		salt, key := make([]byte, p.SaltLen), make([]byte, p.KeyLen)
		rand.Read(salt)
		rand.Read(key)
		h.dummy = phc(p, salt, key)
	}
	return h
}

// Prefix is the start every hash this hasher writes shares (format and
// costs, before the salt): a stored hash without it is legacy or weaker.
func (h *Hasher) Prefix() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, h.p.Memory, h.p.Time, h.p.Threads)
}

// CostClass names what verifying encoded costs: its format and cost
// parameters, the same for every hash that takes the same work ("" when
// encoded is unreadable). Callers use it to find the costliest kind of hash
// in store without verifying each.
func (h *Hasher) CostClass(encoded string) string {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, _, _, err := parsePHC(encoded)
		if err != nil {
			return ""
		}
		return fmt.Sprintf("argon2id:m=%d,t=%d,p=%d,l=%d", p.Memory, p.Time, p.Threads, p.KeyLen)
	case isBcrypt(encoded):
		if checkBcrypt(encoded) != nil {
			return ""
		}
		return "bcrypt:" + encoded[4:6]
	default:
		a, err := parseASPNet(encoded)
		if err != nil {
			return ""
		}
		return fmt.Sprintf("aspnet:%d:%d", a.prf().Size(), a.iter)
	}
}

// Params returns the hasher's costs.
func (h *Hasher) Params() Params { return h.p }

// Hash returns password's Argon2id PHC string with a fresh random salt.
func (h *Hasher) Hash(password string) (string, error) {
	if err := h.p.check(); err != nil {
		return "", fmt.Errorf("password: hasher params: %w", err)
	}
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := h.idKey([]byte(password), salt, h.p)
	return phc(h.p, salt, key), nil
}

// phc writes an Argon2id PHC string.
func phc(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Verify checks password against encoded in any supported format. ok is
// the verdict. needsRehash is true, only alongside ok, when the hash is a
// legacy format or weaker than the hasher's Params: the caller then stores
// a fresh Hash of the password it just proved. err is only for a hash
// string that cannot be read (ErrUnknownFormat, ErrMalformedHash).
func (h *Hasher) Verify(password, encoded string) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, salt, key, err := parsePHC(encoded)
		if err != nil {
			return false, false, err
		}
		got := h.idKey([]byte(password), salt, p)
		ok = subtle.ConstantTimeCompare(got, key) == 1
		return ok, ok && p.weakerThan(h.p), nil
	case isBcrypt(encoded):
		ok, err := verifyBcrypt(password, encoded)
		return ok, ok, err
	default:
		ok, err := verifyASPNet(password, encoded)
		return ok, ok, err
	}
}

// VerifyDummy does the work of one verification against a hash nobody
// holds, so that an unknown email costs what a known one does.
func (h *Hasher) VerifyDummy(password string) {
	// The result is meaningless by design: only the time spent matters.
	_, _, _ = h.Verify(password, h.dummy)
}

// Recognize reports whether encoded is in a format Verify can check,
// without doing the (expensive) verification. It is for imports, which
// should refuse a hash no sign-in could ever match.
func (h *Hasher) Recognize(encoded string) error {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		_, _, _, err := parsePHC(encoded)
		return err
	case isBcrypt(encoded):
		return checkBcrypt(encoded)
	default:
		_, err := parseASPNet(encoded)
		return err
	}
}

// parsePHC reads $argon2id$v=19$m=..,t=..,p=..$salt$key within bounds. Only
// the canonical spelling this package writes is accepted: other PHC
// spellings (reordered parameters, keyid/data fields) are not produced by
// any system we import from, and strictness keeps the parser small.
func parsePHC(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id: want 5 $-separated fields", ErrMalformedHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id: version %.20q", ErrMalformedHash, parts[2])
	}
	var p Params
	var threads uint32
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id: parameters %.40q", ErrMalformedHash, parts[3])
	}
	for i, dst := range []*uint32{&p.Memory, &p.Time, &threads} {
		name := [...]string{"m=", "t=", "p="}[i]
		v, ok := strings.CutPrefix(fields[i], name)
		// Leading zeros and signs are refused so that one hash has one
		// spelling; 10 digits already exceed every bound.
		if !ok || v == "" || len(v) > 10 || (v[0] == '0' && v != "0") || strings.TrimLeft(v, "0123456789") != "" {
			return Params{}, nil, nil, fmt.Errorf("%w: argon2id: parameters %.40q", ErrMalformedHash, parts[3])
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Params{}, nil, nil, fmt.Errorf("%w: argon2id: parameters %.40q", ErrMalformedHash, parts[3])
		}
		*dst = uint32(n)
	}
	if threads > maxThreads {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2 parallelism %d above %d", ErrMalformedHash, threads, maxThreads)
	}
	p.Threads = uint8(threads)
	// Decoded lengths are bounded by the string's, so checking them after
	// decoding costs at most one copy of the (already in memory) input.
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id salt: %v", ErrMalformedHash, err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id key: %v", ErrMalformedHash, err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.check(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}
