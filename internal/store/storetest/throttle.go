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

// testThrottleMany: ThrottleGetMany reads several keys at once (unknown
// ones as zero), ThrottleTakeMany takes in order and stops at the first
// take that does not hold (what took stays counted, the rest not), and of
// concurrent chained takes with 5 free exactly 5 count; ThrottleRelease
// clears one key, gives one event of another back and appends its audit
// event, together.
func testThrottleMany(ctx context.Context, t *testing.T, s store.Store) {
	const window = 15 * time.Minute
	_, err := s.ThrottleHit(ctx, "many:a", t0, window)
	must(t, err)
	_, err = s.ThrottleHit(ctx, "many:a", t0.Add(time.Second), window)
	must(t, err)
	_, err = s.ThrottleHit(ctx, "many:c", t0, window)
	must(t, err)
	got, err := s.ThrottleGetMany(ctx, "many:a", "many:b", "many:c")
	must(t, err)
	if len(got) != 3 || got[0].Count != 2 || !got[0].LastAt.Equal(t0.Add(time.Second)) || !got[0].WindowStart.Equal(t0) ||
		got[1] != (store.ThrottleState{}) || got[2].Count != 1 {
		t.Fatalf("get many: %+v", got)
	}
	// a is past its free count and a's state is not what was given: the
	// first take fails, so the second is not made.
	stale := got[0]
	stale.Count = 1
	n, err := s.ThrottleTakeMany(ctx, []store.ThrottleTakeArgs{
		{Key: "many:a", Prev: stale, Free: 1, Now: t0.Add(time.Minute), Window: window},
		{Key: "many:b", Free: 5, Now: t0.Add(time.Minute), Window: window},
	})
	must(t, err)
	if after, _ := s.ThrottleGetMany(ctx, "many:a", "many:b"); n != 0 || after[0] != got[0] || after[1].Count != 0 {
		t.Fatalf("a failed first take: %d taken, states %+v", n, after)
	}
	// The first holds (its state is current), the second fails: one taken.
	cur, err := s.ThrottleGetMany(ctx, "many:a", "many:c")
	must(t, err)
	n, err = s.ThrottleTakeMany(ctx, []store.ThrottleTakeArgs{
		{Key: "many:a", Prev: cur[0], Free: 1, Now: t0.Add(time.Minute), Window: window},
		{Key: "many:c", Prev: store.ThrottleState{Count: 7}, Free: 1, Now: t0.Add(time.Minute), Window: window},
	})
	must(t, err)
	after, err := s.ThrottleGetMany(ctx, "many:a", "many:c")
	must(t, err)
	if n != 1 || after[0].Count != 3 || !after[0].LastAt.Equal(t0.Add(time.Minute)) || after[1] != cur[1] {
		t.Fatalf("a failed second take: %d taken, states %+v", n, after)
	}
	// Both hold; a quiet window restarts the count as ThrottleTake does.
	n, err = s.ThrottleTakeMany(ctx, []store.ThrottleTakeArgs{
		{Key: "many:a", Free: 1, Now: t0.Add(time.Hour), Window: window},
		{Key: "many:d", Free: 1, Now: t0.Add(time.Hour), Window: window},
	})
	must(t, err)
	after, err = s.ThrottleGetMany(ctx, "many:a", "many:d")
	must(t, err)
	if n != 2 || after[0].Count != 1 || !after[0].WindowStart.Equal(t0.Add(time.Hour)) || after[1].Count != 1 {
		t.Fatalf("two takes: %d taken, states %+v", n, after)
	}

	// Of 20 concurrent chained takes with 5 free on the first key, exactly
	// 5 take both keys.
	const conc = 20
	wins := concurrentWins(t, conc, func() (bool, error) {
		n, err := s.ThrottleTakeMany(ctx, []store.ThrottleTakeArgs{
			{Key: "many:acct", Free: 5, Now: t0, Window: window},
			{Key: "many:addr", Free: 50, Now: t0, Window: window},
		})
		return n == 2, err
	})
	both, err := s.ThrottleGetMany(ctx, "many:acct", "many:addr")
	must(t, err)
	if wins != 5 || both[0].Count != 5 || both[1].Count != 5 {
		t.Fatalf("%d of %d concurrent chained takes won with 5 free, states %+v", wins, conc, both)
	}

	// Release: the account cleared, one event of the address given back,
	// the event appended.
	e := store.AuditEvent{At: t0.Add(2 * time.Hour), Type: "signin.success", UserID: 0, ClientIP: "192.0.2.9", Detail: `{"method":"test"}`}
	must(t, s.ThrottleRelease(ctx, "many:acct", "many:addr", &e))
	both, err = s.ThrottleGetMany(ctx, "many:acct", "many:addr")
	must(t, err)
	if both[0].Count != 0 || both[1].Count != 4 {
		t.Fatalf("after release: %+v", both)
	}
	events, err := s.ListAudit(ctx, store.AuditFilter{Type: "signin.success"})
	must(t, err)
	if len(events) != 1 || events[0].ClientIP != "192.0.2.9" || !events[0].At.Equal(e.At) || events[0].Detail != e.Detail {
		t.Fatalf("audit after release: %+v", events)
	}
	// No address, no event: the account alone.
	_, err = s.ThrottleHit(ctx, "many:acct", t0, window)
	must(t, err)
	must(t, s.ThrottleRelease(ctx, "many:acct", "", nil))
	both, err = s.ThrottleGetMany(ctx, "many:acct", "many:addr")
	must(t, err)
	if both[0].Count != 0 || both[1].Count != 4 {
		t.Fatalf("after a bare release: %+v", both)
	}
	// In a transaction that rolls back, nothing of it stays.
	_, err = s.ThrottleHit(ctx, "many:acct", t0, window)
	must(t, err)
	boom := errors.New("boom")
	if err := s.InTx(ctx, func(q store.Queries) error {
		if err := q.ThrottleRelease(ctx, "many:acct", "many:addr", nil); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("transaction: %v", err)
	}
	both, err = s.ThrottleGetMany(ctx, "many:acct", "many:addr")
	must(t, err)
	if both[0].Count != 1 || both[1].Count != 4 {
		t.Fatalf("after a rolled-back release: %+v", both)
	}
}

// testThrottleManyNoDeadlock: chained takes and releases of the same two
// keys, concurrently (one account signing in at once from one address,
// as with the grant's release inside its transaction), never deadlock:
// both lock the keys in one order, the account's first.
func testThrottleManyNoDeadlock(ctx context.Context, t *testing.T, s store.Store) {
	const window = 15 * time.Minute
	takes := []store.ThrottleTakeArgs{
		{Key: "dl:acct", Free: 1 << 20, Now: t0, Window: window},
		{Key: "dl:addr", Free: 1 << 20, Now: t0, Window: window},
	}
	concurrently(16, func() {
		for i := range 20 {
			if _, err := s.ThrottleTakeMany(ctx, takes); err != nil {
				t.Error(err)
				return
			}
			err := s.InTx(ctx, func(q store.Queries) error {
				if err := q.ThrottleRelease(ctx, "dl:acct", "dl:addr", nil); err != nil {
					return err
				}
				if i%2 == 0 {
					return q.AppendAudit(ctx, store.AuditEvent{At: t0, Type: "test.deadlock"})
				}
				return nil
			})
			if err == nil && i%3 == 0 {
				err = s.ThrottleRelease(ctx, "dl:acct", "dl:addr", &store.AuditEvent{At: t0, Type: "test.deadlock"})
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
}
