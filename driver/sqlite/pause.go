package sqlite

import (
	"context"
	"fmt"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ qdriver.Pauser = (*DB)(nil)

// SetPaused implements driver.Pauser: one write. The commit changes the
// file's data_version, so other handles' Changes fire within their poll
// interval.
func (d *DB) SetPaused(ctx context.Context, p qdriver.PauseParams) error {
	if !p.Kind.Valid() || p.Name == "" {
		return fmt.Errorf("set paused: %w: a valid kind and a name are required (kind %d, name %q)",
			queuetype.ErrInvalidArgument, p.Kind, p.Name)
	}
	if !p.Paused {
		return d.wrap("resume", d.execWrite(ctx, sqlResume, int64(p.Kind), p.Name))
	}
	return d.wrap("pause", d.execWrite(ctx, sqlPause, int64(p.Kind), p.Name, micros(p.Now)))
}

// Paused implements driver.Pauser. A file of a schema before pauses (read
// through a read-only handle, which migrates nothing) has none.
func (d *DB) Paused(ctx context.Context) ([]qdriver.PauseState, error) {
	rows, err := d.readRows(ctx, sqlPauses)
	if isNoMessagesTable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, d.wrap("read pauses", err)
	}
	out := make([]qdriver.PauseState, 0, len(rows))
	for _, r := range rows {
		out = append(out, qdriver.PauseState{Kind: qdriver.PauseKind(asInt(r[0])), Name: asString(r[1]), Since: asTime(r[2])})
	}
	return out, nil
}
