package mail

import (
	"context"
	"errors"
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
}

// Stats are the worker's counters since start.
type Stats struct{ Sent, Failed, Dead int64 }

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
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	return &Worker{outbox: outbox, sender: sender, o: o, nudge: make(chan struct{}, 1)}
}

// Nudge wakes the worker at once (a message was just queued).
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

// Run delivers until ctx ends, then lets sends in flight finish (each is
// bounded by the SMTP timeout) and returns nil.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.o.PollInterval)
	defer t.Stop()
	for {
		for {
			n, err := w.drain(ctx)
			if err != nil && ctx.Err() == nil {
				w.o.Logger.ErrorContext(ctx, "outbox claim failed", "err", err)
			}
			if n < w.o.Batch || ctx.Err() != nil {
				break
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
	if ctx.Err() != nil {
		return 0, nil
	}
	now := w.o.Clock()
	msgs, err := w.outbox.ClaimMail(ctx, now, now.Add(w.o.Lease), w.o.Batch)
	if err != nil {
		return 0, err
	}
	// Deliveries and their bookkeeping outlive ctx briefly, so a message
	// sent during shutdown is also marked sent.
	done := context.WithoutCancel(ctx)
	sem := make(chan struct{}, w.o.Concurrency)
	var wg sync.WaitGroup
	for _, m := range msgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			w.deliver(done, m)
		}()
	}
	wg.Wait()
	return len(msgs), nil
}

func (w *Worker) deliver(ctx context.Context, m store.Mail) {
	sctx, cancel := context.WithTimeout(ctx, w.o.Lease/2)
	err := w.sender.Send(sctx, m, func() error { return w.outbox.MarkMailSent(ctx, m.ID, w.o.Clock()) })
	cancel()
	if err == nil {
		w.sent.Add(1)
		return
	}
	// A failure after the commit un-marks the message (MarkMailFailed
	// clears sent_at), so it is retried.
	var perm *PermanentError
	dead := errors.As(err, &perm) || m.Attempts >= w.o.MaxAttempts
	next := w.o.Clock().Add(w.backoff(m.Attempts))
	if err := w.outbox.MarkMailFailed(ctx, m.ID, next, err.Error(), dead); err != nil {
		w.o.Logger.ErrorContext(ctx, "outbox: mark failed failed", "id", m.ID, "err", err)
	}
	w.failed.Add(1)
	if dead {
		w.dead.Add(1)
		w.o.Logger.ErrorContext(ctx, "mail given up", "id", m.ID, "kind", m.Kind, "attempts", m.Attempts, "err", err)
		return
	}
	w.o.Logger.WarnContext(ctx, "mail delivery failed; will retry", "id", m.ID, "attempt", m.Attempts, "next", next, "err", err)
}

// backoff is RetryBase doubled per attempt, capped at RetryMax, ±20%.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.o.RetryBase
	for i := 1; i < attempts && d < w.o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.o.RetryMax)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}
