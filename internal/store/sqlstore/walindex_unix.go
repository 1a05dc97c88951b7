//go:build unix

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walIndex is a read-only mapping of the first page of a SQLite database's
// wal-index (the "-shm" file), whose header every connection of every
// process rewrites when it commits (https://sqlite.org/walformat.html).
// Reading it is a few memory loads, where asking SQLite anything begins a
// read transaction (file locks, a syscall or two).
//
// The mapping stays valid because hold keeps a connection of this process
// open: SQLite truncates the -shm file only when a process opens it while
// no other has it open, and deletes it only when the last connection
// closes.
type walIndex struct {
	db   *sql.DB
	hold *sql.Conn
	// mu is held for reading while mem is read: close unmaps it under the
	// write lock, so a check still running when the store closes reads
	// nothing rather than an unmapped page.
	mu  sync.RWMutex
	mem []byte
}

// walIndexVersion is the wal-index header's iVersion (WALINDEX_MAX_VERSION),
// the same in every SQLite since 3.7.0.
const walIndexVersion = 3007000

// walHeader is one copy of the 48-byte wal-index header (WalIndexHdr) as
// native 32-bit words: iChange (moved by every commit), mxFrame, the
// salts and the checksum among them.
type walHeader [12]uint32

// openWALIndex maps the wal-index of the database at path; dsn opens a
// connection to it (the reader's, so that it cannot write).
func openWALIndex(ctx context.Context, path, dsn string) (*walIndex, error) {
	// SQLite names the -shm file after the database with its symbolic
	// links resolved.
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: wal-index of %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: wal-index of %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	w := &walIndex{db: db}
	fail := func(err error) (*walIndex, error) {
		w.close()
		return nil, fmt.Errorf("sqlstore: wal-index of %s: %w", path, err)
	}
	if w.hold, err = db.Conn(ctx); err != nil {
		return fail(err)
	}
	// A read transaction makes the connection map the -shm file (creating
	// and sizing it when needed); it keeps it until it closes.
	var n int
	if err := w.hold.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		return fail(err)
	}
	var mode string
	if err := w.hold.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fail(err)
	}
	if mode != "wal" {
		return fail(fmt.Errorf("journal mode %q, not wal", mode))
	}
	f, err := os.Open(real + "-shm")
	if err != nil {
		return fail(err)
	}
	defer f.Close() // the mapping outlives the descriptor
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	size := os.Getpagesize()
	if st.Size() < int64(size) {
		return fail(fmt.Errorf("-shm file of %d bytes", st.Size()))
	}
	if w.mem, err = syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED); err != nil {
		return fail(err)
	}
	if _, ok := w.header(); !ok {
		return fail(errors.New("no valid header in the -shm file"))
	}
	return w, nil
}

// header reads the header the way SQLite's readers do: the writer stores
// the second copy, then the first; a read that finds both equal found a
// complete header. ok is false while a commit is writing it, or when it is
// not a header this code knows.
func (w *walIndex) header() (h walHeader, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.mem == nil {
		return h, false
	}
	p := unsafe.Pointer(unsafe.SliceData(w.mem))
	var second walHeader
	for i := range h {
		h[i] = atomic.LoadUint32((*uint32)(unsafe.Add(p, 4*i)))
	}
	for i := range second {
		second[i] = atomic.LoadUint32((*uint32)(unsafe.Add(p, 48+4*i)))
	}
	return h, h == second && h[0] == walIndexVersion
}

func (w *walIndex) close() error {
	var errs []error
	w.mu.Lock()
	if w.mem != nil {
		errs = append(errs, syscall.Munmap(w.mem))
		w.mem = nil
	}
	w.mu.Unlock()
	if w.hold != nil {
		errs = append(errs, w.hold.Close())
	}
	errs = append(errs, w.db.Close())
	return errors.Join(errs...)
}
