package shard

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// BeatOwner implements driver.Driver: the owner beats on every shard.
func (d *Driver) BeatOwner(ctx context.Context, p driver.OwnerParams) error {
	return d.each(func(_ int, s driver.Driver) error { return s.BeatOwner(ctx, p) })
}

// RetireOwner implements driver.Driver on every shard.
func (d *Driver) RetireOwner(ctx context.Context, owner string) error {
	return d.each(func(_ int, s driver.Driver) error { return s.RetireOwner(ctx, owner) })
}

// Owners implements driver.Driver: one row per owner over every shard.
// Beats are the highest of any shard's (an owner beats every shard at
// once, so that one moves with each beat), Lease is the longest, Gone holds when it retired on any shard, and NoRow only when
// no shard has a row for it.
func (d *Driver) Owners(ctx context.Context) ([]driver.OwnerState, error) {
	per := make([][]driver.OwnerState, len(d.shards))
	if err := d.each(func(i int, s driver.Driver) (err error) {
		per[i], err = s.Owners(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	byOwner := map[string]*driver.OwnerState{}
	var names []string
	for _, os := range per {
		for _, o := range os {
			m := byOwner[o.Owner]
			if m == nil {
				c := o
				byOwner[o.Owner] = &c
				names = append(names, o.Owner)
				continue
			}
			switch {
			case o.NoRow:
			case m.NoRow:
				*m = o
			default:
				m.Beats = max(m.Beats, o.Beats)
				m.Lease = max(m.Lease, o.Lease)
				m.Gone = m.Gone || o.Gone
			}
		}
	}
	sort.Strings(names)
	out := make([]driver.OwnerState, len(names))
	for i, n := range names {
		out[i] = *byOwner[n]
	}
	return out, nil
}

// gather runs fn on every shard in parallel and returns the messages it
// returned, marked with their shard, in shard order.
func (d *Driver) gather(fn func(s driver.Driver) ([]*queuetype.Message, error)) ([]*queuetype.Message, error) {
	per := make([][]*queuetype.Message, len(d.shards))
	err := d.each(func(i int, s driver.Driver) error {
		ms, err := fn(s)
		mark(i, ms...)
		per[i] = ms
		return err
	})
	return slices.Concat(per...), err
}

// Rescue implements driver.Driver on every shard.
func (d *Driver) Rescue(ctx context.Context, p driver.MaintainParams) ([]*queuetype.Message, error) {
	return d.gather(func(s driver.Driver) ([]*queuetype.Message, error) { return s.Rescue(ctx, p) })
}

// Expire implements driver.Driver on every shard.
func (d *Driver) Expire(ctx context.Context, p driver.MaintainParams) ([]*queuetype.Message, error) {
	return d.gather(func(s driver.Driver) ([]*queuetype.Message, error) { return s.Expire(ctx, p) })
}

// Promote implements driver.Driver: the sum over every shard.
func (d *Driver) Promote(ctx context.Context, p driver.MaintainParams) (int, error) {
	var mu sync.Mutex
	total := 0
	err := d.each(func(_ int, s driver.Driver) error {
		n, err := s.Promote(ctx, p)
		mu.Lock()
		total += n
		mu.Unlock()
		return err
	})
	return total, err
}

// NextDue implements driver.Driver: the earliest of every shard's.
func (d *Driver) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next time.Time
	found := false
	for _, s := range d.shards {
		t, ok, err := s.NextDue(ctx)
		if err != nil {
			return time.Time{}, false, err
		}
		if ok && (!found || t.Before(next)) {
			next, found = t, true
		}
	}
	return next, found, nil
}

// Cleanup implements driver.Driver: shard after shard (each reported to
// p.Progress), then the id routes whose message is gone (when p.Now is
// set).
func (d *Driver) Cleanup(ctx context.Context, p driver.CleanupParams) (driver.CleanupResult, error) {
	var total driver.CleanupResult
	for i, s := range d.shards {
		res, err := s.Cleanup(ctx, p)
		total.Deleted += res.Deleted
		total.BytesFreed += res.BytesFreed
		if p.Progress != nil {
			p.Progress(i+1, len(d.shards))
		}
		if err != nil {
			return total, err
		}
	}
	if p.Now.IsZero() {
		return total, nil
	}
	n, err := d.pruneRoutes(ctx, p.Now)
	total.RoutesPruned = n
	return total, err
}

// Stats implements driver.Driver: every shard's counts summed, and the
// oldest pending time of all.
func (d *Driver) Stats(ctx context.Context) (*driver.Stats, error) {
	per, err := d.PerShard(ctx)
	if err != nil {
		return nil, err
	}
	out := &driver.Stats{Counts: map[string]map[queuetype.Status]int{}}
	for _, s := range per {
		if !s.OldestPending.IsZero() && (out.OldestPending.IsZero() || s.OldestPending.Before(out.OldestPending)) {
			out.OldestPending = s.OldestPending
		}
		for dest, counts := range s.Counts {
			if out.Counts[dest] == nil {
				out.Counts[dest] = map[queuetype.Status]int{}
			}
			for status, n := range counts {
				out.Counts[dest][status] += n
			}
		}
	}
	return out, nil
}

// PerShard implements driver.ShardStatser: each shard's Stats, in shard
// order.
func (d *Driver) PerShard(ctx context.Context) ([]*driver.Stats, error) {
	per := make([]*driver.Stats, len(d.shards))
	err := d.each(func(i int, s driver.Driver) (err error) {
		per[i], err = s.Stats(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return per, nil
}

// Finished implements driver.Driver: up to limit from every shard.
func (d *Driver) Finished(ctx context.Context, owner string, limit int) ([]*queuetype.Message, error) {
	return d.gather(func(s driver.Driver) ([]*queuetype.Message, error) { return s.Finished(ctx, owner, limit) })
}

// ListFinished implements driver.FinishedLister: every shard's, merged by
// finish time (then shard, then seq), the first Limit.
func (d *Driver) ListFinished(ctx context.Context, p driver.FinishedListParams) ([]*queuetype.Message, error) {
	for _, s := range d.shards {
		if _, ok := s.(driver.FinishedLister); !ok {
			return nil, unsupported("listing finished messages")
		}
	}
	ms, err := d.gather(func(s driver.Driver) ([]*queuetype.Message, error) {
		return s.(driver.FinishedLister).ListFinished(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ms, func(a, b *queuetype.Message) int { return a.FinishedAt.Compare(b.FinishedAt) })
	if p.Limit > 0 && len(ms) > p.Limit {
		ms = ms[:p.Limit]
	}
	return ms, nil
}

// ResolveDependencies implements driver.DependencyStore on every shard (a
// family lives in one shard).
func (d *Driver) ResolveDependencies(ctx context.Context, p driver.MaintainParams) (driver.DependencyResult, error) {
	var mu sync.Mutex
	var total driver.DependencyResult
	err := d.each(func(i int, s driver.Driver) error {
		ds, ok := s.(driver.DependencyStore)
		if !ok {
			return unsupported("dependencies")
		}
		res, err := ds.ResolveDependencies(ctx, p)
		mark(i, res.Finished...)
		mu.Lock()
		total.Released += res.Released
		total.Finished = append(total.Finished, res.Finished...)
		mu.Unlock()
		return err
	})
	return total, err
}

// Waiting implements driver.DependencyStore: the sum over every shard.
func (d *Driver) Waiting(ctx context.Context) (int, error) {
	total := 0
	for _, s := range d.shards {
		ds, ok := s.(driver.DependencyStore)
		if !ok {
			return 0, unsupported("dependencies")
		}
		n, err := ds.Waiting(ctx)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}
