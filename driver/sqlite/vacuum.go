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
// truncates the write-ahead log. A file without incremental auto-vacuum
// (made by an old version) keeps its free pages; Compact then only
// checkpoints.
func (d *DB) Compact(ctx context.Context) error { return d.compact(ctx, true) }

// compact is Compact; with truncate false, a file with no free pages is left
// alone (the truncating checkpoint waits for other processes' readers, so
// Cleanup does not run it every time for nothing).
func (d *DB) compact(ctx context.Context, truncate bool) error {
	for step := 0; ; step++ {
		free, more, err := d.vacuumStep(ctx)
		if err != nil {
			return d.wrap("vacuum", err)
		}
		if free == 0 && step == 0 && !truncate {
			return nil
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
	return d.wrap("checkpoint", d.checkpoint(ctx))
}

// vacuumStep gives back at most vacuumStepBytes of free pages in one
// transaction. It returns the free pages there were before, and whether
// some are left that another step would give back.
func (d *DB) vacuumStep(ctx context.Context) (free int64, more bool, err error) {
	err = d.w.do(ctx, false, func(t *tx) error {
		before, _, err := t.queryInt(sqlFreelist)
		if err != nil || before == 0 {
			return err
		}
		free = before
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
	return free, more, err
}
