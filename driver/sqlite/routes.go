package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ qdriver.Router = (*DB)(nil)

// PutRoutes implements driver.Router.
func (d *DB) PutRoutes(ctx context.Context, routes []*qdriver.Route) error {
	// One route is one write (the look-up only reads): no savepoint needed.
	err := d.w.do(ctx, len(routes) > 1, func(t *tx) error {
		for _, r := range routes {
			shard, found, err := t.queryInt(sqlRouteShard, r.ID)
			if err != nil {
				return err
			}
			if found && int(shard) != r.Shard {
				return fmt.Errorf("message id %q: %w: it is stored in shard %d", r.ID, queuetype.ErrDuplicate, shard)
			}
			if _, err := t.exec(sqlRoutePut, r.ID, int64(r.Shard), micros(r.At), r.Token); err != nil {
				return err
			}
			r.Created = !found
		}
		return nil
	})
	return d.wrap("route ids", err)
}

// DropRoutes implements driver.Router.
func (d *DB) DropRoutes(ctx context.Context, routes []*qdriver.Route) (int, error) {
	if len(routes) == 0 {
		return 0, nil
	}
	var n int64
	err := d.w.do(ctx, len(routes) > 1, func(t *tx) error {
		n = 0
		for _, r := range routes {
			res, err := t.exec(sqlRouteDrop, r.ID, r.Token)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	})
	return int(n), d.wrap("drop id routes", err)
}

// Route implements driver.Router.
func (d *DB) Route(ctx context.Context, id string) (*qdriver.Route, bool, error) {
	rs, err := d.readRoutes(ctx, sqlRouteGet, id)
	if err != nil || len(rs) == 0 {
		return nil, false, d.wrap("read id route", err)
	}
	return rs[0], true, nil
}

// OldRoutes implements driver.Router.
func (d *DB) OldRoutes(ctx context.Context, before, afterAt time.Time, afterID string, limit int) ([]*qdriver.Route, error) {
	after := int64(-1 << 63)
	if !afterAt.IsZero() {
		after = micros(afterAt)
	}
	rs, err := d.readRoutes(ctx, sqlRoutesOld, micros(before), after, afterID, int64(limit))
	return rs, d.wrap("list id routes", err)
}

// StoredIDs implements driver.Router.
func (d *DB) StoredIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := d.read.QueryContext(ctx, sqlStoredIDs, string(list))
	if err != nil {
		return nil, d.wrap("look up ids", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, d.wrap("look up ids", err)
		}
		out[id] = true
	}
	return out, d.wrap("look up ids", rows.Err())
}

func (d *DB) readRoutes(ctx context.Context, query string, args ...any) ([]*qdriver.Route, error) {
	rows, err := d.read.QueryContext(ctx, query, args...)
	if err != nil && strings.Contains(err.Error(), "no such table: id_routes") {
		return nil, nil // a file of an older schema opened read-only: it has no routes
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*qdriver.Route
	for rows.Next() {
		var r qdriver.Route
		var shard, at int64
		if err := rows.Scan(&r.ID, &shard, &at, &r.Token); err != nil {
			return nil, err
		}
		r.Shard, r.At = int(shard), time.UnixMicro(at).UTC()
		out = append(out, &r)
	}
	if errors.Is(rows.Err(), sql.ErrNoRows) {
		return out, nil
	}
	return out, rows.Err()
}
