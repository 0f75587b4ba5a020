package queuesqlite_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// diskSize is what the shard files of dir take on disk, WAL included.
func diskSize(t *testing.T, dir string) int64 {
	var n int64
	for _, f := range dbtest.ShardFiles(t, dir) {
		for _, p := range []string{f, f + "-wal"} {
			if fi, err := os.Stat(p); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}

func TestQueue_CleanupGivesSpaceBack(t *testing.T) {
	t.Parallel()
	const rows = 100_000
	q, dir := setup(t, &queuesqlite.Config{Retention: queuesqlite.Retention{Completed: time.Minute}})
	ctx := context.Background()
	payload := strings.Repeat("x", 200)
	batch := make([]*queuesqlite.Message, 1000)
	for i := range batch {
		batch[i] = queuesqlite.NewMessage("job", map[string]any{"i": i, "pad": payload})
	}
	for range rows / len(batch) {
		if _, err := q.SendBatch(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	keep := send(t, q, queuesqlite.NewMessage("job", "keep me"), nil)
	// Finish them an hour ago, as a worker would have.
	db := dbtest.Open(t, dbtest.ShardFiles(t, dir)[0])
	hourAgo := time.Now().Add(-time.Hour).UnixMicro()
	if _, err := db.Exec(`UPDATE messages SET status = `+dbtest.SQLList(queuesqlite.StatusCompleted)+`, attempt = 1, finished_at = ?, result = '{}' WHERE id <> ?`, hourAgo, keep); err != nil {
		t.Fatal(err)
	}
	before := diskSize(t, dir)
	res, err := q.Cleanup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := diskSize(t, dir)
	t.Logf("cleanup deleted %d rows; files %d -> %d bytes", res.Deleted, before, after)
	if res.Deleted != rows {
		t.Fatalf("deleted %d rows, want %d", res.Deleted, rows)
	}
	if after >= before/10 {
		t.Fatalf("files shrank from %d to only %d bytes", before, after)
	}
	if m, err := q.Get(ctx, keep); err != nil || m.Status != queuesqlite.StatusPending {
		t.Fatalf("the pending message did not survive cleanup: %v %v", m, err)
	}
}

func TestOpen_RefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	db := dbtest.Open(t, sqlite.ShardPath(dir, 0))
	if _, err := db.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = queuesqlite.Open(dir, nil)
	if !errors.Is(err, queuesqlite.ErrSchemaTooNew) || !strings.Contains(err.Error(), "queue_shard_0.db") {
		t.Fatalf("open of a newer schema: %v", err)
	}
}

func TestOpen_ShardCountIsRecorded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 3})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	_, err = queuesqlite.Open(dir, &queuesqlite.Config{Shards: 2})
	var se *queuesqlite.StorageError
	if !errors.Is(err, queuesqlite.ErrShardMismatch) || !errors.As(err, &se) || !strings.Contains(se.Hint, "reshard") {
		t.Fatalf("open with another shard count: %v", err)
	}
	q, err = queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.ShardCount() != 3 {
		t.Fatalf("reopened with %d shards, want the recorded 3", q.ShardCount())
	}
}

func TestCheckDir_ReportsEveryFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	checks, err := sqlite.CheckDir(context.Background(), dir)
	if err != nil || len(checks) != 2 || checks[0].Err != nil || checks[1].Err != nil || checks[1].Path != sqlite.ShardPath(dir, 1) {
		t.Fatalf("healthy queue: %+v, %v", checks, err)
	}
	if _, err := sqlite.CheckDir(context.Background(), t.TempDir()); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("empty directory: %v", err)
	}
}
