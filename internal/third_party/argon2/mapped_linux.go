// Spaceauth addition (not upstream): see argon2.go's header, change 3.

//go:build linux

package argon2

import "golang.org/x/sys/unix"

// mapMemory maps n bytes of private anonymous memory outside the Go heap,
// asking for transparent huge pages (Argon2 reads its reference blocks at
// random over the whole buffer, so 4 KiB pages cost a TLB miss on most
// reads). The kernel may refuse the advice (THP "never"); the memory works
// either way.
func mapMemory(n int) ([]byte, bool) {
	mem, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, false
	}
	_ = unix.Madvise(mem, unix.MADV_HUGEPAGE)
	return mem, true
}

func unmapMemory(mem []byte) { _ = unix.Munmap(mem) }
