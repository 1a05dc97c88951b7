package mail

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// WorkerOptions tune a Worker; zero values take the defaults.
type WorkerOptions struct {
	Clock        func() time.Time
	Logger       *slog.Logger
	PollInterval time.Duration // default 1s
	Lease        time.Duration // default 1m: a crashed worker's messages return after it
	Batch        int           // default 16
	RetryBase    time.Duration // default 5s, doubling per attempt
	RetryMax     time.Duration // default 30m
	MaxAttempts  int           // default 20
	Concurrency  int           // default 2
	// ShutdownGrace bounds how long sends in flight may go on once Run's
	// context ends (default 10s).
	ShutdownGrace time.Duration
}

// Stats are the worker's counters since start. Failed counts failed
// attempts, the last attempts of dead messages included.
type Stats struct{ Sent, Failed, Dead int64 }

// releasedError is recorded on claimed messages a stopping worker did not
// try; they are due again at once, for another worker or the next start.
const releasedError = "not attempted: worker stopping"

// Worker delivers the outbox. Several workers (in several processes) may
// share one store: leases keep them off each other's messages.
type Worker struct {
	outbox store.Outbox
	sender Sender
	o      WorkerOptions
	nudge  chan struct{}
	sent   atomic.Int64
	failed atomic.Int64
	dead   atomic.Int64

	mu  sync.Mutex // guards rng
	rng *rand.Rand
}

// NewWorker makes a Worker.
func NewWorker(outbox store.Outbox, sender Sender, o WorkerOptions) *Worker {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 5 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Minute
	}
	o.RetryMax = max(o.RetryMax, o.RetryBase)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails (crypto/rand.Read documents it)
	return &Worker{outbox: outbox, sender: sender, o: o, nudge: make(chan struct{}, 1),
		rng: rand.New(rand.NewChaCha8(seed))}
}

// Nudge wakes the worker at once (a message was just queued). It never
// blocks.
func (w *Worker) Nudge() {
	select {
	case w.nudge <- struct{}{}:
	default:
	}
}

// Stats returns the counters.
func (w *Worker) Stats() Stats {
	return Stats{Sent: w.sent.Load(), Failed: w.failed.Load(), Dead: w.dead.Load()}
}

// Run delivers until ctx ends. It then claims nothing more, releases the
// claimed messages it has not started, gives the sends in flight up to
// ShutdownGrace to finish, and returns nil.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.o.PollInterval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := w.drain(ctx)
			if err != nil && ctx.Err() == nil {
				w.o.Logger.ErrorContext(ctx, "outbox: claim failed", "err", err)
			}
			if n < w.o.Batch {
				break // the queue is empty for now
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.nudge:
		}
	}
}

// drain claims one batch and delivers it; it returns how many it claimed.
func (w *Worker) drain(ctx context.Context) (int, error) {
	now := w.o.Clock()
	msgs, err := w.outbox.ClaimMail(ctx, now, now.Add(w.o.Lease), w.o.Batch)
	if err != nil {
		return 0, fmt.Errorf("claim mail: %w", err)
	}
	// Bookkeeping outlives ctx, so a message sent during shutdown is also
	// marked sent; sends outlive it by ShutdownGrace at most.
	book := context.WithoutCancel(ctx)
	sendCtx, cancel := graceContext(ctx, w.o.ShutdownGrace)
	defer cancel()
	sem := make(chan struct{}, w.o.Concurrency)
	var wg sync.WaitGroup
	for i, m := range msgs {
		if ctx.Err() == nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			w.release(book, msgs[i:])
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			w.deliver(sendCtx, book, m)
		}()
	}
	wg.Wait()
	return len(msgs), nil
}

// graceContext is a context that ends grace after ctx does (or when its
// cancel is called).
func graceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-g.Done():
		}
		cancel()
	})
	return g, func() { stop(); cancel() }
}

// release makes claimed but untried messages due again now, rather than
// after their lease.
func (w *Worker) release(ctx context.Context, msgs []store.Mail) {
	now := w.o.Clock()
	for _, m := range msgs {
		if err := w.outbox.MarkMailFailed(ctx, m.ID, now, releasedError, false); err != nil {
			w.o.Logger.WarnContext(ctx, "outbox: release failed; the message returns after its lease", "id", m.ID, "err", err)
		}
	}
}

// deliver sends m under sendCtx and records the outcome under book.
func (w *Worker) deliver(sendCtx, book context.Context, m store.Mail) {
	sctx, cancel := context.WithTimeout(sendCtx, w.o.Lease/2) // done well before the lease ends
	err := w.sender.Send(sctx, m, func() error { return w.outbox.MarkMailSent(book, m.ID, w.o.Clock()) })
	cancel()
	if err == nil {
		w.sent.Add(1)
		w.o.Logger.DebugContext(book, "mail sent", "id", m.ID, "kind", m.Kind, "attempt", m.Attempts)
		return
	}
	// A failure after the commit un-marks the message (MarkMailFailed
	// clears the sent mark), so it is retried.
	var perm *PermanentError
	dead := errors.As(err, &perm) || m.Attempts >= w.o.MaxAttempts
	next := w.o.Clock().Add(w.backoff(m.Attempts))
	if merr := w.outbox.MarkMailFailed(book, m.ID, next, err.Error(), dead); merr != nil {
		w.o.Logger.ErrorContext(book, "outbox: recording a failed delivery failed; the message returns after its lease",
			"id", m.ID, "err", merr, "delivery_err", err)
	}
	w.failed.Add(1)
	if dead {
		w.dead.Add(1)
		w.o.Logger.ErrorContext(book, "mail given up", "id", m.ID, "kind", m.Kind, "attempts", m.Attempts,
			"permanent", perm != nil, "err", err)
		return
	}
	w.o.Logger.WarnContext(book, "mail delivery failed; will retry", "id", m.ID, "kind", m.Kind,
		"attempt", m.Attempts, "next", next, "err", err)
}

// backoff is the wait after a failed attempt (1 for the first): RetryBase
// doubled per earlier attempt, with ±20% jitter, and never above RetryMax.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.o.RetryBase
	for i := 1; i < attempts && d < w.o.RetryMax; i++ {
		d *= 2
	}
	span := 0.4 // 0.8 to 1.2
	if d >= w.o.RetryMax {
		d, span = w.o.RetryMax, 0.2 // at the cap, jitter downward only
	}
	w.mu.Lock()
	jitter := 0.8 + span*w.rng.Float64()
	w.mu.Unlock()
	return min(time.Duration(float64(d)*jitter), w.o.RetryMax)
}
