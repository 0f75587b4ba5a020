package tests

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// A pause set by one process holds in a worker process: messages of the
// paused destination sent after it never start there while it holds (the
// "y" message sent after them, which a claim would take after them,
// completes), and the resume reaches the worker through the change signal
// alone (its MaintenanceInterval is an hour: it never polls for work or
// pauses). The worker is made to read the pauses (Queue.Paused) before
// the messages are sent, since the stored pause is not part of the claim:
// one already under way when the pause committed may still take them.
func TestBackends_PauseReachesAnotherProcess(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		pauseReachesAnotherProcess(t, s)
	})
}

func pauseReachesAnotherProcess(t *testing.T, s backendtest.Store) {
	dir := t.TempDir()
	ctl := s.Open(t, nil) // creates the store before the worker opens it
	worker := startChild(t, dir, "worker", "worker", workerSpec{
		Store: s.Spec(), Records: dir, Name: "worker", Workers: 4, StopAfter: 5 * time.Second,
		Maintenance: time.Hour, Poll: 5 * time.Millisecond,
		Handlers: map[string]string{"x": "record", "y": "record"},
	})
	worker.waitLine("ready")

	ctx := context.Background()
	status := func(id string) queuesqlite.Status {
		m, err := ctl.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Status
	}
	if err := ctl.PauseDestination(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	// A claim the worker began before it saw the pause (its first one, or
	// one woken by an older change) may take what is sent after it: make
	// the worker read the pauses, after which it claims no x.
	worker.send("pauses")
	if got := worker.waitLine("pauses"); got != "pauses destination:x" {
		t.Fatalf("the worker reads pauses %q, want destination:x", got)
	}
	xs := sendTo(t, ctl, "x", 3)
	y := sendTo(t, ctl, "y", 1)[0]
	waitAlive(t, "the y message to complete", func() bool { return status(y) == queuesqlite.StatusCompleted }, worker)
	recs := readRecords(t, dir)
	for _, id := range xs {
		if len(recs[id]) != 0 || status(id) != queuesqlite.StatusPending {
			t.Fatalf("x message %s ran (%v) or is %v while paused; want pending, never run", id, recs[id], status(id))
		}
	}

	if err := ctl.ResumeDestination(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	waitAlive(t, "the x messages to complete after the resume", func() bool {
		for _, id := range xs {
			if status(id) != queuesqlite.StatusCompleted {
				return false
			}
		}
		return true
	}, worker)
	worker.signal(syscall.SIGTERM)
	if st := worker.wait(); !worker.exitedCleanly(st) {
		t.Errorf("worker ended with %v\n%s", st, worker.stderrTail())
	}
	recs = readRecords(t, dir)
	for _, id := range append(xs, y) {
		if len(recs[id]) != 1 {
			t.Errorf("message %s ran %d times, want once", id, len(recs[id]))
		}
	}
}

// sendTo sends n messages to dest through q.
func sendTo(t *testing.T, q *queuesqlite.Queue, dest string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id, err := q.Send(context.Background(), queuesqlite.NewMessage(dest, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}
