package storetest

// Throttle counters and the password-hash scan.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

func testThrottle(ctx context.Context, t *testing.T, s store.Store) {
	st, err := s.ThrottleGet(ctx, "acct:x")
	must(t, err)
	if st.Count != 0 {
		t.Errorf("fresh key: %+v", st)
	}
	for i := 1; i <= 3; i++ {
		st, err = s.ThrottleHit(ctx, "acct:x", t0.Add(time.Duration(i)*time.Minute), 15*time.Minute)
		must(t, err)
		if st.Count != i || !st.WindowStart.Equal(t0.Add(time.Minute)) || !st.LastAt.Equal(t0.Add(time.Duration(i)*time.Minute)) {
			t.Errorf("hit %d: %+v", i, st)
		}
	}
	// Quiet for longer than the window: counting starts over.
	st, err = s.ThrottleHit(ctx, "acct:x", t0.Add(time.Hour), 15*time.Minute)
	must(t, err)
	if st.Count != 1 || !st.WindowStart.Equal(t0.Add(time.Hour)) {
		t.Errorf("after a quiet window: %+v", st)
	}
	got, err := s.ThrottleGet(ctx, "acct:x")
	must(t, err)
	if got != st {
		t.Errorf("get %+v, want %+v", got, st)
	}
	must(t, s.ThrottleClear(ctx, "acct:x"))
	got, err = s.ThrottleGet(ctx, "acct:x")
	must(t, err)
	if got.Count != 0 {
		t.Errorf("after clear: %+v", got)
	}
}

func testThrottleRace(ctx context.Context, t *testing.T, s store.Store) {
	const n = 20
	concurrently(n, func() {
		if _, err := s.ThrottleHit(ctx, "ip:1.2.3.4", t0, time.Hour); err != nil {
			t.Error(err)
		}
	})
	st, err := s.ThrottleGet(ctx, "ip:1.2.3.4")
	must(t, err)
	if st.Count != n {
		t.Errorf("count %d after %d concurrent hits", st.Count, n)
	}
}

// testEachPasswordHash: the scan skips hashes with the given prefix and
// returns every other one; fn's error stops it.
func testEachPasswordHash(ctx context.Context, t *testing.T, s store.Store) {
	for i, h := range []string{"$argon2id$v=19$m=1,t=1,p=1$aaa", "$argon2id$v=19$m=1,t=1,p=1$bbb", "$2a$10$legacy", "$argon2id$v=19$m=9,t=1,p=1$ccc"} {
		u := store.User{Email: fmt.Sprintf("hash%d@example.com", i), FullName: "H", PasswordHash: h, Active: true, CreatedAt: t0}
		must(t, s.CreateUser(ctx, &u))
	}
	got := map[string]bool{}
	must(t, s.EachPasswordHash(ctx, "$argon2id$v=19$m=1,t=1,p=1$", func(h string) error {
		got[h] = true
		return nil
	}))
	if !got["$2a$10$legacy"] || !got["$argon2id$v=19$m=9,t=1,p=1$ccc"] || got["$argon2id$v=19$m=1,t=1,p=1$aaa"] || got["$argon2id$v=19$m=1,t=1,p=1$bbb"] {
		t.Errorf("hashes %v", got)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.EachPasswordHash(ctx, "$argon2id$v=19$m=1,t=1,p=1$", func(string) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("stopped scan: %v after %d", err, n)
	}
}

// testThrottleTake: below the free count concurrent takes all count, up to
// it and no further; past it a take counts only from the state it was given
// (of concurrent takes from one state exactly one wins); a refund gives one
// event back and never goes below zero.
func testThrottleTake(ctx context.Context, t *testing.T, s store.Store) {
	const key, window = "acct:take", 15 * time.Minute
	fresh, err := s.ThrottleGet(ctx, key)
	must(t, err)
	const n = 20
	if wins := concurrentWins(t, n, func() (bool, error) { return s.ThrottleTake(ctx, key, fresh, 0, t0, window) }); wins != 1 {
		t.Fatalf("%d of %d concurrent takes of a fresh key won", wins, n)
	}
	st, err := s.ThrottleGet(ctx, key)
	must(t, err)
	if st.Count != 1 || !st.LastAt.Equal(t0) || !st.WindowStart.Equal(t0) {
		t.Fatalf("after the first take: %+v", st)
	}
	if wins := concurrentWins(t, n, func() (bool, error) { return s.ThrottleTake(ctx, key, st, 0, t0.Add(time.Minute), window) }); wins != 1 {
		t.Fatalf("%d of %d concurrent takes from one state won", wins, n)
	}
	// A stale state loses.
	if ok, err := s.ThrottleTake(ctx, key, st, 0, t0.Add(2*time.Minute), window); err != nil || ok {
		t.Fatalf("take from a stale state: %v %v", ok, err)
	}
	st, err = s.ThrottleGet(ctx, key)
	must(t, err)
	if st.Count != 2 || !st.LastAt.Equal(t0.Add(time.Minute)) || !st.WindowStart.Equal(t0) {
		t.Fatalf("after the second take: %+v", st)
	}
	// Quiet for longer than the window: counting starts over.
	ok, err := s.ThrottleTake(ctx, key, st, 0, t0.Add(time.Hour), window)
	must(t, err)
	got, err := s.ThrottleGet(ctx, key)
	must(t, err)
	if !ok || got.Count != 1 || !got.WindowStart.Equal(t0.Add(time.Hour)) {
		t.Fatalf("take after a quiet window: %v %+v", ok, got)
	}
	must(t, s.ThrottleRefund(ctx, key))
	must(t, s.ThrottleRefund(ctx, key))
	got, err = s.ThrottleGet(ctx, key)
	must(t, err)
	if got.Count != 0 {
		t.Fatalf("after two refunds of one event: %+v", got)
	}
	// A refunded key is taken again from its state, not as a fresh key.
	ok, err = s.ThrottleTake(ctx, key, got, 0, t0.Add(time.Hour+time.Second), window)
	must(t, err)
	if got, _ = s.ThrottleGet(ctx, key); !ok || got.Count != 1 {
		t.Fatalf("take after refunds: %v %+v", ok, got)
	}
	must(t, s.ThrottleRefund(ctx, "acct:never"))

	// Free takes: of 20 concurrent takes with 5 free, exactly 5 count.
	wins := concurrentWins(t, n, func() (bool, error) { return s.ThrottleTake(ctx, "addr:free", store.ThrottleState{}, 5, t0, window) })
	got, err = s.ThrottleGet(ctx, "addr:free")
	must(t, err)
	if wins != 5 || got.Count != 5 {
		t.Fatalf("%d of %d concurrent takes won with 5 free, count %d", wins, n, got.Count)
	}
}
