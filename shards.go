package queuesqlite

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
)

// metaShardCount is the key, in shard 0's metadata, of the shard count the
// queue directory was created with.
const metaShardCount = "shard_count"

// ShardPath returns the file of shard i in queue directory dir.
func ShardPath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("queue_shard_%d.db", i))
}

// openShards opens the directory's shard files. requested is the caller's
// Config.Shards (0 = whatever the directory has, or 1 when it is new).
func openShards(ctx context.Context, dir string, requested int, c Config) ([]*sqlite.DB, error) {
	opts := &sqlite.Options{Synchronous: c.Synchronous, PollInterval: c.PollInterval, Logger: c.Logger, FileMode: c.FileMode}
	_, statErr := os.Stat(ShardPath(dir, 0))
	isNew := errors.Is(statErr, os.ErrNotExist)
	first, err := sqlite.Open(ctx, ShardPath(dir, 0), opts)
	if err != nil {
		return nil, err
	}
	count, err := shardCount(ctx, first, isNew, requested)
	if err != nil {
		first.Close()
		return nil, err
	}
	dbs := []*sqlite.DB{first}
	for i := 1; i < count; i++ {
		db, err := sqlite.Open(ctx, ShardPath(dir, i), opts)
		if err != nil {
			closeAll(dbs)
			return nil, err
		}
		dbs = append(dbs, db)
	}
	return dbs, nil
}

// shardCount reads (or, for a new queue, records) the shard count and
// checks it against the requested one.
func shardCount(ctx context.Context, first *sqlite.DB, isNew bool, requested int) (int, error) {
	if pending, ok, err := first.Meta(ctx, metaReshardTo); err != nil {
		return 0, err
	} else if ok {
		return 0, &StorageError{Op: "open", Path: first.Path(),
			Err:  fmt.Errorf("%w: a reshard to %s shards was interrupted", ErrInvalidState, pending),
			Hint: fmt.Sprintf("finish it with `queuesqlite reshard --to %s` (it resumes where it stopped)", pending)}
	}
	stored, ok, err := first.Meta(ctx, metaShardCount)
	if err != nil {
		return 0, err
	}
	if !ok {
		n := max(requested, 1)
		if !isNew && n != 1 {
			// A directory whose first shard holds messages but no count was
			// written before the count was recorded: it has one shard. One
			// without messages is being created right now by another
			// process (or its creation was interrupted).
			if st, err := first.Stats(ctx); err != nil {
				return 0, err
			} else if len(st.Counts) > 0 {
				return 0, mismatch(first.Path(), 1, n)
			}
		}
		// The first process to record a count wins; the others use it.
		if stored, err = first.InitMeta(ctx, metaShardCount, strconv.Itoa(n)); err != nil {
			return 0, err
		}
	}
	n, err := strconv.Atoi(stored)
	if err != nil || n < 1 {
		return 0, &StorageError{Op: "open", Path: first.Path(), Err: fmt.Errorf("%w: shard count %q", ErrCorrupt, stored)}
	}
	if requested != 0 && requested != n {
		return 0, mismatch(first.Path(), n, requested)
	}
	return n, nil
}

func mismatch(path string, have, want int) error {
	return &StorageError{Op: "open", Path: path,
		Err:  fmt.Errorf("%w: the queue has %d shards, Config.Shards asks for %d", ErrShardMismatch, have, want),
		Hint: fmt.Sprintf("open with Shards: %d (or 0 to use what is there), or move the messages with `queuesqlite reshard --to %d`", have, want)}
}

func closeAll(dbs []*sqlite.DB) {
	for _, db := range dbs {
		db.Close()
	}
}

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

func shardFor(key string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(n))
}

// lookupOrder lists the shards to search for a message id: the one its id
// routes to first (where it is unless it had a shard key), then the rest.
func (q *Queue) lookupOrder(id string) []int {
	first := shardFor(id, len(q.shards))
	order := []int{first}
	for i := range q.shards {
		if i != first {
			order = append(order, i)
		}
	}
	return order
}

// claim leases up to n messages for run r. With several shards, the shards
// whose best ready message has the highest priority are claimed from first,
// so priority holds across shards.
func (q *Queue) claim(ctx context.Context, r *runState, n int) ([]*Message, error) {
	now := q.now()
	p := driver.ClaimParams{Destinations: r.destinations, Max: n, Owner: r.owner, Now: now,
		LeaseUntil: now.Add(q.cfg.Lease), Me: q.instance}
	p.MaxAttempts = r.maxAttempts
	order, err := q.claimOrder(ctx, r)
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
	return out, nil
}

// claimOrder orders the shards that have ready work by the priority of
// their best ready message, highest first. Shards whose best priorities tie
// take turns at the front from one claim to the next, so none starves.
func (q *Queue) claimOrder(ctx context.Context, r *runState) ([]int, error) {
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
			p, ok, err := d.Head(ctx, r.destinations)
			heads[i] = head{p, ok, err}
		})
	}
	wg.Wait()
	turn := int(r.turn.Add(1) % uint64(n))
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
