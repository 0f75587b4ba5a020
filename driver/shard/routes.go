package shard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Ids are unique per store. Each id has a home shard, shardkey.For(id, n).
// A message stored in its home is kept unique there by the home's UNIQUE
// index. A message stored elsewhere (its ShardKey, unique key or parents
// route it to another shard) is preceded by an id route written in the
// home shard, by the home's own writer: id -> the shard holding it. In
// every home shard an id is either a message or a route, never both, and a
// route names one shard, so every copy of an id meets every other in the
// home shard's writer and only one is accepted. Lookups by id read the
// home, then follow its route.
//
// A route and its message are two files' writes, not one transaction. If
// the message's insert fails, the route is dropped again (best effort); if
// the process dies between the two, the route stays behind without a
// message: it makes the id refused for another shard (the same shard is a
// retry and is accepted) until cleanup prunes it. Cleanup prunes a route
// only when it is older than RouteGrace and its shard holds no message
// with the id. A send that reuses an old route renews it (new time and
// token) before it inserts, and the prune deletes only the route it
// inspected (same token), so the prune cannot take the route of a message
// being stored. The one window left: a sender that renewed or wrote a
// route and then takes longer than RouteGrace to insert its message can
// find its route pruned, and its message is then stored unrouted: unique
// then only in its own shard, and found by Get through the scan of every
// shard.

// RouteGrace is how old a route must be before cleanup may prune it.
const RouteGrace = 24 * time.Hour

// routePruneBatch is how many routes one prune step inspects.
const routePruneBatch = 1000

// putRoutes writes, in their home shards, the routes of the messages
// stored outside their home, and returns them by id. On failure it drops
// the routes it created and writes nothing more.
func (d *Driver) putRoutes(ctx context.Context, ms []*queuetype.Message, shards []int) (map[string]*driver.Route, error) {
	byHome := map[int][]*driver.Route{}
	for i, m := range ms {
		home := d.home(m.ID)
		if _, ok := d.router(home); !ok || home == shards[i] {
			continue
		}
		byHome[home] = append(byHome[home], newRoute(m, shards[i]))
	}
	if len(byHome) == 0 {
		return nil, nil
	}
	var mu sync.Mutex
	failed := map[int]bool{}
	err := inParts(byHome, func(home int, rs []*driver.Route) error {
		r, _ := d.router(home)
		err := r.PutRoutes(ctx, rs)
		if err != nil {
			mu.Lock()
			failed[home] = true
			mu.Unlock()
		}
		return err
	})
	out := map[string]*driver.Route{}
	for home, rs := range byHome {
		if !failed[home] {
			for _, r := range rs {
				out[r.ID] = r
			}
		}
	}
	if err != nil {
		d.dropRoutes(ctx, out, nil)
		return nil, fmt.Errorf("id routes: %w", err)
	}
	return out, nil
}

// dropRoutes deletes the routes this insert created for the ids given
// (all when ids is nil), best effort: a route left behind is pruned later.
func (d *Driver) dropRoutes(ctx context.Context, routes map[string]*driver.Route, ids []string) {
	byHome := map[int][]*driver.Route{}
	add := func(r *driver.Route) {
		if r != nil && r.Created {
			byHome[d.home(r.ID)] = append(byHome[d.home(r.ID)], r)
		}
	}
	if ids == nil {
		for _, r := range routes {
			add(r)
		}
	}
	for _, id := range ids {
		add(routes[id])
	}
	for home, rs := range byHome {
		r, _ := d.router(home)
		_, _ = r.DropRoutes(context.WithoutCancel(ctx), rs) // left behind: pruned later
	}
}

