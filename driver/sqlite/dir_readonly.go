package sqlite

import (
	"context"
)

// openShardsReadOnly opens the directory's shard files read-only, as many
// as shard 0 records (1 when it records none: a queue from before the
// count was recorded).
func openShardsReadOnly(ctx context.Context, dir string, requested int, o *DirOptions) ([]*DB, error) {
	opts := &Options{Synchronous: o.Synchronous, PollInterval: o.PollInterval, Logger: o.Logger, ReadOnly: true}
	first, err := Open(ctx, ShardPath(dir, 0), opts)
	if err != nil {
		return nil, err
	}
	dbs := []*DB{first}
	n, err := recordedShardCount(ctx, first, dir)
	if err == nil && requested != 0 && requested != n {
		err = mismatch(first.Path(), n, requested)
	}
	for i := 1; i < n && err == nil; i++ {
		var db *DB
		if db, err = Open(ctx, ShardPath(dir, i), opts); err == nil {
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
func recordedShardCount(ctx context.Context, first *DB, dir string) (int, error) {
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
