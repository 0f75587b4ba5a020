package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// A file with dependency rows written before the dependency marks
// (migration 0012) settles them at its first pass after the upgrade: a
// child of a completed parent is released, a child of a parent no longer
// stored is cancelled, and a child of an unfinished parent keeps waiting
// until that parent completes.
func TestMigrate_DependencyMarksSettleExistingRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, conn := fileBefore(t, ctx, path, "CREATE TABLE dependency_marks")
	waiting := micros(qdriver.WaitingRunAt)
	if fmt.Sprint(waiting) != waitingMicros {
		t.Fatalf("waitingMicros is %s, the waiting sentinel %d", waitingMicros, waiting)
	}
	now := micros(time.Now())
	for _, row := range []struct {
		id     string
		status queuetype.Status
		runAt  int64
	}{
		{"done", queuetype.StatusCompleted, now}, {"busy", queuetype.StatusProcessing, now},
		{"c-done", queuetype.StatusScheduled, waiting}, {"c-busy", queuetype.StatusScheduled, waiting},
		{"c-gone", queuetype.StatusScheduled, waiting},
	} {
		if _, err := conn.ExecContext(ctx, `INSERT INTO messages (id, status, destination, source, content, priority,
			created_at, updated_at, run_at, max_attempts) VALUES (?1, ?2, 'd', 's', '{}', 1, ?3, ?3, ?4, 3)`,
			row.id, int64(row.status), now, row.runAt); err != nil {
			t.Fatal(err)
		}
	}
	for child, parent := range map[string]string{"c-done": "done", "c-busy": "busy", "c-gone": "gone"} {
		if _, err := conn.ExecContext(ctx, `INSERT INTO dependencies (child_seq, parent_id, run_at)
			SELECT seq, ?2, ?3 FROM messages WHERE id = ?1`, child, parent, now); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	old.Close()

	d, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := qdriver.MaintainParams{Now: time.Now().UTC(), Limit: 100, Me: "me"}
	res, err := d.ResolveDependencies(ctx, p)
	if err != nil || res.Released != 1 || len(res.Finished) != 1 || res.Finished[0].ID != "c-gone" ||
		res.Finished[0].Status != queuetype.StatusCancelled {
		t.Fatalf("first pass after the upgrade: %+v, %v; want c-done released and c-gone cancelled", res, err)
	}
	if n, err := d.Waiting(ctx); err != nil || n != 1 {
		t.Fatalf("waiting after the first pass: %d, %v; want c-busy only", n, err)
	}
	if err := d.execWrite(ctx, `UPDATE messages SET status = 2, finished_at = ?1 WHERE id = 'busy'`, now); err != nil {
		t.Fatal(err)
	}
	if res, err := d.ResolveDependencies(ctx, p); err != nil || res.Released != 1 {
		t.Fatalf("after busy completed: %+v, %v; want c-busy released", res, err)
	}
}
