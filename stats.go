package queuesqlite

import (
	"context"
	"slices"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// Stats describes the queue at one moment.
type Stats struct {
	// ByStatus counts every message per status.
	ByStatus map[Status]int
	// ByDestination counts messages per destination (handler name) and status.
	ByDestination map[string]map[Status]int
	// OldestPending is when the oldest ready message was sent (zero if none);
	// OldestPendingAge is how long ago that was.
	OldestPending    time.Time
	OldestPendingAge time.Duration
	// Unhandled lists destinations with waiting messages that no handler in
	// this process serves (another process may).
	Unhandled []string
	// Paused lists the recorded pauses of destinations and worker queues
	// (as Queue.Paused): their messages wait, in every process, until
	// resumed.
	Paused []Pause
	// Processed counts attempts whose outcome this process recorded since
	// Open.
	Processed int64
	// Shards holds the same counts per shard.
	Shards []ShardStats
}

// ShardStats counts one shard's messages.
type ShardStats struct {
	Shard            int
	ByStatus         map[Status]int
	OldestPending    time.Time
	OldestPendingAge time.Duration
}

// shardStats reads each shard's counts: a sharded store's per shard, a
// lone store's as its one shard.
func (q *Queue) shardStats(ctx context.Context) ([]*driver.Stats, error) {
	if s, ok := q.d.(driver.ShardStatser); ok {
		return s.PerShard(ctx)
	}
	s, err := q.d.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return []*driver.Stats{s}, nil
}

// Stats counts the queue's messages. It reads every row's status (one scan
// per shard), so it is meant for dashboards, not for hot paths.
func (q *Queue) Stats(ctx context.Context) (*Stats, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	now := q.now()
	st := &Stats{ByStatus: map[Status]int{}, ByDestination: map[string]map[Status]int{}, Processed: q.processed.Load()}
	per, err := q.shardStats(ctx)
	if err != nil {
		return nil, err
	}
	for i, s := range per {
		ss := ShardStats{Shard: i, ByStatus: map[Status]int{}, OldestPending: s.OldestPending}
		if !s.OldestPending.IsZero() {
			ss.OldestPendingAge = now.Sub(s.OldestPending)
			if st.OldestPending.IsZero() || s.OldestPending.Before(st.OldestPending) {
				st.OldestPending, st.OldestPendingAge = s.OldestPending, ss.OldestPendingAge
			}
		}
		for dest, counts := range s.Counts {
			if st.ByDestination[dest] == nil {
				st.ByDestination[dest] = map[Status]int{}
			}
			for status, n := range counts {
				st.ByDestination[dest][status] += n
				st.ByStatus[status] += n
				ss.ByStatus[status] += n
			}
		}
		st.Shards = append(st.Shards, ss)
	}
	handlers := q.handlerMap()
	for dest, counts := range st.ByDestination {
		waiting := counts[StatusPending] + counts[StatusScheduled] + counts[StatusRetrying]
		if _, ok := handlers[dest]; !ok && waiting > 0 {
			st.Unhandled = append(st.Unhandled, dest)
		}
	}
	slices.Sort(st.Unhandled)
	paused, err := q.Paused(ctx)
	if err != nil {
		return nil, err
	}
	st.Paused = paused
	return st, nil
}
