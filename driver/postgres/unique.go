package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// InsertUnique implements driver.UniqueInserter. Each key's advisory lock
// is taken (in key order, so two batches never wait for each other in a
// circle) before its look-up and held to commit: no other transaction on
// any host can store the key between the look-up and the insert, and a
// batch's later messages see its earlier ones.
func (d *DB) InsertUnique(ctx context.Context, p driver.InsertParams, keys []driver.UniqueKey) ([]string, error) {
	existing := make([]string, len(p.Messages))
	var skip []bool
	err := d.tx(ctx, func(tx pgx.Tx) error {
		skip = make([]bool, len(p.Messages))
		if err := d.lockKeys(ctx, tx, keys); err != nil {
			return err
		}
		holders := map[string]string{} // key -> id, for keys taken earlier in the batch
		for i, m := range p.Messages {
			if i >= len(keys) || keys[i].Key == "" {
				continue
			}
			k := keys[i].Key
			holder, found := holders[k]
			if !found {
				err := tx.QueryRow(ctx, d.sql(sqlUniqueHolder), k).Scan(&holder)
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
				found = err == nil
			}
			if found {
				existing[i], skip[i], m.Seq = holder, true, 0
				continue
			}
			if keys[i].States>>uint(m.Status)&1 == 1 {
				holders[k] = m.ID
			}
		}
		if err := insertMessages(ctx, d, pgxQuerier{tx}, p, keys, skip); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, d.wrap("insert", err)
	}
	d.signal(readyTopics(p.Messages, skip)...)
	return existing, nil
}

// lockKeys takes the advisory locks of the distinct keys, in order.
func (d *DB) lockKeys(ctx context.Context, tx pgx.Tx, keys []driver.UniqueKey) error {
	seen := map[string]bool{}
	var list []string
	for _, k := range keys {
		if k.Key != "" && !seen[k.Key] {
			seen[k.Key] = true
			list = append(list, k.Key)
		}
	}
	slices.Sort(list)
	for _, k := range list {
		if _, err := tx.Exec(ctx, sqlUniqueLock, d.lockKey(lockSpaceUnique), k); err != nil {
			return err
		}
	}
	return nil
}
