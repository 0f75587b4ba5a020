package shard

import (
	"context"
	"fmt"
	"slices"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// Delete implements driver.Deleter: each id in its home shard first (one
// call per shard), then the ids not found there in the shard their route
// names, then in every other shard (as Get looks). Ids stored nowhere are
// in neither list; each list is in the order given.
func (d *Driver) Delete(ctx context.Context, ids []string) (driver.DeleteResult, error) {
	var res driver.DeleteResult
	dels := make([]driver.Deleter, len(d.shards))
	for i, s := range d.shards {
		del, ok := s.(driver.Deleter)
		if !ok {
			return res, unsupported("deleting messages")
		}
		dels[i] = del
	}
	byHome := map[int][]string{}
	for _, id := range ids {
		byHome[d.home(id)] = append(byHome[d.home(id)], id)
	}
	settled := make(map[string]bool, len(ids))
	for shard := range d.shards {
		if len(byHome[shard]) == 0 {
			continue
		}
		r, err := dels[shard].Delete(ctx, byHome[shard])
		if err != nil {
			return res, fmt.Errorf("shard %d: %w", shard, err)
		}
		for _, id := range append(r.Deleted, r.Processing...) {
			settled[id] = true
		}
		res.Deleted = append(res.Deleted, r.Deleted...)
		res.Processing = append(res.Processing, r.Processing...)
	}
	for _, id := range ids {
		if settled[id] {
			continue
		}
		home := d.home(id)
		_, err := d.lookup(ctx, id, func(shard int) (bool, error) {
			if shard == home {
				return false, nil // tried already
			}
			r, err := dels[shard].Delete(ctx, []string{id})
			res.Deleted = append(res.Deleted, r.Deleted...)
			res.Processing = append(res.Processing, r.Processing...)
			return len(r.Deleted)+len(r.Processing) > 0, err
		})
		if err != nil {
			return res, fmt.Errorf("delete message %q: %w", id, err)
		}
	}
	pos := make(map[string]int, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		pos[ids[i]] = i
	}
	for _, l := range [][]string{res.Deleted, res.Processing} {
		slices.SortStableFunc(l, func(a, b string) int { return pos[a] - pos[b] })
	}
	return res, nil
}

// MetaPrefixed implements driver.MetaScanner on shard 0, where the store's
// metadata lives.
func (d *Driver) MetaPrefixed(ctx context.Context, prefix, after string, limit int) ([]driver.MetaEntry, error) {
	ms, ok := d.shards[0].(driver.MetaScanner)
	if !ok {
		return nil, unsupported("listing metadata")
	}
	return ms.MetaPrefixed(ctx, prefix, after, limit)
}

var (
	_ driver.Deleter     = (*Driver)(nil)
	_ driver.MetaScanner = (*Driver)(nil)
)
