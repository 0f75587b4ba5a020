package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Elect implements driver.Elector: one transaction, under the election's
// advisory lock so that candidates on several hosts campaign one at a time,
// takes an empty seat or the seat of a dead holder, then reads who holds it.
func (d *DB) Elect(ctx context.Context, p driver.ElectParams) (driver.LeaderState, error) {
	if p.Name == "" || p.Owner == "" {
		return driver.LeaderState{}, fmt.Errorf("elect: %w: name and owner are required", queuetype.ErrInvalidArgument)
	}
	var st driver.LeaderState
	err := d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlUniqueLock, d.lockKey(lockSpaceElection), p.Name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, d.sql(sqlElectEmpty), p.Name, p.Owner, ts(p.Now)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, d.sql(sqlElectTakeover), p.Name, p.Owner, ts(p.Now), owners(p.Dead)); err != nil {
			return err
		}
		var ok bool
		var err error
		st, ok, err = d.leader(ctx, tx, p.Name)
		if err == nil && !ok {
			err = errors.New("the seat is empty after the election")
		}
		return err
	})
	return st, d.wrap("elect leader", err)
}

// Resign implements driver.Elector.
func (d *DB) Resign(ctx context.Context, name, owner string) error {
	_, err := d.pool.Exec(ctx, d.sql(sqlResign), name, owner)
	return d.wrap("resign leader", err)
}

// Leader implements driver.Elector.
func (d *DB) Leader(ctx context.Context, name string) (driver.LeaderState, bool, error) {
	var st driver.LeaderState
	var ok bool
	err := d.reread(ctx, func() (err error) { st, ok, err = d.leader(ctx, d.pool, name); return err })
	return st, ok, d.wrap("read leader", err)
}

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (d *DB) leader(ctx context.Context, q rowQuerier, name string) (driver.LeaderState, bool, error) {
	var st driver.LeaderState
	var since time.Time
	err := q.QueryRow(ctx, d.sql(sqlLeader), name).Scan(&st.Owner, &st.Term, &since)
	if errors.Is(err, pgx.ErrNoRows) {
		return driver.LeaderState{}, false, nil
	}
	if err != nil {
		return driver.LeaderState{}, false, err
	}
	st.Since = since.UTC()
	return st, true, nil
}
