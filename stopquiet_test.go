package queuesqlite_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// TestStop_GracefulStopLogsNoWarning: a graceful Stop interrupts the
// background upkeep (promotion, rescue, expiry, cleanup) in the middle of
// its storage calls, and the listener dispatcher in the middle of its own;
// what that interruption returns (context canceled) is
// the stop, not a failure, and must not be logged as a warning.
func TestStop_GracefulStopLogsNoWarning(t *testing.T) {
	t.Parallel()
	logs := &logCapture{}
	cfg := fast()
	cfg.Logger = slog.New(logs)
	cfg.MaintenanceInterval, cfg.CleanupInterval = time.Millisecond, time.Millisecond
	q, _ := setup(t, cfg)
	q.Handle("job", func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	q.Listen("k", func(context.Context, *queuesqlite.Change) error { return nil }, nil)
	const cycles = 40
	for i := range cycles {
		start(t, q)
		if _, err := q.SetListenData(context.Background(), "k", i); err != nil {
			t.Fatal(err)
		}
		later := queuesqlite.NewMessage("job", i)
		later.Delay = time.Hour // keeps the promoter looking
		send(t, q, later, nil)
		wait(t, q, send(t, q, queuesqlite.NewMessage("job", i), nil))
		ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if len(logs.msgs) > 0 {
		t.Fatalf("graceful stops logged %d warnings: %s", len(logs.msgs), strings.Join(logs.msgs, "; "))
	}
}
