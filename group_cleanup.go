package queuesqlite

import (
	"context"
	"errors"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// groupCleanupBatch is how many group records cleanup reads at a time.
const groupCleanupBatch = 200

// cleanupGroups deletes the records of groups that finished longer ago than
// their retention and returns how many it deleted. A group's retention is
// the longest Config.Retention of its members' final statuses (so the
// record stays as long as any member may), the shortest when every member
// is gone; it counts from the group's finish (its last member's). A group
// recorded as unfinished whose sender stopped following it is counted
// again first (as GroupResult does), but only once it is older than the
// shortest retention: a younger one cannot be due. Over a backend that
// cannot list metadata (no driver.MetaScanner) records are kept.
func (q *Queue) cleanupGroups(ctx context.Context) (int, error) {
	ms, ok := q.shards[0].(driver.MetaScanner)
	if !ok {
		return 0, nil
	}
	now, keep := q.now(), q.retention()
	shortest := keep[StatusCompleted]
	for _, d := range keep {
		shortest = min(shortest, d)
	}
	deleted := 0
	for after := groupMetaPrefix; ; {
		page, err := ms.MetaPrefixed(ctx, groupMetaPrefix, after, groupCleanupBatch)
		if err != nil {
			return deleted, err
		}
		for _, e := range page {
			id := e.Key[len(groupMetaPrefix):]
			due, err := q.groupDue(ctx, id, now, keep, shortest)
			if err != nil {
				return deleted, err
			}
			if due {
				if err := ms.DeleteMeta(ctx, e.Key); err != nil {
					return deleted, err
				}
				deleted++
			}
		}
		if len(page) < groupCleanupBatch {
			return deleted, nil
		}
		after = page[len(page)-1].Key
	}
}

// groupDue reports whether the group id finished longer ago than its
// retention. A record that does not decode is left alone (GroupResult
// reports it as corrupt).
func (q *Queue) groupDue(ctx context.Context, id string, now time.Time, keep map[Status]time.Duration, shortest time.Duration) (bool, error) {
	r, err := q.loadGroup(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrCorrupt):
		return false, nil
	case err != nil:
		return false, err
	}
	if !r.Finished {
		if now.Sub(r.CreatedAt) < shortest {
			return false, nil
		}
		if r, err = q.GroupResult(ctx, id); err != nil || !r.Finished {
			return false, err
		}
	}
	retain := time.Duration(-1)
	for s, n := range r.Counts {
		if n > 0 {
			retain = max(retain, keep[s])
		}
	}
	if retain < 0 {
		retain = shortest
	}
	end := r.FinishedAt
	if end.Before(r.CreatedAt) {
		end = r.CreatedAt // every member was gone: no finish time is known
	}
	return now.Sub(end) > retain, nil
}

// cleanupGroupsLogged is cleanupGroups for the leader's maintenance.
func (q *Queue) cleanupGroupsLogged(ctx context.Context) {
	n, err := q.cleanupGroups(ctx)
	if err != nil && ctx.Err() == nil {
		q.logger.Warn("clean up finished groups", "err", err)
	}
	if n > 0 {
		q.logger.Debug("cleaned up finished groups", "n", n)
	}
}