// lookup calls try on the shards that may hold id, best first, until it
// reports the message found: the id's home, the shard the home's route
// names, then every other shard (messages stored before routes existed,
// or whose route was pruned).
func (d *Driver) lookup(ctx context.Context, id string, try func(shard int) (bool, error)) (bool, error) {
	home := d.home(id)
	if found, err := try(home); found || err != nil {
		return found, err
	}
	tried := map[int]bool{home: true}
	if r, ok := d.router(home); ok {
		route, ok, err := r.Route(ctx, id)
		if err != nil {
			return false, err
		}
		if ok && route.Shard >= 0 && route.Shard < len(d.shards) && route.Shard != home {
			if found, err := try(route.Shard); found || err != nil {
				return found, err
			}
			tried[route.Shard] = true
		}
	}
	for i := range d.shards {
		if !tried[i] {
			if found, err := try(i); found || err != nil {
				return found, err
			}
		}
	}
	return false, nil
}

// byID runs fn on the shard holding id: ErrNotFound from one shard moves
// on to the next.
func (d *Driver) byID(ctx context.Context, id string, fn func(s driver.Driver) (*queuetype.Message, error)) (*queuetype.Message, error) {
	var out *queuetype.Message
	found, err := d.lookup(ctx, id, func(shard int) (bool, error) {
		m, err := fn(d.shards[shard])
		if errors.Is(err, queuetype.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		mark(shard, m)
		out = m
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("message %q: %w", id, queuetype.ErrNotFound)
	}
	return out, nil
}

// Get implements driver.Driver.
func (d *Driver) Get(ctx context.Context, id string) (*queuetype.Message, error) {
	return d.byID(ctx, id, func(s driver.Driver) (*queuetype.Message, error) { return s.Get(ctx, id) })
}

// Cancel implements driver.Driver.
func (d *Driver) Cancel(ctx context.Context, p driver.ChangeParams) (*queuetype.Message, error) {
	return d.byID(ctx, p.ID, func(s driver.Driver) (*queuetype.Message, error) { return s.Cancel(ctx, p) })
}

// Requeue implements driver.Driver.
func (d *Driver) Requeue(ctx context.Context, p driver.ChangeParams) (*queuetype.Message, error) {
	return d.byID(ctx, p.ID, func(s driver.Driver) (*queuetype.Message, error) { return s.Requeue(ctx, p) })
}

// pruneRoutes deletes the routes older than RouteGrace before now whose
// shard holds no message with their id, and returns how many it deleted.
func (d *Driver) pruneRoutes(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.Add(-RouteGrace)
	pruned := 0
	for home := range d.shards {
		r, ok := d.router(home)
		if !ok {
			return pruned, nil
		}
		n, err := d.pruneShardRoutes(ctx, r, cutoff)
		pruned += n
		if err != nil {
			return pruned, err
		}
	}
	return pruned, nil
}

func (d *Driver) pruneShardRoutes(ctx context.Context, r driver.Router, cutoff time.Time) (int, error) {
	pruned := 0
	var afterAt time.Time
	afterID := ""
	for {
		rs, err := r.OldRoutes(ctx, cutoff, afterAt, afterID, routePruneBatch)
		if err != nil || len(rs) == 0 {
			return pruned, err
		}
		afterAt, afterID = rs[len(rs)-1].At, rs[len(rs)-1].ID
		dead, err := d.deadRoutes(ctx, rs)
		if err != nil {
			return pruned, err
		}
		n, err := r.DropRoutes(ctx, dead)
		pruned += n
		if err != nil {
			return pruned, err
		}
	}
}

// deadRoutes returns the routes whose shard holds no message with their id.
func (d *Driver) deadRoutes(ctx context.Context, rs []*driver.Route) ([]*driver.Route, error) {
	byShard := map[int][]string{}
	for _, r := range rs {
		byShard[r.Shard] = append(byShard[r.Shard], r.ID)
	}
	stored := map[int]map[string]bool{}
	for shard, ids := range byShard {
		if shard < 0 || shard >= len(d.shards) {
			continue // names no shard of this store: dead
		}
		t, ok := d.router(shard)
		if !ok {
			return nil, errors.New("prune id routes: a shard keeps no routes")
		}
		got, err := t.StoredIDs(ctx, ids)
		if err != nil {
			return nil, err
		}
		stored[shard] = got
	}
	var dead []*driver.Route
	for _, r := range rs {
		if !stored[r.Shard][r.ID] {
			dead = append(dead, r)
		}
	}
	return dead, nil
}
