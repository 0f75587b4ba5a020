package queuesqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/leader"
	"github.com/queue-sqlite/queuesqlite/internal/maintain"
)

// maintenanceElection names the leader election of the shared maintenance.
// It is held in the first shard (which also holds the listen data), so a
// sharded queue has one leader for all its shards.
const maintenanceElection = "maintenance"

// LeaderInfo says which process leads the shared maintenance of the queue:
// the rescue of dead workers' messages, expiry, cleanup (with the pruning
// of listen changes and id routes) and the unhandled-destination watch run
// only in the leader. Every running process keeps beating and renewing the
// leases of its own handlers, and promotes due messages itself.
type LeaderInfo struct {
	// Elected is false when the storage holds no elections: then every
	// running process runs the shared maintenance.
	Elected bool
	// Leader is the lease owner ("<instance>/<start>") that holds the seat,
	// "" when it is empty (no queue runs, or the leader just resigned).
	Leader string
	// Term is bumped each time the seat changes hands.
	Term int64
	// Since is when the leader took the seat, by the leader's clock.
	Since time.Time
	// Self reports whether this queue's current run leads (false when it
	// is not started). It is this process's view as of its last campaign,
	// at most Lease/3 old.
	Self bool
	// SharedPasses counts the passes of shared maintenance this queue's
	// current run has made (0 when not started).
	SharedPasses int64
}

// Leader reports who leads the shared maintenance, as stored now. Its read
// of the store gives up after half a lease (or when ctx ends, if sooner):
// a store that hangs makes it return an error wrapping
// context.DeadlineExceeded rather than block.
func (q *Queue) Leader(ctx context.Context) (LeaderInfo, error) {
	var info LeaderInfo
	if err := q.checkOpen(); err != nil {
		return info, err
	}
	if r := q.run.Load(); r != nil {
		if e := r.elector.Load(); e != nil {
			info.Self = e.Leading()
		}
		info.SharedPasses = r.maint.SharedPasses()
	}
	el, ok := q.d.(driver.Elector)
	if !ok {
		return info, nil
	}
	info.Elected = true
	ctx, cancel := context.WithTimeout(ctx, maintain.CallTimeout(q.cfg.Lease))
	defer cancel()
	seat, held, err := el.Leader(ctx, maintenanceElection)
	if err != nil {
		return info, fmt.Errorf("leader: %w", err)
	}
	if held {
		info.Leader, info.Term, info.Since = seat.Owner, seat.Term, seat.Since
	}
	return info, nil
}

// startElector starts the run's campaign for the maintenance leadership.
func (q *Queue) startElector(r *runState) {
	cfg := leader.Config{Name: maintenanceElection, Owner: r.owner, Lease: q.cfg.Lease,
		Owners: r.owners, Now: q.now, Logger: q.logger}
	if el, ok := q.d.(driver.Elector); ok {
		cfg.Store = el
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.cfg.Lease)
	defer cancel()
	r.elector.Store(leader.Start(ctx, cfg))
}

// leading reports whether the run leads the shared maintenance.
func (r *runState) leading() bool {
	e := r.elector.Load()
	return e != nil && e.Leading()
}

// afterCleanup prunes, after the leader's cleanup pass, the listen changes
// no group needs (the store's cleanup pruned the id routes), and deletes
// the records of groups finished past their retention.
func (q *Queue) afterCleanup(ctx context.Context) {
	if ls, err := q.listenStore(); err == nil {
		n, err := ls.PruneListenChanges(ctx, driver.PruneParams{Before: q.now().Add(-q.cfg.ListenRetention), Keep: q.cfg.ListenKeep})
		if err != nil && ctx.Err() == nil {
			q.logger.Warn("prune listen changes", "err", err)
		} else if n > 0 {
			q.logger.Debug("pruned listen changes", "n", n)
		}
	}
	q.cleanupGroupsLogged(ctx)
}
