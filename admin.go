package queuesqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
)

// CleanupResult reports what Cleanup did.
type CleanupResult struct {
	Deleted       int   // finished messages deleted
	BytesFreed    int64 // bytes given back to the file system
	ChangesPruned int   // listen-data changes every listener group was past (or past retention)
	RoutesPruned  int   // id routes whose message is gone (sharded queues)
}

// Cleanup deletes finished messages older than their retention
// (Config.Retention), listen-data changes no listener group still needs and
// id routes whose message is gone, and gives the space back to the file
// system. The
// workers run it every Config.CleanupInterval; call it to run it now.
func (q *Queue) Cleanup(ctx context.Context) (CleanupResult, error) {
	var total CleanupResult
	if err := q.checkOpen(); err != nil {
		return total, err
	}
	now := q.now()
	before := map[Status]time.Time{}
	for status, keep := range q.retention() {
		before[status] = now.Add(-keep)
	}
	if ls, err := q.listenStore(); err == nil {
		n, err := ls.PruneListenChanges(ctx, driver.PruneParams{Before: now.Add(-q.cfg.ListenRetention), Keep: q.cfg.ListenKeep})
		if err != nil {
			return total, err
		}
		total.ChangesPruned = n
	}
	for i, d := range q.shards {
		res, err := d.Cleanup(ctx, driver.CleanupParams{Before: before})
		total.Deleted += res.Deleted
		total.BytesFreed += res.BytesFreed
		cleanupProgress(ctx, i+1, len(q.shards))
		if err != nil {
			return total, err
		}
	}
	n, err := q.pruneRoutes(ctx)
	total.RoutesPruned = n
	return total, err
}

// Check runs an integrity check of every shard and returns what it found:
// nil when all are sound, else errors wrapping ErrCorrupt that name the
// damaged files.
func (q *Queue) Check(ctx context.Context) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	var errs []error
	for _, d := range q.shards {
		if err := d.Check(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FileCheck is the verdict on one shard file of a queue directory.
type FileCheck struct {
	Shard int
	Path  string
	Err   error // nil when the file is sound; wraps ErrCorrupt when damaged
}

// CheckDir checks every shard file of the queue in dir on its own, without
// opening the queue: each file is opened read-only (which reads its header
// and schema; nothing is created or written, so it works on a read-only
// file system) and given a full integrity check. Unlike Open, which stops at the
// first damaged file, it reports on all of them. It fails only when dir
// holds no queue.
func CheckDir(ctx context.Context, dir string) ([]FileCheck, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "queue_shard_*.db"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("check %s: no queue there (%s not found): %w", dir, ShardPath(dir, 0), ErrNotFound)
	}
	var out []FileCheck
	for i := 0; len(out) < len(paths); i++ {
		p := ShardPath(dir, i)
		if _, err := os.Stat(p); err != nil {
			continue // a gap in the numbering: an interrupted reshard left no file there
		}
		out = append(out, FileCheck{Shard: i, Path: p, Err: checkFile(ctx, p)})
	}
	return out, nil
}

// checkFile opens path read-only (so a check creates and changes nothing,
// and works on a read-only file system) and runs the full check.
func checkFile(ctx context.Context, path string) error {
	db, err := sqlite.Open(ctx, path, &sqlite.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Check(ctx)
}
