// Package sqlite is the embedded SQLite storage backend of queue-sqlite: one
// Driver per database file, built on github.com/mattn/go-sqlite3.
//
// Each file has one writing connection owned by a writer goroutine that folds
// concurrent operations into shared BEGIN IMMEDIATE transactions (group
// commit), and a separate pool of read-only connections. The file runs in WAL
// mode with incremental auto-vacuum, so cleanup gives space back.
//
// Durability: with Synchronous "NORMAL" (the default) a committed write
// survives a crash of the process, but the last transactions before an OS
// crash or power cut may be rolled back (the database stays consistent).
// With "FULL" every commit is fsynced and survives power loss too, at the
// cost of one fsync per group commit.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	sqldriver "database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var errEOF = io.EOF

// Synchronous levels accepted in Options.
const (
	SyncNormal = "NORMAL"
	SyncFull   = "FULL"
)

// Defaults for Options.
const (
	BusyTimeoutDefault  = 5 * time.Second
	PollIntervalDefault = 20 * time.Millisecond
	ReadConnsDefault    = 4
)

// Options configures one SQLite file. Zero values take the defaults.
type Options struct {
	// Synchronous is "NORMAL" (default) or "FULL"; see the package doc for
	// what each survives.
	Synchronous string
	// BusyTimeout is how long read and application connections wait for a
	// lock inside SQLite, how long a checkpoint waits for readers, and how
	// long the writer waits for another connection's write lock before it
	// logs a warning (and again after each further BusyTimeout). The writer
	// itself waits for as long as its callers' contexts allow, then fails
	// them with ErrLocked.
	BusyTimeout time.Duration
	// PollInterval is how often the writer looks for commits made by other
	// processes (PRAGMA data_version); it bounds how late Changes fires.
	PollInterval time.Duration
	// ReadConns is the size of the read-only connection pool.
	ReadConns int
	// Logger receives debug and warning messages; nil discards them.
	Logger *slog.Logger
	// FileMode is the mode of the database file when Open creates it (its
	// -wal and -shm files take the same). Default FileModeDefault (0600).
	FileMode os.FileMode
	// ReadOnly opens an existing file for reading only: Open creates and
	// writes nothing (no file, no log, no migration), so it works on a
	// read-only file system or a file this user cannot write; every write
	// fails. A file with no -wal beside it is read as immutable: a process
	// that starts writing it meanwhile is not seen (see readOnlyImmutable).
	ReadOnly bool
}

