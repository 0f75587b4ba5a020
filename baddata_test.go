package queuesqlite_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// plantBadRow damages one column of a stored message with raw SQL, as a
// foreign tool or a damaged byte might. Priorities outside 0..3 need the
// schema's CHECK constraints switched off for the statement.
func plantBadRow(t *testing.T, dir, id, set string) {
	t.Helper()
	db := dbtest.Open(t, dbtest.ShardFiles(t, dir)[0])
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`PRAGMA ignore_check_constraints = ON`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE messages SET `+set+` WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// TestClaim_UndecodableRowFailsAloneWithItsReason plants rows that cannot be
// decoded among good ones, so that they are claimed in the same batches: the
// good ones run and complete, each bad one is failed at once (attempt 1,
// never run) with an error naming its column and id, and its callback fires.
func TestClaim_UndecodableRowFailsAloneWithItsReason(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Workers, cfg.ClaimBatch = 8, 8
	q, dir := setup(t, cfg)
	var mu sync.Mutex
	ran := map[string]int{}
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		mu.Lock()
		ran[m.ID]++
		mu.Unlock()
		return "ok", nil
	}, nil)
	bad := []struct{ id, set, column string }{
		{"bad-tags", `tags = '{"not":"an array"'`, "tags"},
		{"bad-metadata", `metadata = 'not json'`, "metadata"},
		{"bad-content", `content = '{broken'`, "content"},
		{"bad-priority", `priority = 9`, "priority"},
	}
	cbs := newCallbacks()
	var good, all []string
	for i := range 16 {
		id := send(t, q, queuesqlite.NewMessage("job", i), cbs.fn)
		good, all = append(good, id), append(all, id)
		if i%4 == 1 { // one bad row among every four good ones
			b := bad[i/4]
			m := queuesqlite.NewMessage("job", "fine until damaged").SetMetadata(map[string]int{"a": 1})
			m.ID, m.Tags = b.id, []string{"x"}
			all = append(all, send(t, q, m, cbs.fn))
			plantBadRow(t, dir, b.id, b.set)
		}
	}
	start(t, q)
	for _, id := range good {
		if m := wait(t, q, id); m.Status != queuesqlite.StatusCompleted {
			t.Errorf("good message %s ended %s (%s)", id, m.Status, m.LastError)
		}
	}
	for _, b := range bad {
		id := b.id
		m := wait(t, q, id)
		if m.Status != queuesqlite.StatusFailed || m.Attempt != 1 {
			t.Errorf("bad message %s: status %s attempt %d, want failed on attempt 1", id, m.Status, m.Attempt)
		}
		if !strings.Contains(m.LastError, b.column) || !strings.Contains(m.LastError, id) {
			t.Errorf("bad message %s: error %q does not name the column %s and the id", id, m.LastError, b.column)
		}
	}
	eventually(t, "every callback", func() bool {
		for _, id := range all {
			if cbs.count(id) != 1 {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	for _, b := range bad {
		if ran[b.id] != 0 {
			t.Errorf("the handler ran the undecodable message %s", b.id)
		}
	}
	failed, err := q.ListFailed(context.Background(), "job", 0)
	if err != nil || len(failed) != len(bad) {
		t.Fatalf("ListFailed: %d messages, %v; want the %d bad ones", len(failed), err, len(bad))
	}
	// The planted priority breaks a CHECK constraint, which the invariants
	// checked at the end (integrity_check) would report: remove that row.
	db := dbtest.Open(t, dbtest.ShardFiles(t, dir)[0])
	if _, err := db.Exec(`DELETE FROM messages WHERE id = 'bad-priority'`); err != nil {
		t.Fatal(err)
	}
}

// TestClaim_UndecodableRowCallsBackInTheSendingProcess: the sender of a
// row that a worker elsewhere failed as undecodable still gets its
// callback (reading finished rows does not trip over the bad column).
func TestClaim_UndecodableRowCallsBackInTheSendingProcess(t *testing.T) {
	t.Parallel()
	producer, dir := setup(t, fast())
	cbs := newCallbacks()
	m := queuesqlite.NewMessage("job", 1)
	m.Tags = []string{"x"}
	id := send(t, producer, m, cbs.fn)
	good := send(t, producer, queuesqlite.NewMessage("job", 2), cbs.fn)
	plantBadRow(t, dir, id, `tags = 'not json'`)

	worker, err := queuesqlite.Open(dir, fast())
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Close()
	worker.Handle("job", func(context.Context, *queuesqlite.Message) (any, error) { return "ok", nil }, nil)
	start(t, worker)
	got := map[string]*queuesqlite.Message{}
	for range 2 {
		c := cbs.next(t)
		got[c.ID] = c
	}
	if c := got[id]; c == nil || c.Status != queuesqlite.StatusFailed || !strings.Contains(c.LastError, "column tags") {
		t.Errorf("callback of the bad row: %+v; want failed, naming the tags column", c)
	}
	if c := got[good]; c == nil || c.Status != queuesqlite.StatusCompleted {
		t.Errorf("callback of the good row: %+v; want completed", c)
	}
}
