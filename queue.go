package queuesqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/shard"
	"github.com/queue-sqlite/queuesqlite/internal/callback"
	"github.com/queue-sqlite/queuesqlite/internal/listen"
	"github.com/queue-sqlite/queuesqlite/internal/notify"
)

// Queue is a persistent task queue. Open (or New) one, register handlers
// with Handle, Start the workers, Send messages. All methods are safe for
// concurrent use.
type Queue struct {
	cfg Config
	dir string
	// d is the queue's store: one driver, a composition of shards
	// (package shard) for a sharded queue.
	d        driver.Driver
	nShards  int    // the store's shard count (1 unless d is a shard.Driver)
	instance string // identifies this open queue as callback owner
	logger   *slog.Logger

	mu        sync.Mutex                          // serializes Handle, Start, Stop and Close
	handlers  atomic.Pointer[map[string]*handler] // copied on write
	listeners []*listen.Listener                  // registered listeners
	periodic  periodicState                       // periodic jobs: periodic.go
	run       atomic.Pointer[runState]            // non-nil while started
	starts    int
	closed    atomic.Bool

	changes notify.Hub    // another process (or an application transaction) changed a shard
	pauser  driver.Pauser // the first shard's, or nil: pause.go
	// pauseGen counts the change signals that may carry a pause (and this
	// process's own pauses); a claim reads the pauses again when it moved.
	pauseGen  atomic.Uint64
	callbacks callback.Registry[Callback]
	cbPool    *callback.Pool
	waiters   waiters
	mw        middlewares // handler and send middleware, outcome observers: middleware.go
	processed atomic.Int64
	abandoned abandonCounters
	// noFold turns off recording outcomes in the next claim's commit
	// (fold.go), for tests and benchmarks that compare (export_test.go).
	noFold atomic.Bool
	// unhandledLogged holds the destinations already logged as handled by
	// no process, so each is logged once.
	unhandledLogged sync.Map
	release         func() // releases the queue directory (its lock); nil for New
	bgCancel        context.CancelFunc
	bg              sync.WaitGroup
}

// Open opens the queue stored in directory dir, creating it if needed. The
// queue is a set of SQLite files (Config.Shards of them) in that directory,
// opened by the SQLite backend, which the program imports for its effect:
//
//	import _ "github.com/queue-sqlite/queuesqlite/driver/sqlite"
//
// The files are created with Config.FileMode (owner-only by default); a
// directory other users can write to is refused, and no file is opened
// through a symlink. Several processes may open the same directory at
// once; each message is processed by one of them at a time. The shard
// count recorded in the directory must agree with its shard files: a lost
// or damaged record, a missing file or one beyond the count makes Open fail
// (ErrShardMismatch or ErrCorrupt, naming the fix) without writing
// anything. Without the SQLite backend imported, Open fails with
// ErrInvalidArgument naming the import.
func Open(dir string, cfg *Config) (*Queue, error) {
	return openDir(dir, cfg, false)
}

// OpenReadOnly opens the existing queue in dir for reading only: Stats,
// Get, ListFailed, ListenStats and Check work; every method that writes
// fails, and Start must not be called. It creates and writes no file and
// migrates nothing, so it works on a read-only file system and on a queue
// directory this user can read but not write (see sqlite.OpenDirReadOnly
// for the details). A directory with no queue is an error wrapping
// ErrNotFound.
func OpenReadOnly(dir string, cfg *Config) (*Queue, error) {
	return openDir(dir, cfg, true)
}

// errNoDirBackend is the error of Open in a program that imports no
// directory backend.
var errNoDirBackend = fmt.Errorf("%w: opening a queue directory needs the SQLite backend: "+
	`import _ "github.com/queue-sqlite/queuesqlite/driver/sqlite" (or build the queue with New over another driver)`, ErrInvalidArgument)

// openDir opens a queue directory through the registered directory backend.
func openDir(dir string, cfg *Config, readOnly bool) (*Queue, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty queue directory", ErrInvalidArgument)
	}
	backend := driver.RegisteredDirBackend()
	if backend == nil {
		return nil, errNoDirBackend
	}
	requested := 0
	if cfg != nil {
		requested = cfg.Shards
	}
	d, err := backend(context.Background(), dir, driver.DirConfig{Shards: requested, Synchronous: c.Synchronous,
		PollInterval: c.PollInterval, FileMode: c.FileMode, Logger: c.Logger, Now: c.Clock(), ReadOnly: readOnly})
	if err != nil {
		return nil, err
	}
	c.Shards = len(d.Shards)
	store, err := compose(d.Shards)
	if err != nil {
		for _, s := range d.Shards {
			s.Close()
		}
		d.Release()
		return nil, err
	}
	q := newQueue(c, store)
	q.dir, q.release = dir, d.Release
	return q, nil
}

