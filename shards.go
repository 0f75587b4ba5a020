package queuesqlite

import (
	"context"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/shardkey"
)

// ShardFor returns the shard, among n, that a message with this shard key
// (or, without one, this id) is stored in. The function is fixed: changing
// it would misroute every stored message, so it never changes. A message
// with dependencies goes to its parents' shard and a unique one without a
// ShardKey to its key's (see package driver/shard).
func ShardFor(key string, n int) int { return shardkey.For(key, n) }

// claim leases up to n messages of worker queue w's destinations that are
// not paused, for run r. A sharded store merges its shards in priority
// order (package driver/shard).
func (q *Queue) claim(ctx context.Context, r *runState, w *workerQueue, n int) ([]*Message, error) {
	if err := q.followPauses(ctx, r); err != nil { // pause.go
		return nil, err
	}
	e := r.pauses.enterClaim() // a local pause waits for this claim
	defer e.leave()
	set := w.claimable.Load()
	if len(set.destinations) == 0 {
		return nil, nil
	}
	now := q.now()
	p := driver.ClaimParams{Destinations: set.destinations, Max: n, Owner: r.owner, Now: now,
		LeaseUntil: now.Add(q.cfg.Lease), Me: q.instance}
	p.MaxAttempts, p.Limits, p.QueueLimit = set.maxAttempts, set.limits, w.queueLimit
	out, err := q.claimFolded(ctx, r, p) // fold.go
	if err != nil {
		return out, err
	}
	w.afterLimitedClaim(set, n, len(out), q.cfg.MaintenanceInterval)
	return out, nil
}
