package queuesqlite_test

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// testDeadline bounds every wait in the tests: long enough for a loaded CI
// machine, and never a measure of speed.
const testDeadline = 30 * time.Second

// setup opens a queue in a fresh directory. When the test ends the queue is
// closed and the files' invariants are checked.
func setup(t *testing.T, cfg *queuesqlite.Config) (*queuesqlite.Queue, string) {
	t.Helper()
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		dbtest.CheckInvariants(t, dir)
	})
	return q, dir
}

// fast is a config with short timings for tests.
func fast() *queuesqlite.Config {
	return &queuesqlite.Config{
		Workers: 4, MaintenanceInterval: 20 * time.Millisecond,
		Backoff:     func(int) time.Duration { return time.Millisecond },
		StopTimeout: 200 * time.Millisecond,
	}
}

// logCapture is a slog handler that keeps the messages logged at warning
// level and above, so tests can wait for a logged event.
type logCapture struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logCapture) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCapture) WithGroup(string) slog.Handler      { return l }

func (l *logCapture) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}

func start(t *testing.T, q *queuesqlite.Queue) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func send(t *testing.T, q *queuesqlite.Queue, m *queuesqlite.Message, cb queuesqlite.Callback) string {
	t.Helper()
	id, err := q.Send(context.Background(), m, cb)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// wait blocks until the message finishes, failing the test after the deadline.
func wait(t *testing.T, q *queuesqlite.Queue, id string) *queuesqlite.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	m, err := q.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait for %s: %v", id, err)
	}
	return m
}

// eventually polls cond until it holds, failing the test after the deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// callbacks collects callback invocations.
type callbacks struct {
	mu  sync.Mutex
	got map[string][]*queuesqlite.Message
	ch  chan *queuesqlite.Message
}

func newCallbacks() *callbacks {
	return &callbacks{got: map[string][]*queuesqlite.Message{}, ch: make(chan *queuesqlite.Message, 100000)}
}

func (c *callbacks) fn(m *queuesqlite.Message) {
	c.mu.Lock()
	c.got[m.ID] = append(c.got[m.ID], m)
	c.mu.Unlock()
	c.ch <- m
}

// next waits for the next callback.
func (c *callbacks) next(t *testing.T) *queuesqlite.Message {
	t.Helper()
	select {
	case m := <-c.ch:
		return m
	case <-time.After(testDeadline):
		t.Fatal("no callback arrived")
		return nil
	}
}

func (c *callbacks) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got[id])
}

// recorder records the order in which a handler saw messages.
type recorder struct {
	mu    sync.Mutex
	order []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.order = append(r.order, s)
	r.mu.Unlock()
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.order...)
}
