package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// hashCostRescan is how often the kinds of stored hash are looked at again
// (an import by another process adds some; upgrades at sign-in remove them).
const hashCostRescan = 5 * time.Minute

// hashCost keeps the time a failed password check must take at least: what
// verifying the costliest kind of hash still stored takes (SPEC §3.1: an
// unknown email is indistinguishable in timing). Imported bcrypt or PBKDF2
// hashes can cost far more than Argon2id at the hasher's parameters (issue
// 10.8: bcrypt-12 answered in 554 ms, an unknown email in 37 ms), so
// failures are padded, by sleeping outside the hashing pool, up to a floor
// a margin above the costliest live kind. Successes are not padded: telling
// them apart needs the password. With no legacy hash in store the floor is
// zero and nothing waits.
type hashCost struct {
	mu       sync.Mutex
	scanned  time.Time // zero: never
	scanning bool
	live     map[string]bool          // kinds of stored hash other than the hasher's own
	cost     map[string]time.Duration // measured, then averaged over real checks
	floor    time.Duration            // floorMargin times the costliest live kind's cost
}

// hashFloor returns the padding target, scanning the stored hashes first
// when it never did (every caller waits: no answer goes out unpadded) or
// when the last scan is old (one caller rescans, the others go on).
func (s *Service) hashFloor(ctx context.Context) (time.Duration, error) {
	hc := &s.hashCost
	hc.mu.Lock()
	if hc.scanned.IsZero() {
		defer hc.mu.Unlock()
		if err := s.scanHashes(ctx, true); err != nil {
			return 0, err
		}
		return hc.floor, nil
	}
	if hc.scanning || time.Since(hc.scanned) < hashCostRescan {
		f := hc.floor
		hc.mu.Unlock()
		return f, nil
	}
	hc.scanning = true
	hc.mu.Unlock()
	if err := s.scanHashes(ctx, false); err != nil {
		s.log.WarnContext(ctx, "hash cost rescan failed", "err", err)
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.scanning = false
	return hc.floor, nil
}

// scanHashes finds the kinds of stored hash other than the hasher's own,
// measures each kind not measured yet (one verification of a wrong
// password), and sets the floor. locked says whether hc.mu is held.
func (s *Service) scanHashes(ctx context.Context, locked bool) error {
	hc := &s.hashCost
	samples := map[string]string{}
	err := s.users.EachPasswordHash(ctx, s.hasher.Prefix(), func(h string) error {
		if c := s.hasher.CostClass(h); c != "" && samples[c] == "" {
			samples[c] = h
		}
		return nil
	})
	if err != nil {
		if !locked {
			hc.mu.Lock()
			hc.scanned = time.Now() // try again after the rescan period
			hc.mu.Unlock()
		}
		return fmt.Errorf("hash cost scan: %w", err)
	}
	if !locked {
		hc.mu.Lock()
	}
	known := make(map[string]bool, len(hc.cost))
	for c := range hc.cost {
		known[c] = true
	}
	if !locked {
		hc.mu.Unlock()
	}
	measured := map[string]time.Duration{}
	probe := make([]byte, 18)
	rand.Read(probe)
	wrong := base64.RawURLEncoding.EncodeToString(probe)
	for c, h := range samples {
		if known[c] {
			continue
		}
		var took time.Duration
		if err := s.pool.do(ctx, false, func() {
			start := time.Now()
			_, _, _ = s.hasher.Verify(wrong, h) // only the time counts
			took = time.Since(start)
		}); err != nil {
			return fmt.Errorf("hash cost scan: %w", err)
		}
		measured[c] = took
	}
	if !locked {
		hc.mu.Lock()
		defer hc.mu.Unlock()
	}
	if hc.cost == nil {
		hc.cost = map[string]time.Duration{}
	}
	for c, d := range measured {
		hc.cost[c] = d
	}
	hc.live = make(map[string]bool, len(samples))
	for c := range samples {
		hc.live[c] = true
	}
	hc.scanned = time.Now()
	hc.setFloorLocked()
	return nil
}

// floorMargin puts the floor above the costliest kind's usual cost, so that
// failures of every kind, that kind's own included, mostly end at the floor
// rather than at their own (noisy) cost: equal medians and equal minimums.
const floorMargin = 1.5

func (hc *hashCost) setFloorLocked() {
	var top time.Duration
	for c := range hc.live {
		top = max(top, hc.cost[c])
	}
	hc.floor = time.Duration(float64(top) * floorMargin)
}

// observe folds the time a real check of a stored hash of kind class took
// into that kind's cost (an average that follows the machine's load).
func (hc *hashCost) observe(class string, took time.Duration) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.cost == nil {
		hc.cost = map[string]time.Duration{}
	}
	if old, ok := hc.cost[class]; ok {
		took = (3*old + took) / 4
	}
	hc.cost[class] = took
	if hc.live == nil {
		hc.live = map[string]bool{}
	}
	hc.live[class] = true
	hc.setFloorLocked()
}

// padTo waits out the rest of floor after work that took took, returning
// early if the request ends. Timers overshoot by about a millisecond on a
// busy machine, which would drown sub-millisecond differences: it sleeps
// to shortly before the end and yields the processor until the end.
func padTo(ctx context.Context, floor, took time.Duration) {
	if floor <= took {
		return
	}
	end := time.Now().Add(floor - took)
	if d := time.Until(end) - padSpin; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	for time.Now().Before(end) && ctx.Err() == nil {
		runtime.Gosched()
	}
}

// padSpin is how much of a wait is spent yielding rather than asleep.
const padSpin = 2 * time.Millisecond

// legacyHash reports whether a stored hash is of another kind than the
// hasher writes.
func (s *Service) legacyHash(encoded string) bool {
	return !strings.HasPrefix(encoded, s.hasher.Prefix())
}

// workFloor makes a request whose answer must not tell whether an email is
// known (sending a code, requesting a reset) take as long either way: both
// paths end no earlier than twice the 90th percentile of the known path's
// recent costs (about a millisecond) (issue 10.9: known emails answered 0.1-0.4 ms slower).
// A percentile, not an average: the known path writes, and its occasional
// slow commits would otherwise stick out above the floor.
type workFloor struct {
	mu    sync.Mutex
	last  [64]time.Duration // ring of recent costs of the known path
	n     int
	floor time.Duration
}

func (f *workFloor) observe(took time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last[f.n%len(f.last)] = took
	f.n++
	recent := slices.Clone(f.last[:min(f.n, len(f.last))])
	slices.Sort(recent)
	f.floor = 2 * recent[len(recent)*9/10]
}

// pad runs work, which says whether it sent an email; a run that sent
// teaches the floor its cost, and an answer for which hide(err) holds (one
// that must not tell whether the email is known) waits out the floor.
func (f *workFloor) pad(ctx context.Context, work func() (sent bool, err error), hide func(error) bool) error {
	start, floor := time.Now(), f.target()
	sent, err := work()
	took := time.Since(start)
	if sent {
		f.observe(took)
	}
	if hide(err) {
		padTo(ctx, floor, took)
	}
	return err
}

func (f *workFloor) target() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.floor
}
