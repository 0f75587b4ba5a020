package queuesqlite

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// Ids are unique per queue. Each id has a home shard, ShardFor(id, n). A
// message without a shard key is stored in its home, and the home's UNIQUE
// index refuses a second one there. A message stored elsewhere (its shard
// key routes it to another shard) is preceded by an id route written in
// the home shard, by the home's own writer: id -> the shard holding it. In
// every home shard an id is either a message or a route, never both (two
// triggers of the schema), and a route names one shard (its primary key),
// so every copy of an id meets every other in the home shard's writer and
// only one is accepted. Lookups by id read the home, then follow its route.
//
// A route and its message are two files' writes, not one transaction. If
// the message's insert fails, the route is dropped again (best effort); if
// the process dies between the two, the route stays behind without a
// message: it makes the id refused for another shard (the same shard is a
// retry and is accepted) until cleanup prunes it. Cleanup prunes a route
// only when it is older than routeGrace and its shard holds no message with
// the id (cleaned up, or never stored). A send that reuses an old route
// renews it (new time and token) before it inserts, and the prune deletes
// only the route it inspected (same token), so the prune cannot take the
// route of a message being stored. The one window left: a sender that
// renewed or wrote a route and then takes longer than routeGrace to insert
// its message (a process frozen for that long between the two writes) can
// find its route pruned, and its message is then stored unrouted: unique
// then only in its own shard, and found by Get through the scan of every
// shard.

// routeGrace is how old a route must be before cleanup may prune it.
const routeGrace = 24 * time.Hour

// routePruneBatch is how many routes one prune step inspects.
const routePruneBatch = 1000

// homeOf returns the shard of id when it has no shard key.
func (q *Queue) homeOf(id string) int {
	return shardFor(id, len(q.shards))
}

// router returns shard i's id routes, if its driver keeps them and the
// queue has several shards.
func (q *Queue) router(i int) (driver.Router, bool) {
	if len(q.shards) == 1 {
		return nil, false
	}
	r, ok := q.shards[i].(driver.Router)
	return r, ok
}

// checkBatchIDs refuses a batch that names one id twice.
func checkBatchIDs(rows []*Message) error {
	seen := make(map[string]int, len(rows))
	for i, m := range rows {
		if j, dup := seen[m.ID]; dup {
			return fmt.Errorf("messages %d and %d: id %q: %w: an id names one message of the queue", j, i, m.ID, ErrDuplicate)
		}
		seen[m.ID] = i
	}
	return nil
}

// homeZeroIDs makes SendTx's rows, which go to shard 0, ones whose id has
// shard 0 as its home, so that shard 0's own transaction keeps the id
// unique: generated ids are drawn until they do; a given id whose home is
// another shard is refused (its route would have to be written in another
// file, outside the application's transaction).
func (q *Queue) homeZeroIDs(ms, rows []*Message) error {
	n := len(q.shards)
	if n == 1 {
		return nil
	}
	for i, r := range rows {
		if ms[i].ID == "" {
			for shardFor(r.ID, n) != 0 {
				r.ID = uuid.Must(uuid.NewV7()).String()
			}
		} else if home := shardFor(r.ID, n); home != 0 {
			return fmt.Errorf("message %d: %w: id %q belongs to shard %d of %d, and SendTx writes shard 0: "+
				"leave the ID empty (SendTx then picks one) or send it with Send", i, ErrInvalidArgument, r.ID, home, n)
		}
		r.Shard = 0
	}
	return nil
}

// putRoutes writes, in their home shards, the routes of the rows stored
// outside their home, and returns them by id. On failure it drops the
// routes it created and writes nothing more.
func (q *Queue) putRoutes(ctx context.Context, rows []*Message) (map[string]*driver.Route, error) {
	byHome := q.routesByHome(rows)
	if len(byHome) == 0 {
		return nil, nil
	}
	errs := q.putByHome(ctx, byHome)
	out := map[string]*driver.Route{}
	var first error
	for home, rs := range byHome {
		if errs[home] != nil {
			if first == nil {
				first = fmt.Errorf("send: %w", errs[home])
			}
			continue
		}
		for _, r := range rs {
			out[r.ID] = r
		}
	}
	if first != nil {
		q.dropRoutes(ctx, out, nil)
		return nil, first
	}
	return out, nil
}

