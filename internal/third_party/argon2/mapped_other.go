// Spaceauth addition (not upstream): see argon2.go's header, change 3.

//go:build !linux

package argon2

// mapMemory is Linux-only; elsewhere buffers live on the Go heap.
func mapMemory(int) ([]byte, bool) { return nil, false }

func unmapMemory([]byte) {}