// New builds a queue over storage drivers opened by the caller, one per
// shard (for example a PostgreSQL driver). Most programs use Open. Several
// drivers are composed into one sharded store (package driver/shard), which
// New closes with the queue. When the store implements driver.Clock (for
// shards: when the first does) and Config.Clock is not set, the queue
// takes its wall times from the database (New fails if that clock cannot
// be read).
func New(cfg *Config, shards ...driver.Driver) (*Queue, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if len(shards) == 0 {
		return nil, fmt.Errorf("%w: New needs at least one storage driver", ErrInvalidArgument)
	}
	c.Shards = len(shards)
	store, err := compose(shards)
	if err != nil {
		return nil, err
	}
	if err := useDBClock(&c, cfg, store); err != nil {
		return nil, err
	}
	return newQueue(c, store), nil
}

// compose makes one store of the shards' drivers: a lone driver as it is,
// several through package shard.
func compose(shards []driver.Driver) (driver.Driver, error) {
	if len(shards) == 1 {
		return shards[0], nil
	}
	return shard.New(shards)
}

func newQueue(c Config, d driver.Driver) *Queue {
	q := &Queue{
		cfg: c, d: d, nShards: 1, instance: newInstanceID(), logger: c.Logger,
	}
	if s, ok := shard.Of(d); ok {
		q.nShards = s.Count()
	}
	q.handlers.Store(&map[string]*handler{})
	q.pauser, _ = d.(driver.Pauser)
	q.cbPool = callback.NewPool(c.CallbackWorkers, c.Logger)
	q.cbPool.Late = func(string) { q.abandoned.running.Add(-1) }
	ctx, cancel := context.WithCancel(context.Background())
	q.bgCancel = cancel
	q.bg.Go(func() { q.forwardChanges(ctx, d) })
	q.bg.Go(func() { q.watchCallbacks(ctx) })
	return q
}

// forwardChanges turns a shard's change signals into the queue's: by
// topic when the driver tells them, else as "something changed". A signal
// that may carry a pause (any but a topic's) first marks the cached pauses
// stale.
func (q *Queue) forwardChanges(ctx context.Context, d driver.Driver) {
	if w, ok := d.(driver.TopicWatcher); ok && w.TellsTopics() {
		w.WatchTopics(ctx, func(t driver.Topic) {
			if t.Kind == driver.TopicAny {
				q.pauseGen.Add(1) // before the wake-ups, so a claim they start sees it
			}
			q.changes.PublishTopic(t)
		})
		return
	}
	for {
		select {
		case <-d.Changes():
			q.pauseGen.Add(1)
			q.changes.Publish()
		case <-ctx.Done():
			return
		}
	}
}

func newInstanceID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// checkOpen reports ErrClosed after Close.
func (q *Queue) checkOpen() error {
	if q.closed.Load() {
		return ErrClosed
	}
	return nil
}

// handlerMap returns the registered handlers; the map must not be modified.
func (q *Queue) handlerMap() map[string]*handler { return *q.handlers.Load() }

// Dir returns the queue's directory ("" for a queue built with New).
func (q *Queue) Dir() string { return q.dir }

// ShardCount returns the number of storage shards.
func (q *Queue) ShardCount() int { return q.nShards }

// DB returns a connection pool on the queue's store (for SQLite its first
// file), for the application's own tables and transactions: SendTx inside a transaction
// begun here enqueues atomically with the application's writes.
func (q *Queue) DB() (*sql.DB, error) {
	a, ok := q.d.(driver.AppDB)
	if !ok {
		return nil, fmt.Errorf("%w: the queue's storage driver hands out no database/sql pool; use your own", ErrInvalidArgument)
	}
	return a.AppDB()
}

// callbackGrace is how long Close waits, after its deadline, for callbacks
// that are still running before it abandons them.
const callbackGrace = 200 * time.Millisecond

// Close stops the workers (waiting up to Config.StopTimeout for running
// handlers), runs queued callbacks within that time, and closes the files.
// It returns within StopTimeout plus about 1.5 s (stopMargin and
// callbackGrace) whatever handlers, listeners, callbacks or other processes
// holding the database's lock do: what still runs then is abandoned,
// logged with its message id or listener name, and counted (Abandoned). A
// callback still running is never called again; one not yet started never
// runs (the message's outcome is stored: Get returns it).
// Close is idempotent; every other method returns ErrClosed afterwards.
func (q *Queue) Close() error {
	q.mu.Lock()
	already := q.closed.Swap(true)
	q.mu.Unlock()
	if already {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.cfg.StopTimeout)
	defer cancel()
	_ = q.Stop(ctx)
	q.closeCallbacks(ctx)
	q.bgCancel()
	q.bg.Wait()
	first := q.d.Close()
	if q.release != nil {
		q.release()
	}
	return first
}

// closeCallbacks runs queued callbacks until ctx ends, then drops the rest
// and abandons those still running callbackGrace later.
func (q *Queue) closeCallbacks(ctx context.Context) {
	dropped, abandoned := q.cbPool.Close(ctx, callbackGrace)
	for _, id := range dropped {
		q.logger.Warn("callback dropped: the queue closed before it could run", "id", id)
	}
	for _, id := range abandoned {
		q.logger.Warn("callback still running at close; abandoned it (it is not called again)", "id", id)
	}
	q.abandoned.callbacksDropped.Add(int64(len(dropped)))
	q.abandoned.callbacks.Add(int64(len(abandoned)))
	q.abandoned.running.Add(int64(len(abandoned)))
}
