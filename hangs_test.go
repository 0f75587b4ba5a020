package queuesqlite_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// A handler that ignores its context past its Timeout must not hold its
// worker forever: after the grace its slot is freed, the attempt fails
// (counted against MaxAttempts), and when it finally returns its outcome
// is refused.
func TestQueue_HandlerIgnoringItsTimeoutIsAbandonedAndFails(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Workers = 1 // one slot: the others can only run if the stuck one's slot is freed
	logs := &logCapture{}
	cfg.Logger = slog.New(logs)
	q, _ := setup(t, cfg)
	block := make(chan struct{})
	late := make(chan struct{}, 2)
	q.Handle("stuck", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		<-block // ignores ctx
		late <- struct{}{}
		return "too late", nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 2, Timeout: 20 * time.Millisecond, TimeoutGrace: 30 * time.Millisecond})
	q.Handle("ok", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "fine", nil }, nil)
	start(t, q)
	stuck := send(t, q, queuesqlite.NewMessage("stuck", nil), nil)
	var others []string
	for range 3 {
		others = append(others, send(t, q, queuesqlite.NewMessage("ok", nil), nil))
	}
	for _, id := range others {
		if m := wait(t, q, id); m.Status != queuesqlite.StatusCompleted {
			t.Fatalf("other message %s: %s", id, m.Status)
		}
	}
	m := wait(t, q, stuck)
	if m.Status != queuesqlite.StatusFailed || m.Attempt != 2 || !strings.Contains(m.LastError, "ignored its timeout") {
		t.Fatalf("stuck message: status %s, attempt %d, error %q; want failed after 2 attempts, ignored its timeout",
			m.Status, m.Attempt, m.LastError)
	}
	if a := q.Abandoned(); a.HandlersTimedOut != 2 || a.Running != 2 {
		t.Fatalf("abandoned: %+v; want 2 timed-out handlers, 2 still running", a)
	}
	if !logs.has("handler ignored its timeout; abandoned it and freed its worker") {
		t.Fatal("the stuck handler was not logged")
	}
	close(block) // the stuck goroutines return at last: their outcomes are refused
	<-late
	<-late
	eventually(t, "the late handlers to be counted back", func() bool { return q.Abandoned().Running == 0 })
	if m, _ := q.Get(context.Background(), stuck); m.Status != queuesqlite.StatusFailed || m.Result != nil {
		t.Fatalf("after the late return: %s %s; want failed with no result", m.Status, m.Result)
	}
}
