package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// waitQueued waits until n callers wait in p (a condition, not a latency
// bound: it polls without a deadline of its own; the test's timeout ends it).
func waitQueued(t *testing.T, p *hashPool, n int64) {
	t.Helper()
	for p.Queued() != n {
		time.Sleep(time.Millisecond)
	}
}

// TestHashPoolFairness (issue 10.10): callers with recent failures queue
// behind the others and may hold at most half the queue, so a real user's
// sign-in gets the next free slot and a place in the queue whatever the
// suspects do. Deterministic: the order is read from who ran, not timed.
func TestHashPoolFairness(t *testing.T) {
	p := newHashPool(1, 4)
	ctx := context.Background()
	hold := make(chan struct{})
	running := make(chan struct{})
	go p.do(ctx, false, func() { close(running); <-hold }) // the only slot, busy
	<-running

	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(name string, suspect bool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.do(ctx, suspect, func() {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			}); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}
	enqueue("attacker1", true)
	waitQueued(t, p, 1)
	enqueue("attacker2", true)
	waitQueued(t, p, 2)
	// The suspects' half of the queue (2 of 4) is full: a third is refused
	// at once, while a caller without failures still gets in.
	if !p.full(true) || p.full(false) {
		t.Fatalf("full(suspect)=%v full(normal)=%v with 2 suspects queued", p.full(true), p.full(false))
	}
	if err := p.do(ctx, true, func() { t.Error("a suspect beyond its share ran") }); !errors.Is(err, ErrBusy) {
		t.Fatalf("third suspect: %v, want ErrBusy", err)
	}
	enqueue("user1", false)
	waitQueued(t, p, 3)
	enqueue("user2", false)
	waitQueued(t, p, 4)
	// The whole queue is full now: everyone is refused.
	if err := p.do(ctx, false, func() {}); !errors.Is(err, ErrBusy) {
		t.Fatalf("caller with the queue full: %v, want ErrBusy", err)
	}
	close(hold)
	wg.Wait()
	want := []string{"user1", "user2", "attacker1", "attacker2"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if p.Queued() != 0 || p.free != 1 {
		t.Fatalf("after the run: queued %d, free %d", p.Queued(), p.free)
	}
}

// TestHashPoolCancelledWaiter: a waiter that gives up leaves the queue, and
// a slot handed to it while it gave up is passed on, not lost.
func TestHashPoolCancelledWaiter(t *testing.T) {
	p := newHashPool(1, 4)
	hold := make(chan struct{})
	running := make(chan struct{})
	done := make(chan struct{})
	go func() {
		p.do(context.Background(), false, func() { close(running); <-hold })
		close(done)
	}()
	<-running
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.do(ctx, false, func() { t.Error("a cancelled waiter ran") }) }()
	waitQueued(t, p, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	close(hold)
	<-done
	ran := false
	if err := p.do(context.Background(), false, func() { ran = true }); err != nil || !ran {
		t.Fatalf("after a cancelled waiter: %v ran=%v", err, ran)
	}
	if p.free != 1 || p.Queued() != 0 {
		t.Fatalf("slot lost: free %d queued %d", p.free, p.Queued())
	}
}
