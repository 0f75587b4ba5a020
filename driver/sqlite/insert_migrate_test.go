package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A file written before migration 0013 (route trigger, callback index of
// every message with a callback owner) upgrades with its rows: the
// finished message whose callback waits is still found, the pending one
// is not, and the trigger is gone (the inserts check routes themselves).
func TestMigrate_InsertCostsKeepCallbacksAndDropTheTrigger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, conn := fileBefore(t, ctx, path, "DROP TRIGGER messages_id_routed")
	defer old.Close()
	now := micros(time.Now())
	for id, status := range map[string]int{"waiting": 0, "finished": 2} {
		if _, err := conn.ExecContext(ctx, `INSERT INTO messages (id, status, destination, source, content, priority,
			created_at, updated_at, run_at, finished_at, max_attempts, callback_owner) VALUES (?1, ?2, 'd', 's', '{}', 1, ?3, ?3, ?3,
			CASE WHEN ?2 = 2 THEN ?3 END, 3, 'instance-1')`, id, status, now); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()

	d, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ms, err := d.Finished(ctx, "instance-1", 10)
	if err != nil || len(ms) != 1 || ms[0].ID != "finished" {
		t.Fatalf("finished messages waiting for instance-1 after the upgrade: %v, %v; want the finished one", ms, err)
	}
	var triggers int
	if err := d.read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_id_routed'`).
		Scan(&triggers); err != nil || triggers != 0 {
		t.Fatalf("route triggers after the upgrade: %d, %v; want none", triggers, err)
	}
}

// fileBefore creates an SQLite file at path with every migration applied
// up to, not including, the first whose text contains marker, and returns
// a connection to it (the caller closes both).
func fileBefore(t *testing.T, ctx context.Context, path, marker string) (*sql.DB, *sql.Conn) {
	t.Helper()
	old, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := old.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, step := range steps {
		if strings.Contains(step, marker) {
			break
		}
		if err := applyStep(ctx, conn, i+1, step); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
	return old, conn
}
