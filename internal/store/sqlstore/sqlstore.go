package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/spaceauth/spaceauth/internal/store"
)

//go:embed migrations
var migrationFS embed.FS

// Options tune a Store. The zero value is usable.
type Options struct {
	// SkipMigrate opens the database without applying migrations.
	SkipMigrate bool
	// MustExist refuses to create a database: for commands that only read,
	// a path that does not exist is an error, not a new empty database
	// (SPEC §7). On PostgreSQL, a database with no migration applied is
	// refused likewise.
	MustExist bool
	// ReadConns bounds the SQLite reader pool (default: 2 per CPU, at least 4).
	ReadConns int
	// Clock fills in unset creation times (default time.Now).
	Clock func() time.Time
	// Logger receives the state listener's complaints (default: discarded).
	Logger *slog.Logger
}

// Store is a store.Store over SQL.
type Store struct {
	queries
	writer   *sql.DB
	reader   *sql.DB
	provider *goose.Provider
	listener *stateListener // PostgreSQL only
	batch    *batcher       // SQLite only: group commit of InTx
	// wal maps SQLite's wal-index (nil on PostgreSQL, or where it could
	// not be mapped); mark is the last header and state epoch read under
	// it (see StateEpoch).
	wal  *walIndex
	mark atomic.Pointer[epochMark]
	// epochReads counts the state epoch's reads from the database (read by
	// tests).
	epochReads atomic.Int64
}

var _ store.Store = (*Store)(nil)

// Open opens (creating when needed) the database named by dsn: a SQLite file
// path, optionally prefixed "sqlite:" or "file:". It applies pending
// migrations unless opts.SkipMigrate is set.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if IsPostgres(dsn) {
		return openPostgres(ctx, dsn, opts)
	}
	return openSQLite(ctx, dsn, opts)
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func openPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = max(8, 4*runtime.NumCPU())
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to postgres: %w", err)
	}
	d := postgresDialect()
	s := &Store{queries: queries{w: db, r: db, d: d, now: clockOr(opts.Clock)}, writer: db, reader: db}
	if err := s.initMigrations(ctx, d, opts); err != nil {
		db.Close()
		return nil, err
	}

	s.listener = startStateListener(dsn, logOr(opts.Logger))
	// This process's own writes move its epoch as soon as they commit: the
	// NOTIFY that moves it for every process arrives some milliseconds
	// later, and until then a disabled user's token still passed here.
	s.queries.wrote = s.listener.moved
	return s, nil
}

func logOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

func clockOr(c func() time.Time) func() time.Time {
	if c == nil {
		return time.Now
	}
	return c
}

func openSQLite(ctx context.Context, dsn string, opts Options) (*Store, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return nil, errors.New("sqlstore: empty database path")
	}
	if opts.MustExist {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("sqlstore: no database at %s (this command never creates one): %w", path, err)
		}
	} else if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlstore: create the directory of %s: %w", path, err)
		}
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	pragmas := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)",
		// Freed and overwritten content is zeroed, so an erased mail body
		// or a deleted token does not linger in free pages (SPEC §6).
		"secure_delete(1)"} {
		pragmas.Add("_pragma", p)
	}
	wv := url.Values{"_txlock": {"immediate"}}
	for k, v := range pragmas {
		wv[k] = v
	}
	writer, err := sql.Open("sqlite", "file:"+path+"?"+wv.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	// One writer: SQLite serialises writes anyway, and a single connection
	// turns lock contention into an orderly queue instead of busy retries.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)

	rv := url.Values{}
	for k, v := range pragmas {
		rv[k] = v
	}
	rv.Add("_pragma", "query_only(1)")
	// Each reader's page cache at 1 MiB instead of SQLite's 2 MiB: it is
	// memory outside the Go heap, per connection (2 × CPUs of them), and
	// pages it misses come from the operating system's file cache, which
	// all connections share. Under the soak the readers' caches were
	// about 7 MB of the server's RSS (BENCHMARKS.md).
	rv.Add("_pragma", "cache_size(-1024)")
	reader, err := sql.Open("sqlite", "file:"+path+"?"+rv.Encode())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = max(4, 2*runtime.NumCPU())
	}
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)

	// A garbage or unreadable file fails here, with the path in the message.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	if _, err := writer.ExecContext(ctx, "SELECT count(*) FROM sqlite_master"); err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("sqlstore: read %s: %w", path, err)
	}
	d := sqliteDialect()
	s := &Store{queries: queries{w: writer, r: reader, d: d, now: clockOr(opts.Clock),
		ws: newStmtCache(writer), rs: newStmtCache(reader)}, writer: writer, reader: reader}
	s.batch = newBatcher(writer, d, s.now, s.ws)
	if err := s.initMigrations(ctx, d, opts); err != nil {
		s.Close()
		return nil, err
	}
	if s.wal, err = openWALIndex(ctx, path, "file:"+path+"?"+rv.Encode()); err != nil {
		// Still exact, only slower: every check reads the epoch's row.
		logOr(opts.Logger).Warn("sqlstore: bearer checks read the state epoch from the database", "err", err)
	}
	return s, nil
}

