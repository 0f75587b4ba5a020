package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/shardkey"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// metaIDRoutes, in shard 0's metadata, records that every message of the
// queue stored outside its id's home has its route (set once the routes of
// a directory written before routes existed have been built, and by
// Reshard).
const metaIDRoutes = "id_routes"

// buildRoutes writes the routes of a sharded queue's messages stored
// outside their id's home, once per directory: directories written before
// ids were unique per queue have none. An id that cannot be routed because
// its home holds another message with it (a duplicate from those days) is
// logged and left as it is.
func buildRoutes(ctx context.Context, dbs []*DB, now time.Time, logger *slog.Logger) error {
	if len(dbs) == 1 {
		return nil
	}
	if _, done, err := dbs[0].Meta(ctx, metaIDRoutes); err != nil || done {
		return err
	}
	file := func(_ context.Context, i int) (*DB, error) { return dbs[i], nil }
	onDup := func(id string, err error) {
		logger.Warn("id stored twice, in shards written before ids were unique per queue; keep one of them", "id", id, "err", err)
	}
	for i := range dbs {
		if err := routeFile(ctx, file, len(dbs), i, now, onDup); err != nil {
			return fmt.Errorf("build id routes of shard %d: %w", i, err)
		}
	}
	return dbs[0].SetMeta(ctx, metaIDRoutes, "1")
}

// routeFile writes, in their home shards among n, the routes of shard i's
// messages stored outside their id's home: those with a shard key that
// routes them elsewhere. Routes already there are renewed. onDup, if not
// nil, is told of each id whose route is refused (a duplicate id) and the
// others are written; with nil, a refusal fails routeFile.
func routeFile(ctx context.Context, file func(context.Context, int) (*DB, error), n, i int, at time.Time,
	onDup func(id string, err error)) error {
	src, err := file(ctx, i)
	if err != nil {
		return err
	}
	var after int64
	for {
		ks, err := src.KeyedAfter(ctx, after, routeBuildBatch)
		if err != nil || len(ks) == 0 {
			return err
		}
		after = ks[len(ks)-1].Seq
		byHome := map[int][]*driver.Route{}
		for _, k := range ks {
			if home := shardkey.For(k.ID, n); home != i {
				byHome[home] = append(byHome[home], &driver.Route{ID: k.ID, Shard: i, At: at, Token: rand.Int64()})
			}
		}
		for home, rs := range byHome {
			dst, err := file(ctx, home)
			if err != nil {
				return err
			}
			if err := putRoutesEach(ctx, dst, rs, onDup); err != nil {
				return err
			}
		}
	}
}

// routeBuildBatch is how many messages one step of a route build reads.
const routeBuildBatch = 2000

// putRoutesEach writes routes in one transaction; when onDup is set and one
// is a duplicate, it writes them one by one and reports each refusal.
func putRoutesEach(ctx context.Context, dst *DB, rs []*driver.Route, onDup func(string, error)) error {
	err := dst.PutRoutes(ctx, rs)
	if err == nil || onDup == nil || !errors.Is(err, queuetype.ErrDuplicate) {
		return err
	}
	for _, r := range rs {
		if err := dst.PutRoutes(ctx, []*driver.Route{r}); errors.Is(err, queuetype.ErrDuplicate) {
			onDup(r.ID, err)
		} else if err != nil {
			return err
		}
	}
	return nil
}
