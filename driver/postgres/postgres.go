// Package postgres is the PostgreSQL storage backend of queue-sqlite, for
// queues shared by many processes on many hosts. It is built on
// github.com/jackc/pgx/v5 (a pgxpool pool) and passes the same conformance
// suite as the embedded SQLite backend:
//
//	db, err := postgres.Open(ctx, "postgres://user@host/db", nil)
//	q, err := queuesqlite.New(nil, db)
//
// Each queue lives in its own schema (Options.Schema, "queuesqlite" by
// default), created and migrated by Open under an advisory lock, so many
// processes may open one queue at once; a schema written by a newer version
// is refused with ErrSchemaTooNew and left untouched.
//
// How it keeps the guarantees of the SQLite backend with many writers:
//
//   - Claims take ready rows with FOR UPDATE SKIP LOCKED from a partial
//     index of ready messages in claim order, one short index range per
//     destination, so concurrent claims on any host never share a row and
//     never wait for each other.
//   - Batches are one statement: inserts, completions and lease renewals
//     bind one array per column (unnest), whatever the batch size.
//   - Times come from the database (driver.Clock): every host stores and
//     compares times of one clock, so a host whose clock is off steals no
//     lease. Lease renewals touch no indexed column and stay HOT updates.
//   - Listen changes are appended under a transaction-level advisory lock
//     held from taking the seq to commit, so they become visible in seq
//     order (driver.ListenStore).
//   - Wake-ups travel by LISTEN/NOTIFY with topics (driver.TopicWatcher):
//     one notification per commit, naming the destinations and callback
//     owners it touched, sent after it (concurrent writes never notify
//     inside their transactions: PostgreSQL serialises the commits of
//     those that do) or, for an insert that is the handle's only one under
//     way, by the insert statement itself. A listener that loses its connection reconnects by itself
//     and reports "something changed" (TopicAny); a slow fallback poll
//     covers a notification lost with a dropped connection.
//   - A read whose connection the server ended (a restart, a failover,
//     pg_terminate_backend) runs once more, after the pool drops the dead
//     connections; a write never does (its answer may be lost after it
//     committed). The queue's own transactions set
//     idle_in_transaction_session_timeout locally (Options.IdleInTxTimeout),
//     so a stalled process does not hold row locks for ever.
//   - Options.PollOnly works behind a pooler in transaction mode
//     (PgBouncer), where LISTEN is not available: every handle looks for
//     work each PollInterval instead.
//
// Connection settings come from a standard DSN (URL or key=value) and the
// PG* environment variables, as pgx reads them; pool_max_conns and the
// other pgxpool settings work in the DSN.
package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Defaults for Options.
const (
	// SchemaDefault is the schema of a queue when Options.Schema is empty.
	SchemaDefault = "queuesqlite"
	// FallbackPollDefault is how often a listening handle reports "something
	// changed" even without a notification.
	FallbackPollDefault = time.Second
	// PollIntervalDefault is how often a poll-only handle looks for work.
	PollIntervalDefault = 100 * time.Millisecond
	// MaxConnsDefault is the pool size when the DSN sets none.
	MaxConnsDefault = 8
	// IdleInTxTimeoutDefault is Options.IdleInTxTimeout when it is 0.
	IdleInTxTimeoutDefault = 10 * time.Second
)

// idleInTxTimeoutMax is the longest idle_in_transaction_session_timeout
// PostgreSQL takes (INT_MAX milliseconds).
const idleInTxTimeoutMax = math.MaxInt32 * time.Millisecond

