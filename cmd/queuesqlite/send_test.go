package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

func TestSend_StatsRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	id1 := strings.TrimSpace(ok(t, "send", "--dir", dir, "--shards", "2", "resize", `{"url":"a.jpg"}`, "--priority", "urgent", "--ttl", "1m"))
	id2 := strings.TrimSpace(ok(t, "send", "--dir", dir, "resize", `[1,2]`, "--delay", "1h", "--max-attempts", "7"))
	id3 := strings.TrimSpace(ok(t, "send", "--dir", dir, "email", `"x"`, "--id", "order-42"))
	if id1 == "" || id2 == "" || id1 == id2 || id3 != "order-42" {
		t.Fatalf("printed ids %q, %q, %q; want two distinct ids and order-42", id1, id2, id3)
	}

	var st statsJSON
	if err := json.Unmarshal([]byte(ok(t, "stats", "--dir", dir, "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if r := st.ByDestination["resize"]; r["pending"] != 1 || r["scheduled"] != 1 || st.ByDestination["email"]["pending"] != 1 || len(st.Shards) != 2 {
		t.Errorf("stats after send: %+v; want resize 1 pending + 1 scheduled, email 1 pending, 2 shards", st)
	}

	q, _ := openDir(t, dir, nil)
	m1, m2 := get(t, q, id1), get(t, q, id2)
	if m1.Priority != queuesqlite.PriorityUrgent || m1.ExpireAt.Sub(m1.CreatedAt) != time.Minute || string(m1.Content) != `{"url":"a.jpg"}` {
		t.Errorf("first message: priority %s, expires %v after creation, content %s", m1.Priority, m1.ExpireAt.Sub(m1.CreatedAt), m1.Content)
	}
	if m2.Status != queuesqlite.StatusScheduled || m2.RunAt.Sub(m2.CreatedAt) != time.Hour || m2.MaxAttempts != 7 || m2.Priority != queuesqlite.PriorityNormal {
		t.Errorf("second message: %s, runs %v after creation, max attempts %d, priority %s", m2.Status, m2.RunAt.Sub(m2.CreatedAt), m2.MaxAttempts, m2.Priority)
	}
}

func TestSend_DuplicateID(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	ok(t, "send", "--dir", dir, "email", `{}`, "--id", "same")
	fails(t, "duplicate", "send", "--dir", dir, "email", `{}`, "--id", "same")
	q, _ := openDir(t, dir, nil)
	st, err := q.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.ByStatus[queuesqlite.StatusPending] != 1 {
		t.Errorf("%d pending after a refused duplicate, want 1", st.ByStatus[queuesqlite.StatusPending])
	}
}

// TestSend_WorkerHandlerDecidesMaxAttempts: a message sent from the shell
// without --max-attempts runs as often as the worker's handler allows.
func TestSend_WorkerHandlerDecidesMaxAttempts(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	id := strings.TrimSpace(ok(t, "send", "--dir", dir, "flaky", `{}`))
	q, _ := openDir(t, dir, &queuesqlite.Config{Workers: 2, Backoff: func(int) time.Duration { return time.Millisecond }})
	var runs atomic.Int32
	q.Handle("flaky", func(context.Context, *queuesqlite.Message) (any, error) {
		runs.Add(1)
		return nil, errors.New("always fails")
	}, &queuesqlite.HandlerOpts{MaxAttempts: 2})
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), testDeadline)
	defer cancel()
	m, err := q.Wait(ctx, id)
	if err != nil || m.Status != queuesqlite.StatusFailed || m.Attempt != 2 || runs.Load() != 2 {
		t.Fatalf("message %+v, %v, ran %d times; want failed after 2 attempts", m, err, runs.Load())
	}
}
