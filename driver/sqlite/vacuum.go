package sqlite

import (
	"context"
	"fmt"
)

// vacuumStepBytes bounds the pages one vacuum step moves, in bytes. Each
// step is its own transaction followed by a checkpoint, so the write-ahead
// log never holds much more than one step (a few times this, with the
// pointer-map and parent pages a move rewrites), instead of nearly the
// whole file as one incremental_vacuum of every free page would.
const vacuumStepBytes = 2 << 20

// sqlCheckpointPassive copies the log into the database without waiting for
// readers; once every frame is copied the next commit writes the log from
// its start again, so it stops growing.
const sqlCheckpointPassive = `PRAGMA wal_checkpoint(PASSIVE)`

// Compact gives the file's free pages back to the file system (incremental
// vacuum, in steps of vacuumStepBytes with a checkpoint after each) and
// truncates the write-ahead log. It runs whenever the file has free pages,
// so space left by an earlier run that stopped between its deletes and its
// vacuum is given back too. A file without incremental auto-vacuum (made by
// an old version) keeps its free pages; Compact then only checkpoints.
func (d *DB) Compact(ctx context.Context) error {
	for {
		more, err := d.vacuumStep(ctx)
		if err != nil {
			return d.wrap("vacuum", err)
		}
		if d.vacuumStepHook != nil {
			d.vacuumStepHook()
		}
		if !more {
			break
		}
		if err := d.w.doOutsideTx(ctx, func(t *tx) error { return t.drain(sqlCheckpointPassive) }); err != nil {
			return d.wrap("checkpoint", err)
		}
	}
	return d.wrap("checkpoint", d.w.doOutsideTx(ctx, func(t *tx) error { return t.drain(sqlCheckpoint) }))
}

// vacuumStep gives back at most vacuumStepBytes of free pages in one
// transaction and reports whether free pages are left that another step
// would give back.
func (d *DB) vacuumStep(ctx context.Context) (more bool, err error) {
	err = d.w.do(ctx, false, func(t *tx) error {
		before, _, err := t.queryInt(sqlFreelist)
		if err != nil || before == 0 {
			return err
		}
		size, _, err := t.queryInt(sqlPageSize)
		if err != nil {
			return err
		}
		if err := t.drain(fmt.Sprintf("%s(%d)", sqlIncrVacuum, max(vacuumStepBytes/size, 1))); err != nil {
			return err
		}
		after, _, err := t.queryInt(sqlFreelist)
		more = after > 0 && after < before // no progress: the file has no incremental auto-vacuum
		return err
	})
	return more, err
}
