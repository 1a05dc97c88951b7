package auth

import (
	"context"
	"slices"
	"sync"
)

// hashPool bounds password hashing to a fixed number of slots, with a
// bounded queue in front: when the queue is full a caller is refused at once
// (ErrBusy) instead of piling up goroutines and 19 MiB Argon2 buffers.
//
// Fairness: a caller is "suspect" when its account or client address has
// recent failures (or attempts in flight). Suspects queue behind every other
// caller, and at most half the queue may hold suspects, so that attackers
// rotating addresses and guessing passwords cannot keep a real user's first
// sign-in out of the pool: a freed slot always goes to the oldest
// unsuspected waiter first, and the unsuspected half of the queue stays
// open to them whatever the suspects do.
type hashPool struct {
	mu         sync.Mutex
	size       int
	free       int
	normal     []chan struct{} // waiters, oldest first; closed when handed a slot
	suspect    []chan struct{}
	maxQueue   int
	maxSuspect int
}

func newHashPool(slots, queue int) *hashPool {
	return &hashPool{size: slots, free: slots, maxQueue: queue, maxSuspect: max(1, queue/2)}
}

// do runs fn on a slot; suspect callers wait behind all others.
func (p *hashPool) do(ctx context.Context, suspect bool, fn func()) error {
	p.mu.Lock()
	if p.free > 0 && len(p.normal) == 0 && len(p.suspect) == 0 {
		p.free--
		p.mu.Unlock()
	} else {
		if p.refuseLocked(suspect) {
			p.mu.Unlock()
			return ErrBusy
		}
		ch := make(chan struct{})
		if suspect {
			p.suspect = append(p.suspect, ch)
		} else {
			p.normal = append(p.normal, ch)
		}
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			p.mu.Lock()
			queued := p.dropLocked(ch)
			p.mu.Unlock()
			if !queued { // handed a slot while giving up: pass it on
				p.release()
			}
			return ctx.Err()
		}
	}
	defer p.release()
	fn()
	return nil
}

func (p *hashPool) refuseLocked(suspect bool) bool {
	if len(p.normal)+len(p.suspect) >= p.maxQueue {
		return true
	}
	return suspect && len(p.suspect) >= p.maxSuspect
}

// dropLocked removes ch from its queue, reporting whether it was there.
func (p *hashPool) dropLocked(ch chan struct{}) bool {
	if i := slices.Index(p.normal, ch); i >= 0 {
		p.normal = slices.Delete(p.normal, i, i+1)
		return true
	}
	if i := slices.Index(p.suspect, ch); i >= 0 {
		p.suspect = slices.Delete(p.suspect, i, i+1)
		return true
	}
	return false
}

// release hands the slot to the oldest unsuspected waiter, else to the
// oldest suspect, else frees it.
func (p *hashPool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var next chan struct{}
	switch {
	case len(p.normal) > 0:
		next, p.normal = p.normal[0], p.normal[1:]
	case len(p.suspect) > 0:
		next, p.suspect = p.suspect[0], p.suspect[1:]
	default:
		p.free++
		return
	}
	close(next)
}

// full reports whether a new caller would be refused: every slot busy and
// the queue at its bound (for suspects: their share of it). Callers check it
// before any other work, so that under overload a refusal costs next to
// nothing.
func (p *hashPool) full(suspect bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.free == 0 && p.refuseLocked(suspect)
}

// Queued reports how many callers wait for a hashing slot.
func (p *hashPool) Queued() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return int64(len(p.normal) + len(p.suspect))
}

// slots is the number of concurrent hashes the pool allows.
func (p *hashPool) slots() int { return p.size }
