package sqlstore

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// StateEpoch reads the counter that migration 00007 keeps: on SQLite a row
// moved by triggers in the writing transaction; on PostgreSQL a count of the
// spaceauth_state notifications this process has heard.
//
// On SQLite the row is read again only when the wal-index header has
// changed, which every commit of every connection and process does: while
// the header still reads what it read just before the row was last read,
// nothing has committed since, so the row still holds the same number.
// Unrelated writes (audit, throttling) move the header but not the row:
// they cost one read here and keep the cached entries.
func (s *Store) StateEpoch(ctx context.Context) (int64, bool) {
	if s.listener != nil {
		return s.listener.epoch()
	}
	var h walHeader
	stable := false
	if s.wal != nil {
		h, stable = s.wal.header()
		if m := s.mark.Load(); stable && m != nil && m.hdr == h {
			return m.n, true
		}
	}
	var n int64
	if err := s.queryRow(ctx, `SELECT n FROM state_epoch WHERE id = 1`).Scan(&n); err != nil {
		return 0, false
	}
	s.epochReads.Add(1)
	// The read began after h was read, so it saw at least what h stands
	// for; when it saw more, the header has moved past h already and this
	// mark is never matched.
	if stable {
		s.mark.Store(&epochMark{hdr: h, n: n})
	}
	return n, true
}

// StateEpochReads counts the state epoch's reads from the database: on
// SQLite one per commit that a bearer check followed, not one per check.
func (s *Store) StateEpochReads() int64 { return s.epochReads.Load() }

// epochMark is a wal-index header and the state epoch read under it.
type epochMark struct {
	hdr walHeader
	n   int64
}

// stateListener follows the spaceauth_state channel on a connection of its
// own. While it is not listening the epoch is not trusted, and every time it
// starts listening again the epoch moves, since notifications may have been
// missed meanwhile.
type stateListener struct {
	dsn string
	log *slog.Logger
	n   atomic.Int64
	up  atomic.Bool
	// reconnects counts the connections that reached LISTEN.
	reconnects atomic.Int64
	cancel     context.CancelFunc
	done       sync.WaitGroup
}

func startStateListener(dsn string, log *slog.Logger) *stateListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &stateListener{dsn: dsn, log: log, cancel: cancel}
	l.done.Add(1)
	go l.run(ctx)
	return l
}

func (l *stateListener) epoch() (int64, bool) {
	if !l.up.Load() {
		return 0, false
	}
	return l.n.Load(), true
}

// moved records a write this process committed (see Store.queries.wrote).
func (l *stateListener) moved() { l.n.Add(1) }

// Reconnect delays of the state listener: doubling from the first to the
// last while connecting fails, and back to the first once a connection
// was good, so that occasional drops do not leave the cache off for long.
const (
	listenBackoffFirst = 100 * time.Millisecond
	listenBackoffMax   = 5 * time.Second
)

func (l *stateListener) run(ctx context.Context) {
	defer l.done.Done()
	backoff := listenBackoffFirst
	for ctx.Err() == nil {
		wasUp, err := l.listen(ctx)
		l.up.Store(false)
		l.n.Add(1)
		if ctx.Err() != nil {
			return
		}
		if wasUp {
			backoff = listenBackoffFirst
			l.log.Warn("state listener: lost the PostgreSQL LISTEN connection; cache off until it is back", "err", err, "retry_in", backoff.String())
		} else {
			l.log.Warn("state listener: cannot listen on PostgreSQL; cache off", "err", err, "retry_in", backoff.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if !wasUp {
			backoff = min(2*backoff, listenBackoffMax)
		}
	}
}

// listen holds one LISTEN connection until it fails; up says whether it
// got as far as listening.
func (l *stateListener) listen(ctx context.Context) (up bool, err error) {
	conn, err := pgx.Connect(ctx, l.dsn)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN spaceauth_state"); err != nil {
		return false, err
	}
	l.n.Add(1)
	l.up.Store(true)
	if l.reconnects.Add(1) > 1 {
		l.log.Info("state listener: listening on PostgreSQL again; cache on")
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		l.n.Add(1)
	}
}

// StateListenerUp reports whether this process is listening for changes
// made by other processes (PostgreSQL); ok is false where there is no
// listener (SQLite), which needs none.
func (s *Store) StateListenerUp() (up, ok bool) {
	if s.listener == nil {
		return false, false
	}
	return s.listener.up.Load(), true
}

func (l *stateListener) close() {
	if l == nil {
		return
	}
	l.cancel()
	l.done.Wait()
}
