package main

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"

	"github.com/spaceauth/spaceauth/internal/config"
)

// memoryBase is the auto soft memory limit: the Go heap's budget for
// everything but the hashing slots' Argon2id buffers, which are mapped
// outside the heap (internal/third_party/argon2, change 3) and so are not
// counted by the runtime at all. What the heap holds under load is small
// (about 5 MB live: connection buffers, the caches, request garbage), so
// the collector paces itself by GOGC well below this limit and the limit
// is a backstop: for a burst of garbage, and for the one-off buffers that
// a stored hash with a larger cost than the hasher's, or an import beside
// sign-ins, still takes on the heap. Until the buffers moved out, the
// limit was this + slots × 19 MiB, and with the buffers inside it the heap
// sat within 2–3 MB of its goal: the collector ran almost without pause
// whenever the caches filled (BENCHMARKS.md, the soak).
const memoryBase = 20 << 20

// memoryLimit decides the runtime's soft memory limit from --memory-limit
// (setting) and the GOMEMLIMIT environment variable (gomemlimit): an
// explicit size wins, then
// GOMEMLIMIT (left to the runtime, which already read it: limit is then
// -1), then "auto". "off" sets no limit (math.MaxInt64, the runtime's own
// default). source names which one decided, for the log.
func memoryLimit(setting, gomemlimit string) (limit int64, source string, err error) {
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
	return memoryBase, "auto", nil
}

// applyMemoryLimit sets the limit memoryLimit decides and logs it, with
// the hashing memory (outside the heap, not counted by the limit). The
// limit is soft: under it the collector runs as GOGC says; near it, it
// runs sooner. Above it (more live memory than the limit) the
// collector caps its own CPU use, so a limit set too low costs speed, never
// a crash. restore puts back the limit found (the limit is the process's:
// tests serve in-process).
func applyMemoryLimit(setting, gomemlimit string, hashing int64, log *slog.Logger) (restore func(), err error) {
	limit, source, err := memoryLimit(setting, gomemlimit)
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
