package queuesqlite

import (
	"context"
	"errors"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// CleanupResult reports what Cleanup did.
type CleanupResult struct {
	Deleted       int   // finished messages deleted
	BytesFreed    int64 // bytes given back to the file system
	ChangesPruned int   // listen-data changes every listener group was past (or past retention)
	RoutesPruned  int   // id routes whose message is gone (sharded queues)
	GroupsDeleted int   // records of groups finished longer ago than their retention
}

// Cleanup deletes finished messages older than their retention
// (Config.Retention), the records of groups (SendGroup) finished longer
// ago than theirs (the longest retention of their members' statuses),
// listen-data changes no listener group still needs and id routes whose
// message is gone, and gives the space back to the file system. The
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
	if err != nil {
		return total, err
	}
	total.GroupsDeleted, err = q.cleanupGroups(ctx)
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
