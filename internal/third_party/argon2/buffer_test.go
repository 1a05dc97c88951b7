package argon2

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// implementations runs f once per block function this CPU offers (the
// assembly one, then the generic one), restoring the choice after.
func implementations(t *testing.T, f func(t *testing.T)) {
	defer func(sse4, lsx bool) { useSSE4, useLSX = sse4, lsx }(useSSE4, useLSX)
	if useSSE4 || useLSX {
		t.Run("vector", f)
		useSSE4, useLSX = false, false
	}
	t.Run("generic", f)
}

// TestIDKeyIntoMatchesUpstream: IDKeyInto returns x/crypto's IDKey byte for
// byte over a table of parameters, both with a fresh buffer and with one
// buffer reused across all of them, so that each derivation starts on the
// previous one's blocks (larger, smaller and equal sizes, other lanes).
func TestIDKeyIntoMatchesUpstream(t *testing.T) {
	type params struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}
	var table []params
	for _, threads := range []uint8{1, 2, 3, 4} {
		for _, perLane := range []uint32{8, 9, 16, 33, 64} { // 9 and 33: memory not a multiple of 4 × lanes
			for _, time := range []uint32{1, 2, 3} {
				for _, keyLen := range []uint32{16, 32, 64} {
					table = append(table, params{time, perLane * uint32(threads), threads, keyLen})
				}
			}
		}
	}
	inputs := []struct{ password, salt string }{
		{"", "saltsalt"},
		{"correct horse battery staple", "0123456789abcdef"},
		{"pässwörd\x00with nul", "a much longer salt of sixty-four bytes, give or take some bytes."},
	}
	implementations(t, func(t *testing.T) {
		shared := new(Buffer) // dirty from the second derivation on
		for _, p := range table {
			for _, in := range inputs {
				want := xargon2.IDKey([]byte(in.password), []byte(in.salt), p.time, p.memory, p.threads, p.keyLen)
				fresh := IDKeyInto(new(Buffer), []byte(in.password), []byte(in.salt), p.time, p.memory, p.threads, p.keyLen)
				reused := IDKeyInto(shared, []byte(in.password), []byte(in.salt), p.time, p.memory, p.threads, p.keyLen)
				if !bytes.Equal(fresh, want) || !bytes.Equal(reused, want) {
					t.Fatalf("%+v %q: fresh %x, reused %x, x/crypto %x", p, in.password, fresh, reused, want)
				}
			}
		}
		// The table's sizes go up and down; the shared buffer ends at the
		// largest (64 KiB × 4 lanes) and was grown, never shrunk.
		if got, want := shared.Len(), Blocks(64*4, 4); got != want {
			t.Errorf("shared buffer: %d blocks, want %d", got, want)
		}
	})
}

// TestDirtyBufferVectors: the RFC 9106 / reference vectors of all three
// modes (upstream's table) through one buffer that is never cleared, filled
// with a pattern first so that no block starts at zero.
func TestDirtyBufferVectors(t *testing.T) {
	implementations(t, func(t *testing.T) {
		buf := NewBuffer(256, 1)
		for i := range buf.blocks {
			for j := range buf.blocks[i] {
				buf.blocks[i][j] = 0xdeadbeefcafef00d ^ uint64(i*blockLength+j)
			}
		}
		password, salt := []byte("password"), []byte("somesalt")
		for i, v := range testVectors {
			want, err := hex.DecodeString(v.hash)
			if err != nil {
				t.Fatalf("vector %d: %v", i, err)
			}
			got := deriveKey(v.mode, password, salt, nil, nil, v.time, v.memory, v.threads, uint32(len(want)), buf)
			if !bytes.Equal(got, want) {
				t.Errorf("vector %d: got %x, want %x", i, got, want)
			}
		}
	})
}

func TestBlocks(t *testing.T) {
	tests := []struct {
		memory  uint32
		threads uint8
		want    uint32
	}{
		{19456, 1, 19456},
		{19457, 1, 19456}, // rounded down to a multiple of 4 × lanes
		{8, 1, 8},
		{1, 1, 8}, // at least 8 × lanes
		{30, 4, 32},
		{65, 4, 64},
		{0, 0, 0},
	}
	for _, tt := range tests {
		if got := Blocks(tt.memory, tt.threads); got != tt.want {
			t.Errorf("Blocks(%d, %d) = %d, want %d", tt.memory, tt.threads, got, tt.want)
		}
	}
	if got := NewBuffer(19456, 1).Len(); got != 19456 {
		t.Errorf("NewBuffer(19456, 1).Len() = %d", got)
	}
}

// TestConcurrentBuffers: derivations on separate buffers share nothing (run
// with -race), including the lanes' goroutines of threads > 1.
func TestConcurrentBuffers(t *testing.T) {
	const workers, rounds = 4, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := new(Buffer)
			for r := range rounds {
				pw := []byte(fmt.Sprintf("pw-%d-%d", w, r))
				threads := uint8(1 + (w+r)%3)
				memory := uint32(16+8*r) * uint32(threads)
				want := xargon2.IDKey(pw, []byte("saltsalt"), 2, memory, threads, 32)
				if got := IDKeyInto(buf, pw, []byte("saltsalt"), 2, memory, threads, 32); !bytes.Equal(got, want) {
					errs <- fmt.Errorf("worker %d round %d: got %x, want %x", w, r, got, want)
					return
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

// FuzzIDKeyInto compares IDKeyInto on one reused buffer with x/crypto's
// IDKey, at small memory costs so that each input is cheap.
func FuzzIDKeyInto(f *testing.F) {
	f.Add([]byte("password"), []byte("somesalt"), uint8(1), uint8(16), uint8(1), uint8(32))
	f.Add([]byte(""), []byte("saltsalt"), uint8(3), uint8(40), uint8(4), uint8(64))
	f.Add([]byte("x"), []byte("y"), uint8(2), uint8(0), uint8(2), uint8(16))
	buf := new(Buffer) // one buffer across inputs: each starts dirty
	f.Fuzz(func(t *testing.T, password, salt []byte, time, memory, threads, keyLen uint8) {
		tm := 1 + uint32(time%3)
		th := 1 + threads%4
		mem := uint32(memory) // 0..255 KiB; below 8 × lanes both round up
		kl := 4 + uint32(keyLen)%125
		want := xargon2.IDKey(password, salt, tm, mem, th, kl)
		if got := IDKeyInto(buf, password, salt, tm, mem, th, kl); !bytes.Equal(got, want) {
			t.Fatalf("t=%d m=%d p=%d l=%d: got %x, want %x", tm, mem, th, kl, got, want)
		}
	})
}

// BenchmarkIDKey19MiB: the production cost (m=19456 KiB, t=2, p=1) through
// x/crypto (a fresh buffer per call, left to the collector) and through
// IDKeyInto on one kept buffer. Run with -count for interleaved pairs.
func BenchmarkIDKey19MiB(b *testing.B) {
	pw, salt := []byte("benchmark password"), []byte("0123456789abcdef")
	b.Run("x-crypto", func(b *testing.B) {
		for b.Loop() {
			xargon2.IDKey(pw, salt, 2, 19456, 1, 32)
		}
	})
	b.Run("into", func(b *testing.B) {
		buf := NewBuffer(19456, 1)
		for b.Loop() {
			IDKeyInto(buf, pw, salt, 2, 19456, 1, 32)
		}
	})
}