// createPrivate creates the database file 0600 when it does not exist yet
// (SPEC §6): it holds password hashes and, without a key-encryption key,
// private keys. SQLite creates the -wal and -shm files with the database
// file's permissions, so they follow. An existing file is left as it is.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlstore: create %s: %w", path, err)
	}
	return nil
}

func (s *Store) initMigrations(ctx context.Context, d *dialect, opts Options) error {
	sub, err := fs.Sub(migrationFS, d.migrations)
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	popts := []goose.ProviderOption{goose.WithGoMigrations(emailKeyMigration(d)),
		// Migration numbers are reserved per feature (00014 federation,
		// 00016+ passkeys, ...), so a database may hold a higher number
		// before a lower one exists; each touches only its own tables and
		// columns, so a lower one found missing is applied, not refused.
		goose.WithAllowOutofOrder(true)}
	if d.migrationLocker != nil {
		locker, err := d.migrationLocker()
		if err != nil {
			return fmt.Errorf("sqlstore: migration lock: %w", err)
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(d.gooseDialect, s.writer, sub, popts...)
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	s.provider = p
	if opts.MustExist {
		// Checked before migrating, which would create the schema.
		if cur, _, err := p.GetVersions(ctx); err != nil || cur == 0 {
			return errors.New("sqlstore: the database holds no spaceauth schema (this command never creates one)")
		}
	}
	if opts.SkipMigrate {
		return nil
	}
	return s.Migrate(ctx)
}

// Migrate applies every pending migration.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.provider.Up(ctx); err != nil {
		return fmt.Errorf("sqlstore: apply migrations: %w", err)
	}
	return nil
}

// MigrationVersion reports the applied and the newest embedded version.
func (s *Store) MigrationVersion(ctx context.Context) (current, target int64, err error) {
	return s.provider.GetVersions(ctx)
}

// Migrated reports whether every embedded migration has been applied.
func (s *Store) Migrated(ctx context.Context) (bool, error) {
	pending, err := s.provider.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlstore: migration status: %w", err)
	}
	return !pending, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.reader.PingContext(ctx); err != nil {
		return unavailable("sqlstore: ping", err)
	}
	return nil
}