// routesByHome returns the routes the rows need, by home shard: one for
// each row stored outside its id's home.
func (q *Queue) routesByHome(rows []*Message) map[int][]*driver.Route {
	if len(q.shards) == 1 {
		return nil
	}
	byHome := map[int][]*driver.Route{}
	now := q.now()
	for _, m := range rows {
		home := q.homeOf(m.ID)
		if _, ok := q.router(home); !ok || home == m.Shard {
			continue
		}
		byHome[home] = append(byHome[home], &driver.Route{ID: m.ID, Shard: m.Shard, At: now, Token: rand.Int64()})
	}
	return byHome
}

// putByHome writes each home's routes (homes in parallel) and returns the
// errors by home.
func (q *Queue) putByHome(ctx context.Context, byHome map[int][]*driver.Route) map[int]error {
	errs := make(map[int]error, len(byHome))
	if len(byHome) == 1 { // the common case: no goroutine
		for home, rs := range byHome {
			r, _ := q.router(home)
			errs[home] = r.PutRoutes(ctx, rs)
		}
		return errs
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for home, rs := range byHome {
		wg.Go(func() {
			r, _ := q.router(home)
			err := r.PutRoutes(ctx, rs)
			mu.Lock()
			errs[home] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return errs
}

// dropRoutes deletes the routes this send created for the ids given (all
// when ids is nil), best effort: a route left behind is pruned later.
func (q *Queue) dropRoutes(ctx context.Context, routes map[string]*driver.Route, ids []string) {
	byHome := map[int][]*driver.Route{}
	add := func(r *driver.Route) {
		if r != nil && r.Created {
			byHome[q.homeOf(r.ID)] = append(byHome[q.homeOf(r.ID)], r)
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
		r, _ := q.router(home)
		if _, err := r.DropRoutes(context.WithoutCancel(ctx), rs); err != nil {
			q.logger.Warn("drop id routes of a failed send (cleanup prunes them later)", "shard", home, "err", err)
		}
	}
}

// lookup calls try on the shards that may hold id, best first, until it
// reports the message found: the id's home, the shard the home's route
// names, then every other shard (messages stored before routes existed).
func (q *Queue) lookup(ctx context.Context, id string, try func(shard int) (bool, error)) (bool, error) {
	home := q.homeOf(id)
	if found, err := try(home); found || err != nil {
		return found, err
	}
	tried := map[int]bool{home: true}
	if r, ok := q.router(home); ok {
		route, ok, err := r.Route(ctx, id)
		if err != nil {
			return false, err
		}
		if ok && route.Shard >= 0 && route.Shard < len(q.shards) && route.Shard != home {
			if found, err := try(route.Shard); found || err != nil {
				return found, err
			}
			tried[route.Shard] = true
		}
	}
	for i := range q.shards {
		if !tried[i] {
			if found, err := try(i); found || err != nil {
				return found, err
			}
		}
	}
	return false, nil
}

// pruneRoutesLogged is pruneRoutes for the background cleanup.
func (q *Queue) pruneRoutesLogged(ctx context.Context) {
	n, err := q.pruneRoutes(ctx)
	if err != nil {
		q.logger.Warn("prune id routes failed", "err", err)
	}
	if n > 0 {
		q.logger.Info("pruned id routes of messages that are gone", "routes", n)
	}
}

// pruneRoutes deletes the routes older than routeGrace whose shard holds no
// message with their id, and returns how many it deleted.
func (q *Queue) pruneRoutes(ctx context.Context) (int, error) {
	cutoff := q.now().Add(-routeGrace)
	pruned := 0
	for home := range q.shards {
		r, ok := q.router(home)
		if !ok {
			return 0, nil
		}
		n, err := q.pruneShardRoutes(ctx, home, r, cutoff)
		pruned += n
		if err != nil {
			return pruned, err
		}
	}
	return pruned, nil
}

func (q *Queue) pruneShardRoutes(ctx context.Context, home int, r driver.Router, cutoff time.Time) (int, error) {
	pruned := 0
	var afterAt time.Time
	afterID := ""
	for {
		rs, err := r.OldRoutes(ctx, cutoff, afterAt, afterID, routePruneBatch)
		if err != nil || len(rs) == 0 {
			return pruned, err
		}
		afterAt, afterID = rs[len(rs)-1].At, rs[len(rs)-1].ID
		dead, err := q.deadRoutes(ctx, rs)
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
func (q *Queue) deadRoutes(ctx context.Context, rs []*driver.Route) ([]*driver.Route, error) {
	byShard := map[int][]string{}
	for _, r := range rs {
		byShard[r.Shard] = append(byShard[r.Shard], r.ID)
	}
	stored := map[int]map[string]bool{}
	for shard, ids := range byShard {
		if shard < 0 || shard >= len(q.shards) {
			continue // names no shard of this queue: dead
		}
		t, ok := q.router(shard)
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