// Limits and timings of the backend.
const (
	maxSchemaLength   = 48 // leaves room for the channel name's prefix in 63 bytes
	reconnectMin      = 50 * time.Millisecond
	reconnectMax      = 5 * time.Second
	cleanupBatchSize  = 5000
	listLimitDefault  = 100
	maintainLimit     = 1000
	notifyPayloadMax  = 7000 // bytes; PostgreSQL allows 8000
	storeIDPrefix     = "queuesqlite store "
	metaStoreID       = "store_id"
	lockSpaceMigrate  = "migrate"
	lockSpaceListen   = "listen"
	lockSpaceUnique   = "unique"
	lockSpaceElection = "leader"
	lockSpaceLimits   = "limits"
	// lockSpaceQueueLimits serialises the claims of one worker queue with a
	// global limit (keyed by the queue's name).
	lockSpaceQueueLimits = "queue-limits"
)

// Options configures a PostgreSQL queue. Zero values take the defaults.
type Options struct {
	// Schema is the schema that holds the queue's tables; each queue needs
	// its own. Letters, digits and underscores, starting with a letter or
	// underscore, at most 48 bytes. Default SchemaDefault.
	Schema string
	// PollOnly turns LISTEN/NOTIFY off: for a connection pooler in
	// transaction mode (PgBouncer), which cannot carry LISTEN. Each handle
	// then looks for new work, results and listen changes every
	// PollInterval. Behind PgBouncer also set default_query_exec_mode=exec
	// in the DSN unless it is 1.21 or newer with max_prepared_statements.
	PollOnly bool
	// PollInterval is how often a PollOnly handle looks for changes.
	// Default PollIntervalDefault.
	PollInterval time.Duration
	// FallbackPoll is how often a listening handle looks even without a
	// notification, in case one was lost with a connection. Default
	// FallbackPollDefault.
	FallbackPoll time.Duration
	// Logger receives warnings (a lost listen connection); nil discards them.
	Logger *slog.Logger
	// NoCreate makes Open fail with an error wrapping ErrNotFound when the
	// schema holds no queue, instead of creating one (for tools that
	// inspect a queue: a mistyped name should not create an empty one).
	NoCreate bool
	// IdleInTxTimeout is the idle_in_transaction_session_timeout of every
	// transaction the queue opens itself: the server ends the session of a
	// process that stalls that long inside one (frozen, paused in a
	// debugger, cut off by a half-open connection), so it does not hold
	// the rows it locked for ever. It is set with SET LOCAL in the same
	// round trip as BEGIN, so it costs nothing, works behind PgBouncer in
	// transaction mode (unlike a session setting) and never touches a
	// caller's transaction (InsertTx and the other ...Tx methods leave
	// those as they are). Rounded to milliseconds. 0 takes
	// IdleInTxTimeoutDefault; a negative value sets nothing, so the
	// server's (or role's) setting applies.
	IdleInTxTimeout time.Duration
}

var schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (o *Options) withDefaults() (Options, error) {
	r := Options{}
	if o != nil {
		r = *o
	}
	if r.Schema == "" {
		r.Schema = SchemaDefault
	}
	if len(r.Schema) > maxSchemaLength || !schemaName.MatchString(r.Schema) {
		return r, fmt.Errorf("%w: postgres schema %q: want letters, digits and underscores, starting with a letter or underscore, at most %d bytes",
			queuetype.ErrInvalidArgument, r.Schema, maxSchemaLength)
	}
	if r.IdleInTxTimeout > idleInTxTimeoutMax {
		return r, fmt.Errorf("%w: postgres IdleInTxTimeout %v: at most %v", queuetype.ErrInvalidArgument,
			r.IdleInTxTimeout, idleInTxTimeoutMax)
	}
	if r.IdleInTxTimeout == 0 {
		r.IdleInTxTimeout = IdleInTxTimeoutDefault
	}
	if r.PollInterval < 0 || r.FallbackPoll < 0 {
		return r, fmt.Errorf("%w: negative postgres poll interval", queuetype.ErrInvalidArgument)
	}
	if r.PollInterval == 0 {
		r.PollInterval = PollIntervalDefault
	}
	if r.FallbackPoll == 0 {
		r.FallbackPoll = FallbackPollDefault
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// DB is the PostgreSQL Driver of one queue (one schema).
type DB struct {
	pool    *pgxpool.Pool
	ownPool bool
	opts    Options
	schema  string
	channel string // the LISTEN/NOTIFY channel of the schema
	handle  string // this handle's id, so it skips its own notifications
	storeID string

	stmts  sync.Map      // template -> rendered statement
	txOpts pgx.TxOptions // how the queue's own transactions begin (see Options.IdleInTxTimeout)

	claims  lostClaims  // claims that got no answer, taken back by the next
	inserts insertGroup // concurrent plain inserts, folded into shared statements

	changes  chan struct{}
	watchers watchers
	notifier *notifier

	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	closed   atomic.Bool

	appMu sync.Mutex
	app   *sql.DB
}

var (
	_ driver.Driver         = (*DB)(nil)
	_ driver.Clock          = (*DB)(nil)
	_ driver.TopicWatcher   = (*DB)(nil)
	_ driver.AppDB          = (*DB)(nil)
	_ driver.Elector        = (*DB)(nil)
	_ driver.ListenStore    = (*DB)(nil)
	_ driver.UniqueInserter = (*DB)(nil)
	_ driver.FinishedLister = (*DB)(nil)
	_ driver.Pauser         = (*DB)(nil)
	_ driver.Exporter       = (*DB)(nil)
	_ driver.Importer       = (*DB)(nil)
	_ driver.ListenImporter = (*DB)(nil)
)

// Open connects to the database a DSN names ("" takes the PG* environment
// variables), creates or migrates the queue's schema and starts listening
// for other handles' changes.
func Open(ctx context.Context, dsn string, opts *Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres dsn: %v", queuetype.ErrInvalidArgument, redact(err))
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = MaxConnsDefault
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres: %v", queuetype.ErrInvalidArgument, redact(err))
	}
	d, err := OpenPool(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	d.ownPool = true
	return d, nil
}

// OpenPool is Open on a pool the application made; Close leaves the pool
// open.
func OpenPool(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*DB, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &DB{pool: pool, opts: o, schema: o.Schema, channel: "queuesqlite_" + o.Schema,
		handle: randomID(), changes: make(chan struct{}, 1), txOpts: beginOptions(o.IdleInTxTimeout)}
	if err := d.migrate(ctx); err != nil {
		return nil, err
	}
	if err := d.readStoreID(ctx); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	d.bgCancel = cancel
	if err := d.startWatching(ctx, bg); err != nil {
		cancel()
		return nil, err
	}
	if !o.PollOnly {
		d.notifier = newNotifier(d)
		d.bg.Go(func() { d.notifier.run(bg) })
	}
	return d, nil
}

// Schema returns the queue's schema.
func (d *DB) Schema() string { return d.schema }

// StoreID returns the id recorded for the queue's store.
func (d *DB) StoreID() string { return d.storeID }

// Pool returns the connection pool, for the application's own work.
func (d *DB) Pool() *pgxpool.Pool { return d.pool }

// AppDB implements driver.AppDB: a database/sql pool over the same
// connections (pgx's stdlib adapter). A transaction begun on it is one
// InsertTx accepts; so is a pgx.Tx begun on Pool.
func (d *DB) AppDB() (*sql.DB, error) {
	d.appMu.Lock()
	defer d.appMu.Unlock()
	if d.closed.Load() {
		return nil, fmt.Errorf("postgres %s: %w", d.schema, queuetype.ErrClosed)
	}
	if d.app == nil {
		d.app = stdlib.OpenDBFromPool(d.pool)
	}
	return d.app, nil
}

// Now implements driver.Clock: the database server's clock.
func (d *DB) Now(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := d.reread(ctx, func() error { return d.pool.QueryRow(ctx, sqlNow).Scan(&t) }); err != nil {
		return time.Time{}, d.wrap("read the clock", err)
	}
	return t.UTC(), nil
}

// Changes implements driver.Driver: it fires for every other handle's
// commit this handle hears of (and for TopicAny).
func (d *DB) Changes() <-chan struct{} { return d.changes }

// Close stops listening and closes the pool (unless the application gave it).
func (d *DB) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	d.bgCancel()
	d.bg.Wait()
	d.appMu.Lock()
	var err error
	if d.app != nil {
		err = d.app.Close()
	}
	d.appMu.Unlock()
	if d.ownPool {
		d.pool.Close()
	}
	return err
}

// sql returns a statement template rendered for this schema.
func (d *DB) sql(template string) string {
	if s, ok := d.stmts.Load(template); ok {
		return s.(string)
	}
	s, _ := d.stmts.LoadOrStore(template, render(template, d.schema))
	return s.(string)
}

// lockKey is the advisory lock of one purpose on this schema: the first
// key a hash of the purpose and schema, so queues in other schemas (and
// the application's own locks, which use other numbers) do not collide.
func (d *DB) lockKey(purpose string) int32 {
	h := fnv.New32a()
	h.Write([]byte("queuesqlite/" + purpose + "/" + d.schema))
	return int32(h.Sum32())
}

// readStoreID reads the store id recorded at the schema's creation.
func (d *DB) readStoreID(ctx context.Context) error {
	v, ok, err := d.Meta(ctx, metaStoreID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("postgres schema %s: %w: no store id recorded", d.schema, queuetype.ErrCorrupt)
	}
	d.storeID = v
	return nil
}

// wrap translates PostgreSQL errors into the queue's sentinels.
func (d *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if d.closed.Load() || errors.Is(err, queuetype.ErrClosed) || strings.Contains(err.Error(), "closed pool") {
		return fmt.Errorf("%s postgres %s: %w", op, d.schema, queuetype.ErrClosed)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return fmt.Errorf("%s postgres %s: %w: %s", op, d.schema, queuetype.ErrDuplicate, pe.Detail)
		case pe.Code == "53100":
			return &queuetype.StorageError{Op: op, Path: d.schema, Err: fmt.Errorf("%w: %w", queuetype.ErrStorageFull, err),
				Hint: "free disk space on the database server; nothing was written"}
		case pe.Code == "XX001" || pe.Code == "XX002":
			return &queuetype.StorageError{Op: op, Path: d.schema, Err: fmt.Errorf("%w: %w", queuetype.ErrCorrupt, err),
				Hint: "the database server reports damaged data; restore from a backup"}
		case pe.Code == "22021" || pe.Code == "22P05":
			return fmt.Errorf("%s postgres %s: %w: %v", op, d.schema, queuetype.ErrInvalidArgument, err)
		}
		return &queuetype.StorageError{Op: op, Path: d.schema, Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s postgres %s: %w", op, d.schema, err)
	}
	return &queuetype.StorageError{Op: op, Path: d.schema, Err: redact(err),
		Hint: "is the PostgreSQL server up and reachable? nothing is lost: retry once it is"}
}

// redact drops a password a connection error may quote.
func redact(err error) error {
	if err == nil {
		return nil
	}
	s := regexp.MustCompile(`(password=)\S+`).ReplaceAllString(err.Error(), "${1}xxxxx")
	s = regexp.MustCompile(`(://[^:/@\s]+:)[^@\s]+@`).ReplaceAllString(s, "${1}xxxxx@")
	if s == err.Error() {
		return err
	}
	return errors.New(s)
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tx runs fn in a transaction on the pool, committing when it returns nil.
// The transaction begins with the queue's idle-in-transaction timeout.
func (d *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, d.pool, d.txOpts, fn)
}

// beginOptions are the options of the queue's own transactions: BEGIN and
// SET LOCAL of the idle-in-transaction timeout in one simple query, one
// round trip (no timeout set when it is negative).
func beginOptions(idleInTx time.Duration) pgx.TxOptions {
	if idleInTx < 0 {
		return pgx.TxOptions{}
	}
	ms := max(idleInTx.Milliseconds(), 1) // 0 would turn the timeout off
	return pgx.TxOptions{BeginQuery: fmt.Sprintf(sqlBeginIdleInTx, ms)}
}
