package mail

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
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
	// Lease is how long a claim holds a message (default 1m): a crashed
	// worker's messages return after it. It is renewed just before each
	// send, and a send is cut off at half of it, so the lease covers the
	// whole send and its record.
	Lease time.Duration
	// Batch caps one claim (default 16); a claim never takes more than
	// Concurrency messages, so that each starts sending at once.
	Batch       int
	RetryBase   time.Duration // default 5s, doubling per attempt
	RetryMax    time.Duration // default 30m
	MaxAttempts int           // default 20
	Concurrency int           // default 2
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
			if n < w.claimSize() {
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

// claimSize is how many messages one claim takes: no more than can be
// sent at once, so no claimed message waits for a send slot while its
// lease runs (issue #11.1).
func (w *Worker) claimSize() int { return min(w.o.Batch, w.o.Concurrency) }

// newLeaseOwner is a token unique to one claim; only its holder may send
// and settle the messages of that claim.
func newLeaseOwner() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // never fails (crypto/rand.Read documents it)
	return hex.EncodeToString(b[:])
}

// drain claims one batch and delivers it; it returns how many it claimed.
func (w *Worker) drain(ctx context.Context) (int, error) {
	now := w.o.Clock()
	owner := newLeaseOwner()
	msgs, err := w.outbox.ClaimMail(ctx, owner, now, now.Add(w.o.Lease), w.claimSize())
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
			w.release(book, owner, msgs[i:])
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			w.deliver(sendCtx, book, owner, m)
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
func (w *Worker) release(ctx context.Context, owner string, msgs []store.Mail) {
	now := w.o.Clock()
	for _, m := range msgs {
		if err := w.outbox.MarkMailFailed(ctx, m.ID, owner, now, releasedError, false); err != nil {
			w.o.Logger.WarnContext(ctx, "outbox: release failed; the message returns after its lease", "id", m.ID, "err", err)
		}
	}
}

// deliver sends m under sendCtx and records the outcome under book, as
// owner of its lease. The lease is renewed first, which also proves it is
// still held: a message taken over by another claim is left to it.
func (w *Worker) deliver(sendCtx, book context.Context, owner string, m store.Mail) {
	start := w.o.Clock()
	if err := w.outbox.RenewMailLease(book, m.ID, owner, start.Add(w.o.Lease)); err != nil {
		w.o.Logger.WarnContext(book, "outbox: lease lost or not renewable; not sending", "id", m.ID, "err", err)
		return
	}
	// The send ends at half the lease at the latest, leaving the other half
	// for recording its outcome before anyone may claim the message again.
	sctx, cancel := context.WithTimeout(sendCtx, w.o.Lease/2)
	err := w.sender.Send(sctx, m)
	cancel()
	if err == nil {
		// Recorded only now that the server accepted the message: a
		// refusal at the final dot stays pending (SPEC §7).
		if merr := w.outbox.MarkMailSent(book, m.ID, owner, w.o.Clock()); merr != nil {
			w.o.Logger.ErrorContext(book, "outbox: delivered, but recording it failed; it may be sent once more after its lease",
				"id", m.ID, "err", merr)
		}
		w.sent.Add(1)
		w.o.Logger.DebugContext(book, "mail sent", "id", m.ID, "kind", m.Kind, "attempt", m.Attempts)
		return
	}
	var perm *PermanentError
	dead := errors.As(err, &perm) || m.Attempts >= w.o.MaxAttempts
	next := w.o.Clock().Add(w.backoff(m.Attempts))
	if merr := w.outbox.MarkMailFailed(book, m.ID, owner, next, err.Error(), dead); merr != nil {
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
