package password

import (
	"encoding/base64"
	"fmt"
	"sync"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"

	"github.com/spaceauth/spaceauth/internal/third_party/argon2"
)

// upstreamPHC is a PHC string whose key x/crypto's own argon2.IDKey made.
func upstreamPHC(pw string, p Params, salt string) string {
	key := xargon2.IDKey([]byte(pw), []byte(salt), p.Time, p.Memory, p.Threads, p.KeyLen)
	return phc(p, []byte(salt), key)
}

// TestVerifyReusedBuffers: stored hashes made by x/crypto with costs below,
// at and above the hasher's own verify on one hasher that keeps a single
// buffer, back to back, so each verification starts on the blocks of the
// one before; wrong passwords still fail. Only buffers of the hasher's own
// size are kept.
func TestVerifyReusedBuffers(t *testing.T) {
	own := Params{Memory: 256, Time: 2, Threads: 2, KeyLen: 32, SaltLen: 16}
	h := NewHasher(own)
	h.KeepBuffers(1)
	stored := []Params{
		{Memory: 64, Time: 1, Threads: 1, KeyLen: 32},
		own,
		{Memory: 512, Time: 1, Threads: 4, KeyLen: 64}, // larger: a buffer of its own
		{Memory: 200, Time: 3, Threads: 3, KeyLen: 16},
		{Memory: 8, Time: 1, Threads: 1, KeyLen: 32},
		own,
	}
	for round := range 2 {
		for i, p := range stored {
			pw := fmt.Sprintf("password %d", i)
			enc := upstreamPHC(pw, p, fmt.Sprintf("salt-%d-%d", round, i))
			if ok, _, err := h.Verify(pw, enc); !ok || err != nil {
				t.Fatalf("round %d, %+v: Verify(right) = %v, %v", round, p, ok, err)
			}
			if ok, _, err := h.Verify(pw+"!", enc); ok || err != nil {
				t.Fatalf("round %d, %+v: Verify(wrong) = %v, %v", round, p, ok, err)
			}
		}
	}
	h.bufs.mu.Lock()
	defer h.bufs.mu.Unlock()
	if len(h.bufs.free) != 1 || h.bufs.free[0].Len() != 256 {
		t.Fatalf("kept %d buffers, want one of 256 blocks", len(h.bufs.free))
	}
}

// TestHashMatchesUpstream: the hasher's own hashes, made in kept buffers,
// are x/crypto's keys for their salt.
func TestHashMatchesUpstream(t *testing.T) {
	h := NewHasher(cheap)
	for i := range 3 {
		pw := fmt.Sprintf("pw %d", i)
		enc, err := h.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		p, salt, key, err := parsePHC(enc)
		if err != nil {
			t.Fatal(err)
		}
		want := xargon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		if got := base64.RawStdEncoding.EncodeToString(key); got != base64.RawStdEncoding.EncodeToString(want) {
			t.Fatalf("hash %d: key %s, x/crypto %x", i, got, want)
		}
	}
}

// TestKeepBuffers: the hasher keeps at most the buffers it is told to, of
// its own size, and none when its params are out of bounds.
func TestKeepBuffers(t *testing.T) {
	tests := []struct {
		name      string
		p         Params
		keep, use int
		want      int
	}{
		{"fewer in use than kept", cheap, 4, 2, 2},
		{"more in use than kept", cheap, 2, 5, 2},
		{"keep none", cheap, 0, 3, 0},
		{"misconfigured", Params{Memory: 1 << 30, Time: 1, Threads: 1}, 4, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHasher(tt.p)
			h.KeepBuffers(tt.keep)
			// use buffers at once, as that many slots would, then give back.
			var held []*argon2.Buffer
			for range tt.use {
				held = append(held, h.bufs.get(argon2.Blocks(tt.p.Memory, tt.p.Threads)))
			}
			for _, b := range held {
				h.bufs.put(b)
			}
			if got := len(h.bufs.free); got != tt.want {
				t.Fatalf("kept %d, want %d", got, tt.want)
			}
		})
	}
}

// TestConcurrentHashing: hashes and verifications from more goroutines than
// kept buffers agree with x/crypto (run with -race: no buffer is shared by
// two hashes at once).
func TestConcurrentHashing(t *testing.T) {
	h := NewHasher(Params{Memory: 128, Time: 1, Threads: 2, KeyLen: 32, SaltLen: 16})
	h.KeepBuffers(2)
	other := Params{Memory: 64, Time: 2, Threads: 1, KeyLen: 32}
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 5 {
				pw := fmt.Sprintf("pw-%d-%d", w, r)
				enc, err := h.Hash(pw)
				if err != nil {
					errs <- err
					return
				}
				for _, e := range []string{enc, upstreamPHC(pw, other, "some salt")} {
					if ok, _, err := h.Verify(pw, e); !ok || err != nil {
						errs <- fmt.Errorf("worker %d round %d: Verify(%s) = %v, %v", w, r, e, ok, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