// ProbeWrite rewrites the heartbeat row in a transaction on the writer, so
// a database that still answers reads but refuses writes (read-only file,
// full disk, locked by another writer) is found out.
func (s *Store) ProbeWrite(ctx context.Context) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return unavailable("sqlstore: write probe", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE heartbeat SET at = ? WHERE id = 1`), s.now().UnixNano())
	if err != nil {
		return unavailable("sqlstore: write probe", err)
	}
	if err := mustAffect(res, "sqlstore: write probe"); err != nil {
		return err
	}
	return unavailable("sqlstore: write probe", tx.Commit())
}

// IntegrityCheck runs SQLite's integrity check and returns its verdict
// ("ok" when sound). On PostgreSQL it reports "ok" when the server answers.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	return s.d.integrity(ctx, s.reader)
}

// Pools names the connection pools, for metrics.
func (s *Store) Pools() map[string]*sql.DB {
	if s.writer == s.reader {
		return map[string]*sql.DB{"db": s.writer}
	}
	return map[string]*sql.DB{"writer": s.writer, "reader": s.reader}
}

// Close closes both pools.
func (s *Store) Close() error {
	s.listener.close()
	s.batch.close()
	if s.provider != nil {
		s.provider.Close()
	}
	var werr error
	if s.wal != nil {
		werr = s.wal.close()
	}
	return errors.Join(s.ws.close(), s.rs.close(), s.reader.Close(), s.writer.Close(), werr)
}

// InTx runs fn in one write transaction (on SQLite: BEGIN IMMEDIATE, and
// possibly shared with other InTx calls; see batcher).
func (s *Store) InTx(ctx context.Context, fn func(q store.Queries) error) error {
	if s.batch != nil {
		return s.batch.run(ctx, fn)
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return unavailable("sqlstore: begin", err)
	}
	q := &queries{w: tx, r: tx, d: s.d, now: s.now, ws: s.ws, tx: tx, wrote: s.queries.wrote}
	// The transaction holds SQLite's only writer connection, so statements
	// it lacks are prepared once it has ended.
	defer func() { s.ws.prepare(ctx, q.unprepared) }()
	if err := fn(q); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable("sqlstore: commit", err)
	}
	if q.wrote != nil && q.txState {
		q.wrote()
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements store.Queries; w takes writes, r reads. Inside a
// transaction both are the transaction (tx), and statements prepared on the
// writer are borrowed by it.
type queries struct {
	w, r   querier
	d      *dialect
	now    func() time.Time
	ws, rs *stmtCache // prepared statements of the writer and reader pools (SQLite only)
	tx     *sql.Tx
	// unprepared are the queries a transaction ran that ws did not have.
	unprepared []string
	// wrote, when set (PostgreSQL), is called once a write of cached state
	// (dialect.movesState) has committed: after an InTx commit whose
	// transaction made one (txState), or after one outside a transaction.
	// Other writes (throttling, audit, refresh families, sessions) leave
	// the epoch, so they do not empty this process's state cache.
	wrote   func()
	txState bool
}

// stateWritten records a write of cached state: committed already outside
// a transaction, or to be reported when its transaction commits.
func (q *queries) stateWritten() {
	if q.tx != nil {
		q.txState = true
		return
	}
	q.wrote()
}

// writeQ and readQ return what runs query: a prepared statement when the
// pool has a cache, else the pool or transaction itself.
func (q *queries) writeQ(ctx context.Context, query string) querier {
	if q.tx != nil {
		if st := q.ws.lookup(query); st != nil {
			return stmtQuerier{q.tx.StmtContext(ctx, st)}
		}
		if q.ws != nil {
			q.unprepared = append(q.unprepared, query)
		}
		return q.w
	}
	if st := q.ws.get(ctx, query); st != nil {
		return stmtQuerier{st}
	}
	return q.w
}

func (q *queries) readQ(ctx context.Context, query string) querier {
	if q.tx != nil {
		return q.writeQ(ctx, query)
	}
	if st := q.rs.get(ctx, query); st != nil {
		return stmtQuerier{st}
	}
	return q.r
}

func (q *queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = q.d.rebind(query)
	res, err := q.writeQ(ctx, query).ExecContext(ctx, query, args...)
	if err == nil && q.wrote != nil && q.d.movesState(query) {
		q.stateWritten()
	}
	return res, err
}

func (q *queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = q.d.rebind(query)
	return q.readQ(ctx, query).QueryContext(ctx, query, args...)
}

func (q *queries) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = q.d.rebind(query)
	return q.readQ(ctx, query).QueryRowContext(ctx, query, args...)
}

// writeRow runs a statement with RETURNING on the writer. Outside a
// transaction it reports no state write: it cannot tell when the statement
// has committed, and the state writes made this way insert users and
// businesses, which nothing cached yet holds (unknown ones are not cached).
func (q *queries) writeRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = q.d.rebind(query)
	if q.tx != nil && q.wrote != nil && q.d.movesState(query) {
		q.txState = true
	}
	return q.writeQ(ctx, query).QueryRowContext(ctx, query, args...)
}

// wrap maps driver errors onto the store's sentinels.
// collect reads every row of a query with scan; op names the query in
// errors, and err is the query's own error.
func collect[T any](q *queries, op string, rows *sql.Rows, err error, scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	if err != nil {
		return nil, q.wrap(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, q.wrap(op, err)
		}
		out = append(out, v)
	}
	return out, q.wrap(op, rows.Err())
}

// execOne runs a conditional write and reports whether it changed exactly
// one row: how the store lets one of two racing spends win.
func (q *queries) execOne(ctx context.Context, op, query string, args ...any) (bool, error) {
	res, err := q.exec(ctx, query, args...)
	if err != nil {
		return false, q.wrap(op, err)
	}
	n, err := res.RowsAffected()
	return n == 1, q.wrap(op, err)
}

func (q *queries) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	case q.d.isUnique(err):
		return fmt.Errorf("%s: %w", op, store.ErrConflict)
	default:
		return unavailable(op, err)
	}
}

// unavailable marks a database failure as store.ErrUnavailable, keeping
// the cause for the log. A caller's own cancellation stays what it is.
func unavailable(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

func mustAffect(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return unavailable(op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	return nil
}
