package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// SetPaused implements driver.Pauser: one write, then a TopicAny signal to
// the other handles.
func (d *DB) SetPaused(ctx context.Context, p driver.PauseParams) error {
	if !p.Kind.Valid() || p.Name == "" {
		return fmt.Errorf("set paused: %w: a valid kind and a name are required (kind %d, name %q)",
			queuetype.ErrInvalidArgument, p.Kind, p.Name)
	}
	var err error
	if p.Paused {
		_, err = d.pool.Exec(ctx, d.sql(sqlPause), int16(p.Kind), p.Name, ts(p.Now))
	} else {
		_, err = d.pool.Exec(ctx, d.sql(sqlResume), int16(p.Kind), p.Name)
	}
	if err != nil {
		return d.wrap("set paused", err)
	}
	d.signal(driver.Topic{Kind: driver.TopicAny})
	return nil
}

// Paused implements driver.Pauser.
func (d *DB) Paused(ctx context.Context) ([]driver.PauseState, error) {
	var out []driver.PauseState
	err := d.reread(ctx, func() (err error) { out, err = d.paused(ctx); return err })
	if err != nil {
		return nil, d.wrap("read pauses", err)
	}
	return out, nil
}

// paused reads the pauses once.
func (d *DB) paused(ctx context.Context) ([]driver.PauseState, error) {
	r, err := d.pool.Query(ctx, d.sql(sqlPauses))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []driver.PauseState
	for r.Next() {
		var kind int16
		var st driver.PauseState
		var since time.Time
		if err := r.Scan(&kind, &st.Name, &since); err != nil {
			return nil, err
		}
		st.Kind, st.Since = driver.PauseKind(kind), since.UTC()
		out = append(out, st)
	}
	return out, r.Err()
}
