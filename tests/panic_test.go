package tests

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// Test 4: a handler that always panics runs exactly MaxAttempts times, the
// message ends failed with the panic value and its stack stored, and the
// worker slot is freed after every panic: with a single worker, the
// messages sent after it still complete.
func TestPanickingHandler_RunsMaxAttemptsAndFreesTheWorker(t *testing.T) {
	dir := t.TempDir()
	checkAtEnd(t, dir)
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Workers: 1, MaintenanceInterval: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	const maxAttempts, jobs = 3, 20
	var panics, ran atomic.Int32
	if err := q.Handle("boom", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		panics.Add(1)
		panicOnPurpose(m.Attempt)
		return nil, nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: maxAttempts}); err != nil {
		t.Fatal(err)
	}
	if err := q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		ran.Add(1)
		return "ok", nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	boom, err := q.Send(ctx, queuesqlite.NewMessage("boom", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range jobs {
		id, err := q.Send(ctx, queuesqlite.NewMessage("job", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	failed, err := q.Wait(ctx, boom)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		m, err := q.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != queuesqlite.StatusCompleted {
			t.Errorf("job %s ended %s after the panics", id, m.Status)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("always-panicking handler: %d runs, ended %s at attempt %d/%d; %d of %d later jobs ran on the single worker; stored error (%d bytes) starts %q",
		panics.Load(), failed.Status, failed.Attempt, maxAttempts, ran.Load(), jobs, len(failed.LastError), firstLine(failed.LastError))
	if panics.Load() != maxAttempts || failed.Status != queuesqlite.StatusFailed || failed.Attempt != maxAttempts {
		t.Errorf("ran %d times, ended %s at attempt %d; want exactly %d runs, failed", panics.Load(), failed.Status, failed.Attempt, maxAttempts)
	}
	want := fmt.Sprintf("panic: handler panics on purpose (attempt %d)", maxAttempts)
	if !strings.Contains(failed.LastError, want) || !strings.Contains(failed.LastError, "panicOnPurpose") ||
		!strings.Contains(failed.LastError, "panic_test.go") {
		t.Errorf("stored error lacks the panic value or its stack:\n%s", failed.LastError)
	}
	if ran.Load() != jobs {
		t.Errorf("%d of %d jobs ran after the panics", ran.Load(), jobs)
	}
}

func panicOnPurpose(attempt int) {
	panic(fmt.Sprintf("handler panics on purpose (attempt %d)", attempt))
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
