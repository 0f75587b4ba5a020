package queuesqlite_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// destLog is a slog handler that counts warnings per message and
// destination attribute.
type destLog struct {
	mu sync.Mutex
	n  map[[2]string]int
}

func (l *destLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *destLog) Handle(_ context.Context, r slog.Record) error {
	dest := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "destination" {
			dest = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[[2]string{r.Message, dest}]++
	return nil
}
func (l *destLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *destLog) WithGroup(string) slog.Handler      { return l }

func (l *destLog) count(msg, dest string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[[2]string{msg, dest}]
}

// TestQueue_LogsOnceADestinationNoProcessHandles: messages waiting for a
// destination that no handler serves are logged once per destination, not
// at every look, and never for a destination this process serves.
func TestQueue_LogsOnceADestinationNoProcessHandles(t *testing.T) {
	t.Parallel()
	const warning = "messages wait for a destination that no process handles"
	logs := &destLog{n: map[[2]string]int{}}
	cfg := fast()
	cfg.Logger = slog.New(logs)
	cfg.MaintenanceInterval = 5 * time.Millisecond // looks every 150ms, warns after 300ms without progress
	q, _ := setup(t, cfg)
	q.Handle("served", func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	start(t, q)
	send(t, q, queuesqlite.NewMessage("nobody", 1), nil)
	send(t, q, queuesqlite.NewMessage("nobody", 2), nil)
	wait(t, q, send(t, q, queuesqlite.NewMessage("served", 3), nil))
	eventually(t, "the warning for nobody", func() bool { return logs.count(warning, "nobody") > 0 })
	// A second stuck destination is noticed after further looks; by then
	// the first must still have been logged once only.
	send(t, q, queuesqlite.NewMessage("nobody-either", 4), nil)
	eventually(t, "the warning for nobody-either", func() bool { return logs.count(warning, "nobody-either") > 0 })
	// Restarting keeps the once-per-queue promise.
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	start(t, q)
	send(t, q, queuesqlite.NewMessage("nobody-third", 5), nil)
	eventually(t, "the warning for nobody-third", func() bool { return logs.count(warning, "nobody-third") > 0 })
	for _, dest := range []string{"nobody", "nobody-either", "nobody-third"} {
		if n := logs.count(warning, dest); n != 1 {
			t.Errorf("destination %s logged %d times, want once", dest, n)
		}
	}
	if n := logs.count(warning, "served"); n != 0 {
		t.Errorf("the served destination was logged %d times", n)
	}
}
