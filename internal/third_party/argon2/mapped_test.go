// Spaceauth's tests of change 3 (argon2.go's header).

package argon2

import (
	"bytes"
	"runtime"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// TestNewBufferOutsideHeap: on Linux a new 19 MiB buffer does not grow the
// Go heap, and derivations in it (fresh, then reused) match upstream's.
func TestNewBufferOutsideHeap(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("buffers are mapped outside the heap on Linux only")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	buf := NewBuffer(19456, 1)
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Fatalf("NewBuffer(19456, 1) grew the heap by %d bytes; want it mapped outside", grew)
	}
	if buf.Len() != 19456 {
		t.Fatalf("Len = %d, want 19456", buf.Len())
	}
	for _, pw := range []string{"first", "second"} {
		got := IDKeyInto(buf, []byte(pw), []byte("0123456789abcdef"), 1, 19456, 1, 32)
		if want := xargon2.IDKey([]byte(pw), []byte("0123456789abcdef"), 1, 19456, 1, 32); !bytes.Equal(got, want) {
			t.Fatalf("%s: got %x, want %x", pw, got, want)
		}
	}
	runtime.KeepAlive(buf)
}

// TestMappedBuffersUnmapped: buffers dropped one after another are unmapped
// by their cleanup while new ones are made and used; every derivation
// still matches upstream (a buffer unmapped under a derivation would crash
// the test).
func TestMappedBuffersUnmapped(t *testing.T) {
	want := xargon2.IDKey([]byte("pw"), []byte("saltsalt"), 1, 256, 2, 32)
	for i := range 50 {
		got := IDKeyInto(NewBuffer(256, 2), []byte("pw"), []byte("saltsalt"), 1, 256, 2, 32)
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: got %x, want %x", i, got, want)
		}
		runtime.GC()
	}
}
