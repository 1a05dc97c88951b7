package auth

import (
	"context"
	"sync/atomic"
)

// hashPool bounds password hashing to a fixed number of slots, with a
// bounded queue in front: when the queue is full a caller is refused at once
// (ErrBusy) instead of piling up goroutines and 19 MiB Argon2 buffers.
type hashPool struct {
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
}

func newHashPool(slots, queue int) *hashPool {
	return &hashPool{slots: make(chan struct{}, slots), maxQueue: int64(queue)}
}

func (p *hashPool) do(ctx context.Context, fn func()) error {
	select {
	case p.slots <- struct{}{}:
	default:
		if p.waiting.Add(1) > p.maxQueue {
			p.waiting.Add(-1)
			return ErrBusy
		}
		select {
		case p.slots <- struct{}{}:
			p.waiting.Add(-1)
		case <-ctx.Done():
			p.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-p.slots }()
	fn()
	return nil
}

// full reports whether a new caller would be refused: every slot busy and
// the queue at its bound. Callers check it before any other work, so that
// under overload a refusal costs next to nothing.
func (p *hashPool) full() bool {
	return len(p.slots) == cap(p.slots) && p.waiting.Load() >= p.maxQueue
}

// Queued reports how many callers wait for a hashing slot.
func (p *hashPool) Queued() int64 { return p.waiting.Load() }
