package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ qdriver.Elector = (*DB)(nil)

// Elect implements driver.Elector: one write transaction takes an empty
// seat, or the seat of a dead holder, then reads who holds it.
func (d *DB) Elect(ctx context.Context, p qdriver.ElectParams) (qdriver.LeaderState, error) {
	if p.Name == "" || p.Owner == "" {
		return qdriver.LeaderState{}, fmt.Errorf("elect: %w: name and owner are required", queuetype.ErrInvalidArgument)
	}
	var st qdriver.LeaderState
	err := d.w.do(ctx, false, func(t *tx) error {
		if _, err := t.exec(sqlElectEmpty, p.Name, p.Owner, micros(p.Now)); err != nil {
			return err
		}
		if _, err := t.exec(sqlElectTakeover, p.Name, p.Owner, micros(p.Now), ownerList(p.Dead)); err != nil {
			return err
		}
		var ok bool
		var err error
		st, ok, err = t.leader(p.Name)
		if err == nil && !ok {
			err = errors.New("the seat is empty after the election")
		}
		return err
	})
	return st, d.wrap("elect leader", err)
}

// Resign implements driver.Elector.
func (d *DB) Resign(ctx context.Context, name, owner string) error {
	return d.wrap("resign leader", d.execWrite(ctx, sqlResign, name, owner))
}

// Leader implements driver.Elector.
func (d *DB) Leader(ctx context.Context, name string) (qdriver.LeaderState, bool, error) {
	rows, err := d.readRows(ctx, sqlLeader, name)
	if err != nil || len(rows) == 0 {
		return qdriver.LeaderState{}, false, d.wrap("read leader", err)
	}
	return leaderState(rows[0]), true, nil
}

// leader reads the seat of name inside the writer's transaction.
func (t *tx) leader(name string) (qdriver.LeaderState, bool, error) {
	rows, err := t.w.query(sqlLeader, name)
	if err != nil {
		return qdriver.LeaderState{}, false, err
	}
	defer rows.Close()
	vals := make([]driver.Value, 3)
	if err := rows.Next(vals); err != nil {
		if errors.Is(err, errEOF) {
			return qdriver.LeaderState{}, false, nil
		}
		return qdriver.LeaderState{}, false, err
	}
	return leaderState(vals), true, nil
}

func leaderState(vals []driver.Value) qdriver.LeaderState {
	return qdriver.LeaderState{Owner: asString(vals[0]), Term: asInt(vals[1]), Since: asTime(vals[2])}
}
