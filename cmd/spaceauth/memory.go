package main

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"

	"github.com/spaceauth/spaceauth/internal/config"
)

// memoryBase is what the auto memory limit allows besides one Argon2id
// buffer per hashing slot: the idle heap (a few MB), connection buffers,
// stacks, caches and the collector's own metadata. The binary's text and
// SQLite's page cache are outside the runtime's count (they come on top in
// RSS, about 10 MB). The hasher keeps one buffer per slot and reuses it
// (internal/third_party/argon2), so hashing leaves no garbage of its own; the
// limit is the backstop for the rest: with the buffers live, GOGC alone
// would let the small garbage of requests grow the heap to twice
// slots × 19 MiB before collecting, and a stored hash with a larger cost
// than the hasher's still gets a buffer of its own. 20 MiB + slots × 19 MiB
// = 58 MiB on 2 CPUs.
const memoryBase = 20 << 20

// memoryLimit decides the runtime's soft memory limit from --memory-limit
// (setting), the GOMEMLIMIT environment variable (gomemlimit) and the
// memory hashing can hold at once (hashing): an explicit size wins, then
// GOMEMLIMIT (left to the runtime, which already read it: limit is then
// -1), then "auto". "off" sets no limit (math.MaxInt64, the runtime's own
// default). source names which one decided, for the log.
func memoryLimit(setting, gomemlimit string, hashing int64) (limit int64, source string, err error) {
	switch {
	case setting == "off":
		return math.MaxInt64, "--memory-limit off", nil
	case setting != "auto" && setting != "":
		n, err := config.ParseSize(setting)
		if err != nil {
			return 0, "", fmt.Errorf("--memory-limit: %w", err)
		}
		return n, "--memory-limit", nil
	case gomemlimit != "":
		return -1, "GOMEMLIMIT", nil
	}
	return memoryBase + hashing, "auto", nil
}

// applyMemoryLimit sets the limit memoryLimit decides and logs it. The
// limit is soft: under it the collector runs as GOGC says; near it, it
// runs sooner, so the heap stays near the hashing buffers plus memoryBase
// instead of doubling. Above it (more live memory than the limit) the
// collector caps its own CPU use, so a limit set too low costs speed, never
// a crash. restore puts back the limit found (the limit is the process's:
// tests serve in-process).
func applyMemoryLimit(setting, gomemlimit string, hashing int64, log *slog.Logger) (restore func(), err error) {
	limit, source, err := memoryLimit(setting, gomemlimit, hashing)
	if err != nil {
		return func() {}, err
	}
	prev := debug.SetMemoryLimit(-1) // -1 reads the limit in force
	if limit >= 0 {
		debug.SetMemoryLimit(limit)
	} else {
		limit = prev
	}
	mib := "none"
	if limit != math.MaxInt64 {
		mib = fmt.Sprintf("%dMiB", limit>>20)
	}
	log.Info("memory limit", "limit", mib, "source", source, "hashing_mib", hashing>>20)
	return func() { debug.SetMemoryLimit(prev) }, nil
}