func (o *Options) withDefaults() (Options, error) {
	r := Options{}
	if o != nil {
		r = *o
	}
	switch strings.ToUpper(r.Synchronous) {
	case "":
		r.Synchronous = SyncNormal
	case SyncNormal, SyncFull:
		r.Synchronous = strings.ToUpper(r.Synchronous)
	default:
		return r, fmt.Errorf("%w: synchronous %q (want NORMAL or FULL)", queuetype.ErrInvalidArgument, r.Synchronous)
	}
	if r.BusyTimeout < 0 || r.PollInterval < 0 || r.ReadConns < 0 {
		return r, fmt.Errorf("%w: negative sqlite option", queuetype.ErrInvalidArgument)
	}
	if r.BusyTimeout == 0 {
		r.BusyTimeout = BusyTimeoutDefault
	}
	if r.PollInterval == 0 {
		r.PollInterval = PollIntervalDefault
	}
	if r.ReadConns == 0 {
		r.ReadConns = ReadConnsDefault
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.FileMode == 0 {
		r.FileMode = FileModeDefault
	}
	return r, nil
}

// DB is the SQLite Driver for one file.
type DB struct {
	path  string
	opts  Options
	w     *writer
	read  *sql.DB
	appMu sync.Mutex
	app   *sql.DB // lazily opened pool for the application's transactions
	// storeID names this file's store in its metadata, so a caller's
	// transaction can be checked to run on this file (see checkTx).
	storeID string
	// immutable: opened read-only with no write-ahead log beside the file,
	// so SQLite is told the file cannot change (see readOnlyImmutable).
	immutable bool

	// vacuumStepHook, when set (by tests only), is called after each vacuum
	// step, before the checkpoint that follows it.
	vacuumStepHook func()
}

var _ driver.Driver = (*DB)(nil)

// Open opens (creating if needed, with Options.FileMode) the SQLite file at
// path, checks it can be read, applies pending schema migrations and starts
// its writer. A file that is not a database, or is damaged, fails with
// ErrCorrupt naming the file; a schema newer than this library fails with
// ErrSchemaTooNew, and an SQLite database that is not a queue's, or a
// symlink, with ErrInvalidArgument: those are refused untouched.
func Open(ctx context.Context, path string, opts *Options) (*DB, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &DB{path: path, opts: o}
	if err := d.prepareNode(); err != nil {
		return nil, err
	}
	scan := openScan(path) // before this process's connection creates a log
	wdb, err := sql.Open("sqlite3", d.dsn(true))
	if err != nil {
		return nil, d.wrap("open", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if err := d.prepareRetrying(ctx, wdb, scan); err != nil {
		wdb.Close()
		return nil, err
	}
	d.w = newWriter(path, wdb, o.PollInterval, o.BusyTimeout, o.Logger)
	if err := d.w.start(ctx); err != nil {
		wdb.Close()
		return nil, d.wrap("open", err)
	}
	d.read, err = sql.Open("sqlite3", d.dsn(false))
	if err != nil {
		d.w.stop()
		wdb.Close()
		return nil, d.wrap("open", err)
	}
	d.read.SetMaxOpenConns(o.ReadConns)
	d.read.SetMaxIdleConns(o.ReadConns)
	if err := d.initStoreID(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// metaStoreID is the metadata key of the file's store id.
const metaStoreID = "store_id"

// initStoreID reads the file's store id, recording a new one in a file
// that has none (read-only handles only read it).
func (d *DB) initStoreID(ctx context.Context) error {
	id, ok, err := d.Meta(ctx, metaStoreID)
	if err != nil || ok || d.opts.ReadOnly {
		d.storeID = id
		return err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	d.storeID, err = d.InitMeta(ctx, metaStoreID, hex.EncodeToString(b))
	return err
}

// How much Open checks, and why. Open must refuse a damaged file (rather
// than let a claim trip over it later) and must stay fast on a big, healthy
// queue, so it scans the file only when that is cheap or warranted:
//
//   - Always: SQLite validates the file header and reads the schema (page 1
//     and sqlite_master) when the first connection is set up and
//     prepareFile reads sqlite_master: a zeroed or foreign header, or a
//     damaged schema, fails there (SQLITE_NOTADB, SQLITE_CORRUPT), whatever
//     the size of the file.
//   - A clean shutdown leaves no write-ahead log (the last connection to
//     close checkpoints it into the database and deletes it). Then files up
//     to cleanScanMax get PRAGMA quick_check (every b-tree page's structure;
//     a few tens of milliseconds); bigger ones are not scanned.
//   - A log left behind means the last process did not close the file
//     (crash, kill -9, power loss), or that another process has it open
//     now. SQLite's recovery replays the log up to its last complete commit:
//     a torn or truncated tail is dropped silently, by design, and that is
//     recovery, not damage. What a crash can expose is storage that lost or
//     reordered writes it had reported synced, which can leave the file
//     inconsistent; so Open scans: PRAGMA integrity_check (the structure and
//     every index against its table) up to recoveryIntegrityMax, else
//     quick_check up to recoveryQuickMax, else nothing (Check runs the full
//     check on demand). When another process has the file open, the scan
//     reads a consistent snapshot: extra work, never a false alarm.
//
// A damaged byte inside a stored value is found by no check: SQLite keeps no
// checksums of its pages.
const (
	cleanScanMax         = 16 << 20
	recoveryIntegrityMax = 64 << 20
	recoveryQuickMax     = 1 << 30
)

// openScan returns the check Open runs on the file at path ("" for none),
// by the rules above. It only stats files: opening and closing a database
// file from Go would drop the POSIX locks SQLite holds on it in this
// process.
func openScan(path string) string {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		return "" // a new file
	}
	size := fileSize(path)
	if _, err := os.Stat(path + "-wal"); err != nil {
		if size <= cleanScanMax {
			return sqlQuickCheck
		}
		return ""
	}
	switch {
	case size <= recoveryIntegrityMax:
		return sqlIntegrity
	case size <= recoveryQuickMax:
		return sqlQuickCheck
	}
	return ""
}

// prepareNode makes sure the file is there and no link: a read-only
// open needs an existing file (and picks how to open it, see
// readOnlyImmutable); any other creates it with Options.FileMode.
func (d *DB) prepareNode() error {
	if !d.opts.ReadOnly {
		return createFile(d.path, d.opts.FileMode)
	}
	if err := checkNotLinks(d.path, true); err != nil {
		return err
	}
	d.immutable = readOnlyImmutable(d.path)
	return nil
}

// prepareRetrying runs prepareFile, retrying while the file is locked for up
// to the busy timeout: when several processes create the same file at once,
// the switch of a new file to WAL mode (in the connection's set-up) needs an
// exclusive lock and can fail with "database is locked" instead of waiting.
func (d *DB) prepareRetrying(ctx context.Context, wdb *sql.DB, scan string) error {
	deadline := time.Now().Add(d.opts.BusyTimeout)
	for try := 0; ; try++ {
		err := d.prepareFile(ctx, wdb, scan)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(busyBackoff(try))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// prepareFile checks the file is a readable, sound database of a queue
// (scan is the check to run, if any) and migrates it. Nothing is written
// (not even the journal mode) before the schema version is checked.
func (d *DB) prepareFile(ctx context.Context, wdb *sql.DB, scan string) error {
	conn, err := wdb.Conn(ctx)
	if err != nil {
		return d.wrap("open", err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(ctx, sqlSchemaExists).Scan(&n); err != nil {
		return d.wrap("open", err)
	}
	// Read-only until the file is known to be a queue this library can
	// write: a refused file is left byte for byte as it was.
	if err := checkSchema(ctx, conn, n); err != nil {
		return d.refuse(err)
	}
	if d.opts.ReadOnly && n == 0 {
		return d.refuse(fmt.Errorf("%w: the file is empty, not a queue's", queuetype.ErrInvalidArgument))
	}
	if scan != "" {
		if err := d.scan(ctx, conn, "open", scan); err != nil {
			return err
		}
	}
	if d.opts.ReadOnly {
		return nil // an older schema is read as it is: it cannot be migrated
	}
	if err := setJournal(ctx, conn, n == 0); err != nil {
		return d.wrap("open", err)
	}
	if err := migrate(ctx, conn); err != nil {
		return d.wrap("migrate", err)
	}
	return nil
}

// refuse wraps an error of checkSchema: a sentinel error naming the file,
// or an SQLite error.
func (d *DB) refuse(err error) error {
	if errors.Is(err, queuetype.ErrSchemaTooNew) || errors.Is(err, queuetype.ErrInvalidArgument) {
		return &queuetype.StorageError{Op: "open", Path: d.path, Err: err}
	}
	return d.wrap("open", err)
}

// pageSize is the page size of new files (a file keeps the one it was
// created with): SQLite's default. Every commit writes each page it changed
// to the write-ahead log, one write per page, and a checkpoint copies each
// back: a batch's cost follows the pages it fills, and a commit of one
// message touches three or four whatever their size. Measured with the
// driver's insert, CPU per message (issue 12, against 2 KB pages): batches
// of 1000 with 100 B contents 4.2 us (4.5), 1 KB 8.7 us (14.9), 16 KB 60 us
// (90), 64 KB 221 us (361). The price is paid by lone commits of small
// messages: BenchmarkSend (root package) takes about 20% more CPU than
// with 2 KB pages (the log gets twice the bytes per commit), and its
// msgs/s drop by about as much. 8 KB pages cut 1 KB and 16 KB batches
// further but cost a lone commit 30% more CPU.
var pageSize = 4096

// setJournal puts the file in WAL mode (a persistent setting of the file),
// first giving a new, empty file its page size and incremental auto-vacuum
// (so cleanup can give space back), which cannot change once the file has
// tables and is in WAL mode.
func setJournal(ctx context.Context, conn *sql.Conn, empty bool) error {
	if empty {
		for _, pragma := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA auto_vacuum = INCREMENTAL"} {
			if _, err := conn.ExecContext(ctx, pragma); err != nil {
				return err
			}
		}
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, not wal", mode)
	}
	return nil
}

// scan runs an integrity pragma (quick_check or integrity_check) and
// returns an error wrapping ErrCorrupt, naming the file, if it finds damage.
func (d *DB) scan(ctx context.Context, conn *sql.Conn, op, pragma string) error {
	rows, err := conn.QueryContext(ctx, pragma)
	if err != nil {
		return d.wrap(op, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return d.wrap(op, err)
		}
		if line != "ok" {
			for _, l := range strings.Split(line, "\n") {
				if !strings.HasPrefix(l, "*** in database") {
					problems = append(problems, l)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return d.wrap(op, err)
	}
	if len(problems) > 0 {
		if n := len(problems); n > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", n-3))
		}
		return &queuetype.StorageError{Op: op, Path: d.path,
			Err:  fmt.Errorf("%w: %s found: %s", queuetype.ErrCorrupt, strings.TrimPrefix(pragma, "PRAGMA "), strings.Join(problems, "; ")),
			Hint: "restore this file from a backup, or move it aside to start empty; `queuesqlite doctor` checks every file"}
	}
	return nil
}

// dsn builds the connection string: the writer gets the pragmas that matter
// for writing, readers are query-only.
func (d *DB) dsn(writer bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(d.opts.BusyTimeout.Milliseconds()))
	q.Set("_txlock", "immediate")
	q.Set("_synchronous", d.opts.Synchronous)
	q.Set("_cache_size", "-20000") // 20 MB page cache
	if writer {
		q.Set("_mutex", "no")
	} else {
		q.Set("_query_only", "true")
	}
	d.readOnlyParams(q)
	return "file:" + uriPath(d.path) + "?" + q.Encode()
}

// sqlMetaInit records a metadata value unless the key already has one.
const sqlMetaInit = `INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING`

// InitMeta records value under key unless the key already holds one, and
// returns the value stored, in one transaction: several processes creating
// a queue at once all end up with the first value recorded.
func (d *DB) InitMeta(ctx context.Context, key, value string) (string, error) {
	var stored string
	err := d.w.do(ctx, false, func(t *tx) error {
		if _, err := t.exec(sqlMetaInit, key, value); err != nil {
			return err
		}
		rows, err := t.w.query(sqlMetaGet, key)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]sqldriver.Value, 1)
		if err := rows.Next(vals); err != nil {
			return err
		}
		stored = asString(vals[0])
		return nil
	})
	return stored, d.wrap("write meta", err)
}

// uriPath escapes the characters of a file path that mean something in a
// "file:" URI: a "?" or "#" in a directory name would otherwise cut the path
// short and open another file. SQLite decodes the %HH escapes.
func uriPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// Path returns the file's path.
func (d *DB) Path() string { return d.path }

// AppDB returns a connection pool to this file for the application's own
// transactions (see InsertTx). Its transactions begin IMMEDIATE, so they
// queue for the write lock instead of failing with "database is locked".
func (d *DB) AppDB() (*sql.DB, error) {
	d.appMu.Lock()
	defer d.appMu.Unlock()
	if d.app == nil {
		q := url.Values{}
		q.Set("_busy_timeout", fmt.Sprint(d.opts.BusyTimeout.Milliseconds()))
		q.Set("_txlock", "immediate")
		q.Set("_synchronous", d.opts.Synchronous)
		d.readOnlyParams(q)
		db, err := sql.Open("sqlite3", "file:"+uriPath(d.path)+"?"+q.Encode())
		if err != nil {
			return nil, d.wrap("open", err)
		}
		d.app = db
	}
	return d.app, nil
}

// InAppTx runs fn in an immediate transaction on the application pool
// (AppDB) and commits it when fn returns nil. Unlike a transaction begun
// on AppDB directly, it waits for another connection's write lock only as
// long as ctx allows: then it fails with an error wrapping ErrLocked and
// ctx's error, and fn never runs.
func (d *DB) InAppTx(ctx context.Context, fn func(*sql.Tx) error) error {
	db, err := d.AppDB()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return d.wrap("begin", err)
	}
	defer conn.Close()
	if err := setBusyTimeout(ctx, conn, lockSlice); err != nil {
		return d.wrap("begin", err)
	}
	defer func() {
		if err := setBusyTimeout(context.Background(), conn, d.opts.BusyTimeout); err != nil {
			_ = conn.Raw(func(any) error { return sqldriver.ErrBadConn }) // drop the connection rather than reuse it
		}
	}()
	tx, err := d.beginWaiting(ctx, conn)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// beginWaiting begins an immediate transaction on conn, trying again while
// another connection holds the write lock, until ctx ends.
func (d *DB) beginWaiting(ctx context.Context, conn *sql.Conn) (*sql.Tx, error) {
	var since time.Time
	for {
		tx, err := conn.BeginTx(ctx, nil)
		if err == nil {
			return tx, nil
		}
		if ctx.Err() != nil && !since.IsZero() {
			return nil, d.wrap("begin", fmt.Errorf("%w: waited %v for the write lock; nothing was written: %w",
				queuetype.ErrLocked, time.Since(since).Round(time.Millisecond), ctx.Err()))
		}
		if !isBusy(err) {
			return nil, d.wrap("begin", err)
		}
		if since.IsZero() {
			since = time.Now()
		}
		t := time.NewTimer(lockPause)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

func setBusyTimeout(ctx context.Context, conn *sql.Conn, d time.Duration) error {
	_, err := conn.ExecContext(ctx, fmt.Sprintf("%s = %d", sqlBusyTimeout, d.Milliseconds()))
	return err
}

// Changes implements driver.Driver.
func (d *DB) Changes() <-chan struct{} { return d.w.changes }

// Close stops the writer and closes every connection.
func (d *DB) Close() error {
	d.w.stop()
	err := d.w.db.Close()
	if e := d.read.Close(); err == nil {
		err = e
	}
	d.appMu.Lock()
	defer d.appMu.Unlock()
	if d.app != nil {
		if e := d.app.Close(); err == nil {
			err = e
		}
	}
	return err
}

// wrap translates SQLite errors into the queue's sentinels at the driver
// boundary: full disk, corruption, duplicates and closed connections.
func (d *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if !errors.As(err, &se) {
		if errors.Is(err, queuetype.ErrLocked) {
			return &queuetype.StorageError{Op: op, Path: d.path, Err: err,
				Hint: "another connection or process holds a write transaction open (a long transaction on Queue.DB, another tool, a frozen process); retry once it ends"}
		}
		if errors.Is(err, sql.ErrConnDone) || errors.Is(err, queuetype.ErrClosed) {
			return fmt.Errorf("%s %s: %w", op, d.path, queuetype.ErrClosed)
		}
		if isCallersError(err) {
			return fmt.Errorf("%s: %w", op, err) // about the input, not the file: no path (the HTTP API shows it)
		}
		return fmt.Errorf("%s %s: %w", op, d.path, err)
	}
	switch {
	case isFull(err):
		return &queuetype.StorageError{Op: op, Path: d.path, Err: fmt.Errorf("%w: %w", queuetype.ErrStorageFull, err),
			Hint: "free disk space; nothing was written and the queue resumes by itself"}
	case se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB:
		return &queuetype.StorageError{Op: op, Path: d.path, Err: fmt.Errorf("%w: %w", queuetype.ErrCorrupt, err),
			Hint: "restore this file from a backup, or move it aside to start empty; `queuesqlite doctor` checks every file"}
	case se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey,
		se.ExtendedCode == sqlite3.ErrConstraintTrigger: // the id route triggers of migration 0003
		return fmt.Errorf("%s %s: %w: %w", op, d.path, queuetype.ErrDuplicate, err)
	}
	return &queuetype.StorageError{Op: op, Path: d.path, Err: err}
}

// isCallersError reports the sentinels that describe the caller's input
// or a message's state, whose text reaches clients as it is.
func isCallersError(err error) bool {
	return errors.Is(err, queuetype.ErrInvalidArgument) || errors.Is(err, queuetype.ErrNotFound) ||
		errors.Is(err, queuetype.ErrInvalidState)
}

// fileSize returns the bytes the database file and its WAL take on disk.
func fileSize(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// isFull reports a full disk or quota: SQLITE_FULL, or an I/O error whose
// system errno is ENOSPC or EDQUOT.
func isFull(err error) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code == sqlite3.ErrFull || se.SystemErrno == syscall.ENOSPC || se.SystemErrno == syscall.EDQUOT
}

// isBusy reports a lock held by another connection (SQLITE_BUSY or
// SQLITE_LOCKED), which the writer waits out instead of reporting.
func isBusy(err error) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked
}

// StoreID returns the id this file records for its store ("" for a file
// opened read-only that was written before store ids existed).
func (d *DB) StoreID() string { return d.storeID }
