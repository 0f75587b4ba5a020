package queuesqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
)

// OpenReadOnly opens the existing queue in dir for reading only: Stats,
// Get, ListFailed, ListenStats and Check work; every method that writes
// fails, and Start must not be called. It creates and writes no file (not
// the directory, queue.lock, the shard files or their logs) and migrates
// nothing, so it works on a read-only file system and on a queue directory
// this user can read but not write. It holds the directory's lock shared
// when it can open queue.lock for reading, so no reshard starts meanwhile;
// without that it reads without the lock. A shard file with no -wal beside
// it (the queue is closed) is read as immutable, which is exact on
// read-only media but does not see a process that starts writing the queue
// meanwhile. A directory with no queue is an error wrapping ErrNotFound.
func OpenReadOnly(dir string, cfg *Config) (*Queue, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty queue directory", ErrInvalidArgument)
	}
	if _, err := os.Stat(ShardPath(dir, 0)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open queue %s: no queue there (%s not found): %w", dir, ShardPath(dir, 0), ErrNotFound)
	}
	lock, err := lockDirReadOnly(dir)
	if errors.Is(err, errDirBusy) {
		return nil, fmt.Errorf("open queue %s: %w: a reshard is running; wait for it to finish", dir, err)
	}
	if err != nil {
		return nil, err
	}
	requested := 0
	if cfg != nil {
		requested = cfg.Shards
	}
	dbs, err := openShardsReadOnly(context.Background(), dir, requested, c)
	if err != nil {
		lock.unlock()
		return nil, err
	}
	return newDirQueue(c, dir, dbs, lock), nil
}

// openShardsReadOnly opens the directory's shard files read-only, as many
// as shard 0 records (1 when it records none: a queue from before the
// count was recorded).
func openShardsReadOnly(ctx context.Context, dir string, requested int, c Config) ([]*sqlite.DB, error) {
	opts := &sqlite.Options{Synchronous: c.Synchronous, PollInterval: c.PollInterval, Logger: c.Logger, ReadOnly: true}
	first, err := sqlite.Open(ctx, ShardPath(dir, 0), opts)
	if err != nil {
		return nil, err
	}
	dbs := []*sqlite.DB{first}
	n, err := recordedShardCount(ctx, first, dir)
	if err == nil && requested != 0 && requested != n {
		err = mismatch(first.Path(), n, requested)
	}
	for i := 1; i < n && err == nil; i++ {
		var db *sqlite.DB
		if db, err = sqlite.Open(ctx, ShardPath(dir, i), opts); err == nil {
			dbs = append(dbs, db)
		}
	}
	if err != nil {
		closeAll(dbs)
		return nil, err
	}
	return dbs, nil
}

// recordedShardCount reads the shard count from shard 0 and checks it
// against the files in dir, refusing (as Open does, but writing nothing) a
// queue whose reshard was interrupted or whose count record disagrees with
// its files. No record with no other file is a queue from before the count
// was recorded: it has one shard.
func recordedShardCount(ctx context.Context, first *sqlite.DB, dir string) (int, error) {
	if err := reshardPending(ctx, first); err != nil {
		return 0, err
	}
	stored, ok, err := first.Meta(ctx, metaShardCount)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 1, countMissing(first, dir)
	}
	n, err := parseShardCount(first.Path(), dir, stored)
	if err != nil {
		return 0, err
	}
	_, err = checkShardFiles(ctx, first, dir, n, false)
	return n, err
}
