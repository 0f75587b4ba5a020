package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// fillFinished stores n completed messages, finished an hour ago, with
// contents of about size bytes each, straight into the table.
func fillFinished(t *testing.T, d *DB, n, size int) {
	t.Helper()
	app, err := d.AppDB()
	if err != nil {
		t.Fatal(err)
	}
	hourAgo := time.Now().Add(-time.Hour).UnixMicro()
	_, err = app.Exec(`WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?1)
		INSERT INTO messages (id, status, destination, source, content, priority, created_at, updated_at,
			run_at, finished_at, attempt, max_attempts, result)
		SELECT 'm' || n, 2, 'job', 'test', json_quote(hex(randomblob(?2 / 2))), 1, ?3, ?3, ?3, ?3, 1, 4, '{}' FROM i`,
		n, size, hourAgo)
	if err != nil {
		t.Fatal(err)
	}
}

func freelist(t *testing.T, d *DB) int64 {
	t.Helper()
	var n int64
	if err := d.read.QueryRow(sqlFreelist).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func completedBefore(now time.Time) qdriver.CleanupParams {
	return qdriver.CleanupParams{Before: map[queuetype.Status]time.Time{queuetype.StatusCompleted: now}}
}

// A crash of Cleanup after its deletes committed and before its vacuum
// leaves free pages in the file. The next Cleanup deletes nothing, and it
// must still give that space back. The state is reproduced directly: the
// rows are deleted in a committed transaction and no vacuum runs.
func TestCleanup_VacuumsAfterCrashBetweenDeleteAndVacuum(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shard.db")
	d, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fillFinished(t, d, 5000, 1000)
	app, _ := d.AppDB()
	if _, err := app.Exec(`DELETE FROM messages`); err != nil { // the deletes of the crashed run
		t.Fatal(err)
	}
	free := freelist(t, d)
	if free == 0 {
		t.Fatal("the deletes left no free pages: the test proves nothing")
	}
	res, err := d.Cleanup(ctx, completedBefore(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	after := freelist(t, d)
	t.Logf("cleanup after the crash: deleted %d, freed %d bytes, free pages %d -> %d", res.Deleted, res.BytesFreed, free, after)
	if res.Deleted != 0 {
		t.Fatalf("deleted %d rows, want 0 (the crashed run deleted them)", res.Deleted)
	}
	if after != 0 || res.BytesFreed < free*int64(pageSize)/2 {
		t.Fatalf("space not given back: %d free pages left, %d bytes freed of %d free pages", after, res.BytesFreed, free)
	}
}

// walPeakMaxShare bounds the write-ahead log during a vacuum, as a share of
// the bytes the vacuum frees: a vacuum in one transaction would log nearly
// every page it moves and need free disk about the size of the database.
const walPeakMaxShare = 0.25

// The vacuum of a big file runs in bounded steps with checkpoints between
// them, so the log stays small next to the space freed.
func TestCleanup_VacuumKeepsTheLogSmall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shard.db")
	d, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fillFinished(t, d, 40_000, 1000)
	if err := d.w.doOutsideTx(ctx, func(t *tx) error { return t.drain(sqlCheckpoint) }); err != nil {
		t.Fatal(err)
	}
	var peak int64
	walSize := func() {
		if fi, err := os.Stat(path + "-wal"); err == nil {
			peak = max(peak, fi.Size())
		}
	}
	d.vacuumStepHook = walSize
	before := fileSize(path)
	res, err := d.Cleanup(ctx, completedBefore(time.Now()))
	walSize()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("file %d -> %d bytes (%d freed, %d rows); write-ahead log peak %d bytes (%.1f%% of the freed size)",
		before, fileSize(path), res.BytesFreed, res.Deleted, peak, 100*float64(peak)/float64(res.BytesFreed))
	if res.Deleted != 40_000 || res.BytesFreed < before/2 {
		t.Fatalf("cleanup deleted %d rows and freed %d of %d bytes", res.Deleted, res.BytesFreed, before)
	}
	if float64(peak) > walPeakMaxShare*float64(res.BytesFreed) {
		t.Fatalf("write-ahead log peaked at %d bytes, more than %.0f%% of the %d bytes freed", peak, 100*walPeakMaxShare, res.BytesFreed)
	}
}
