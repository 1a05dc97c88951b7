package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// maxBatch bounds how many transactions share one commit.
const maxBatch = 64

var errClosed = fmt.Errorf("sqlstore: store closed: %w", store.ErrUnavailable)

// batcher is SQLite's group commit. SQLite has one writer and every commit
// writes its pages to the WAL; profiles of the portal sign-in showed the
// commit as the largest single cost. Transactions that arrive while one runs
// wait, then run back to back inside one SQLite transaction, each in its own
// savepoint, and share one commit. Each keeps its own outcome: a failing one
// is rolled back to its savepoint without touching the others, and every
// caller learns its result only once the shared commit has succeeded. They
// run one after another, so the result is the same as running them serially.
type batcher struct {
	db   *sql.DB
	d    *dialect
	now  func() time.Time
	ws   *stmtCache
	jobs chan *txJob // unbuffered: a send succeeds only into a running loop
	quit chan struct{}
	done sync.WaitGroup
	once sync.Once
	// commits counts shared commits (read by tests).
	commits atomic.Int64
}

type txJob struct {
	ctx  context.Context
	fn   func(q store.Queries) error
	err  error
	done chan struct{}
}

func newBatcher(db *sql.DB, d *dialect, now func() time.Time, ws *stmtCache) *batcher {
	b := &batcher{db: db, d: d, now: now, ws: ws, jobs: make(chan *txJob), quit: make(chan struct{})}
	b.done.Add(1)
	go b.loop()
	return b
}

// run queues fn and waits for its outcome.
func (b *batcher) run(ctx context.Context, fn func(q store.Queries) error) error {
	j := &txJob{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case b.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.quit:
		return errClosed
	}
	// Once taken, the job is waited for even if ctx ends: fn may still be
	// writing the caller's variables.
	<-j.done
	return j.err
}

func (b *batcher) loop() {
	defer b.done.Done()
	batch := make([]*txJob, 0, maxBatch)
	for {
		select {
		case <-b.quit:
			return
		case j := <-b.jobs:
			batch = append(batch[:0], j)
		}
		b.gather(&batch)
		// Under load the transactions of requests still running arrive
		// just after the commit would start: one yield lets the runnable
		// goroutines reach their send, and the batch shares one commit
		// (a passkey sign-in's commits went from 1.8 to 8 jobs each, and
		// the server's CPU per sign-in down about a tenth). With nothing
		// else runnable the yield returns at once, so an idle server
		// commits without delay.
		if len(batch) < maxBatch {
			runtime.Gosched()
			b.gather(&batch)
		}
		b.commit(batch)
		for _, j := range batch {
			close(j.done)
		}
	}
}

// gather adds the jobs already waiting to batch, up to maxBatch.
func (b *batcher) gather(batch *[]*txJob) {
	for len(*batch) < maxBatch {
		select {
		case j := <-b.jobs:
			*batch = append(*batch, j)
		default:
			return
		}
	}
}

// commit runs batch in one transaction and sets every job's err.
func (b *batcher) commit(batch []*txJob) {
	fail := func(err error) {
		for _, j := range batch {
			if j.err == nil {
				j.err = err
			}
		}
	}
	// Not the callers' contexts: one caller giving up must not abort the
	// transaction the others share.
	ctx := context.Background()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		fail(unavailable("sqlstore: begin", err))
		return
	}
	var unprepared []string
	defer func() { b.ws.prepare(ctx, unprepared) }()
	single := len(batch) == 1
	ok := 0
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		q := &queries{w: tx, r: tx, d: b.d, now: b.now, ws: b.ws, tx: tx}
		if !single {
			if _, err := q.exec(ctx, "SAVEPOINT job"); err != nil {
				tx.Rollback()
				fail(unavailable("sqlstore: savepoint", err))
				return
			}
		}
		j.err = runJob(context.WithoutCancel(j.ctx), j.fn, q)
		unprepared = append(unprepared, q.unprepared...)
		if single {
			break
		}
		if j.err != nil {
			if _, err := q.exec(ctx, "ROLLBACK TO job"); err != nil {
				tx.Rollback()
				fail(unavailable("sqlstore: roll back to savepoint", err))
				return
			}
		}
		if _, err := q.exec(ctx, "RELEASE job"); err != nil {
			tx.Rollback()
			fail(unavailable("sqlstore: release savepoint", err))
			return
		}
		if j.err == nil {
			ok++
		}
	}
	if single && batch[0].err != nil || !single && ok == 0 {
		tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		fail(unavailable("sqlstore: commit", err))
		return
	}
	b.commits.Add(1)
}

// runJob runs fn, turning a panic into its error so that the batch it
// shares a transaction with is not lost with it.
func runJob(ctx context.Context, fn func(q store.Queries) error, q *queries) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlstore: panic in transaction: %v", p)
		}
	}()
	return fn(q)
}

func (b *batcher) close() {
	if b == nil {
		return
	}
	b.once.Do(func() { close(b.quit) })
	b.done.Wait()
}

// viaBatch runs fn through the group commit on SQLite and directly on
// PostgreSQL, where a transaction of one statement would only add round
// trips. The writes every sign-in, reset request and refresh grant makes
// outside a transaction of their own go through it.
func viaBatch[T any](ctx context.Context, s *Store, fn func(q store.Queries) (T, error)) (T, error) {
	if s.batch == nil {
		return fn(&s.queries)
	}
	var v T
	err := s.InTx(ctx, func(q store.Queries) (err error) {
		v, err = fn(q)
		return err
	})
	return v, err
}

func (s *Store) ThrottleHit(ctx context.Context, key string, now time.Time, window time.Duration) (store.ThrottleState, error) {
	return viaBatch(ctx, s, func(q store.Queries) (store.ThrottleState, error) { return q.ThrottleHit(ctx, key, now, window) })
}

func (s *Store) ThrottleClear(ctx context.Context, key string) error {
	_, err := viaBatch(ctx, s, func(q store.Queries) (struct{}, error) { return struct{}{}, q.ThrottleClear(ctx, key) })
	return err
}

func (s *Store) ThrottleTake(ctx context.Context, key string, prev store.ThrottleState, free int, now time.Time, window time.Duration) (bool, error) {
	return viaBatch(ctx, s, func(q store.Queries) (bool, error) { return q.ThrottleTake(ctx, key, prev, free, now, window) })
}

func (s *Store) ThrottleRefund(ctx context.Context, key string) error {
	_, err := viaBatch(ctx, s, func(q store.Queries) (struct{}, error) { return struct{}{}, q.ThrottleRefund(ctx, key) })
	return err
}

func (s *Store) ThrottleTakeMany(ctx context.Context, takes []store.ThrottleTakeArgs) (int, error) {
	return viaBatch(ctx, s, func(q store.Queries) (int, error) { return q.ThrottleTakeMany(ctx, takes) })
}

func (s *Store) ThrottleRelease(ctx context.Context, clearKey, refundKey string, e *store.AuditEvent) error {
	_, err := viaBatch(ctx, s, func(q store.Queries) (struct{}, error) {
		return struct{}{}, q.ThrottleRelease(ctx, clearKey, refundKey, e)
	})
	return err
}

func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	_, err := viaBatch(ctx, s, func(q store.Queries) (struct{}, error) { return struct{}{}, q.AppendAudit(ctx, e) })
	return err
}

func (s *Store) ExchangeRefreshToken(ctx context.Context, cur store.RefreshFamily, next store.RefreshRotation, e store.AuditEvent) (bool, error) {
	return viaBatch(ctx, s, func(q store.Queries) (bool, error) { return q.ExchangeRefreshToken(ctx, cur, next, e) })
}
