package queuesqlite

import (
	"context"
	"slices"
	"sync"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/shardkey"
)

// shardOf returns the shard a message is stored in: a stable hash (FNV-1a)
// of its shard key, or of its id when it has none.
func (q *Queue) shardOf(m *Message) int {
	if len(q.shards) == 1 {
		return 0
	}
	key := m.ShardKey
	if key == "" {
		key = m.ID
	}
	return shardFor(key, len(q.shards))
}

// ShardFor returns the shard, among n, that a message with this shard key
// (or, without one, this id) is stored in. The function is fixed: changing
// it would misroute every stored message, so it never changes.
func ShardFor(key string, n int) int { return shardFor(key, n) }

func shardFor(key string, n int) int { return shardkey.For(key, n) }

// claim leases up to n messages of worker queue w's destinations that are
// not paused, for run r. With several shards, the shards whose best ready
// message has the highest priority are claimed from first, so priority
// holds across shards.
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
	order, err := q.claimOrder(ctx, w, set.destinations)
	if err != nil {
		return nil, err
	}
	var out []*Message
	for _, shard := range order {
		p.Max = n - len(out)
		ms, err := q.shards[shard].Claim(ctx, p)
		for _, m := range ms {
			m.Shard = shard
		}
		out = append(out, ms...)
		if err != nil {
			return out, err
		}
		if len(out) == n {
			break
		}
	}
	w.afterLimitedClaim(set, n, len(out), q.cfg.MaintenanceInterval)
	return out, nil
}

// claimOrder orders the shards that have ready work by the priority of
// their best ready message, highest first. Shards whose best priorities tie
// take turns at the front from one claim to the next, so none starves.
func (q *Queue) claimOrder(ctx context.Context, w *workerQueue, destinations []string) ([]int, error) {
	n := len(q.shards)
	if n == 1 {
		return []int{0}, nil
	}
	type head struct {
		prio Priority
		ok   bool
		err  error
	}
	heads := make([]head, n)
	var wg sync.WaitGroup
	for i, d := range q.shards {
		wg.Go(func() {
			p, ok, err := d.Head(ctx, destinations)
			heads[i] = head{p, ok, err}
		})
	}
	wg.Wait()
	turn := int(w.turn.Add(1) % uint64(n))
	var order []int
	for k := range n {
		i := (turn + k) % n // rotated, so equal priorities start at a different shard each time
		if heads[i].err != nil {
			return nil, heads[i].err
		}
		if heads[i].ok {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(heads[b].prio - heads[a].prio) })
	return order, nil
}
