package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/shardkey"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// A queue directory holds the queue's shard files (queue_shard_N.db, see
// ShardPath), queue.lock, and nothing else the queue needs. Importing this
// package registers it as the backend of queuesqlite.Open, which opens a
// directory: import _ "github.com/queue-sqlite/queuesqlite/driver/sqlite".
func init() { qdriver.RegisterDirBackend(openForQueue) }

// DirOptions configures OpenDir, OpenDirReadOnly and Reshard.
type DirOptions struct {
	// Shards is the shard count asked for: 0 takes what the directory has
	// (1 for a new one). OpenDir refuses a directory with another count.
	Shards int
	// Synchronous is SyncNormal (default) or SyncFull.
	Synchronous string
	// PollInterval bounds how late another process's writes are seen.
	PollInterval time.Duration
	// FileMode is the mode of the files created (default FileModeDefault).
	FileMode os.FileMode
	// Logger receives warnings (default slog.Default()).
	Logger *slog.Logger
	// Now is the time stamped on id routes written while opening (default
	// time.Now()).
	Now time.Time
}

func (o *DirOptions) withDefaults() (DirOptions, error) {
	r := DirOptions{}
	if o != nil {
		r = *o
	}
	if r.FileMode == 0 {
		r.FileMode = FileModeDefault
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Shards < 0 || r.Shards > maxShards {
		return r, fmt.Errorf("%w: %d shards (want 0 to %d)", queuetype.ErrInvalidArgument, r.Shards, maxShards)
	}
	if _, err := (&Options{Synchronous: r.Synchronous}).withDefaults(); err != nil {
		return r, err
	}
	return r, nil
}

func (o *DirOptions) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// Dir is an open queue directory: its shard files, opened, and the
// directory's shared lock, held until Release.
type Dir struct {
	Path string
	DBs  []*DB
	lock *dirLock
}

// Drivers returns the shard files as the queue's drivers.
func (d *Dir) Drivers() []qdriver.Driver {
	out := make([]qdriver.Driver, len(d.DBs))
	for i, db := range d.DBs {
		out[i] = db
	}
	return out
}

// Release releases the directory's lock. Call it after the files closed.
func (d *Dir) Release() { d.lock.unlock() }

// Close closes every file and releases the lock.
func (d *Dir) Close() error {
	var first error
	for _, db := range d.DBs {
		if err := db.Close(); err != nil && first == nil {
			first = err
		}
	}
	d.Release()
	return first
}

// OpenDir opens the queue stored in directory dir, creating it if needed:
// Shards SQLite files, created with FileMode (owner-only by default). A
// directory other users can write to is refused, and no file is opened
// through a symlink. Several processes may open one directory at once. The
// shard count recorded in the directory must agree with its shard files: a
// lost or damaged record, a missing file or one beyond the count fails
// (ErrShardMismatch or ErrCorrupt, naming the fix) without writing
// anything.
func OpenDir(ctx context.Context, dir string, opts *DirOptions) (*Dir, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty queue directory", queuetype.ErrInvalidArgument)
	}
	if err := prepareDir(dir, o.FileMode); err != nil {
		return nil, err
	}
	lock, err := lockDirMode(dir, false, o.FileMode)
	if errors.Is(err, errDirBusy) {
		return nil, fmt.Errorf("open queue %s: %w: a reshard is running; wait for it to finish", dir, err)
	}
	if err != nil {
		return nil, err
	}
	dbs, err := openShards(ctx, dir, o.Shards, &o)
	if err != nil {
		lock.unlock()
		return nil, err
	}
	if err := buildRoutes(ctx, dbs, o.now(), o.Logger); err != nil {
		closeAll(dbs)
		lock.unlock()
		return nil, err
	}
	return &Dir{Path: dir, DBs: dbs, lock: lock}, nil
}

// OpenDirReadOnly opens the existing queue in dir for reading only. It
// creates and writes no file (not the directory, queue.lock, the shard
// files or their logs) and migrates nothing, so it works on a read-only
// file system and on a queue directory this user can read but not write.
// It holds the directory's lock shared when it can open queue.lock for
// reading, so no reshard starts meanwhile; without that it reads without
// the lock. A shard file with no -wal beside it (the queue is closed) is
// read as immutable, which is exact on read-only media but does not see a
// process that starts writing the queue meanwhile. A directory with no
// queue is an error wrapping ErrNotFound.
func OpenDirReadOnly(ctx context.Context, dir string, opts *DirOptions) (*Dir, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty queue directory", queuetype.ErrInvalidArgument)
	}
	if _, err := os.Stat(ShardPath(dir, 0)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open queue %s: no queue there (%s not found): %w", dir, ShardPath(dir, 0), queuetype.ErrNotFound)
	}
	lock, err := lockDirReadOnly(dir)
	if errors.Is(err, errDirBusy) {
		return nil, fmt.Errorf("open queue %s: %w: a reshard is running; wait for it to finish", dir, err)
	}
	if err != nil {
		return nil, err
	}
	dbs, err := openShardsReadOnly(ctx, dir, o.Shards, &o)
	if err != nil {
		lock.unlock()
		return nil, err
	}
	return &Dir{Path: dir, DBs: dbs, lock: lock}, nil
}

// openForQueue is the directory backend queuesqlite.Open calls.
func openForQueue(ctx context.Context, dir string, c qdriver.DirConfig) (*qdriver.Dir, error) {
	o := &DirOptions{Shards: c.Shards, Synchronous: c.Synchronous, PollInterval: c.PollInterval,
		FileMode: c.FileMode, Logger: c.Logger, Now: c.Now}
	open := OpenDir
	if c.ReadOnly {
		open = OpenDirReadOnly
	}
	d, err := open(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	return &qdriver.Dir{Shards: d.Drivers(), Release: d.Release}, nil
}

// maxShards is the largest shard count of a queue directory.
const maxShards = shardkey.Max

// OpenDirExclusive opens the queue in dir, read-only, for a tool that
// needs it to itself (a move to another backend): it fails if any process
// has the queue open, and Open fails until the Dir is closed.
func OpenDirExclusive(ctx context.Context, dir string) (*Dir, error) {
	if _, err := os.Stat(ShardPath(dir, 0)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open queue %s: no queue there (%s not found): %w", dir, ShardPath(dir, 0), queuetype.ErrNotFound)
	}
	lock, err := lockDir(dir, true)
	if errors.Is(err, errDirBusy) {
		return nil, fmt.Errorf("open queue %s: %w: the queue is open in a process; stop every process first", dir, err)
	}
	if err != nil {
		return nil, err
	}
	o, _ := (&DirOptions{}).withDefaults()
	dbs, err := openShardsReadOnly(ctx, dir, 0, &o)
	if err != nil {
		lock.unlock()
		return nil, err
	}
	return &Dir{Path: dir, DBs: dbs, lock: lock}, nil
}
