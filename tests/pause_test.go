package tests

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// A pause set by one process reaches a worker in another through the
// change signal alone: the worker's MaintenanceInterval is an hour, so it
// never polls for work or for pauses, and every claim it makes is woken
// by a change, before which it reads the pauses again. Messages of the
// paused destination sent after the pause never start while it holds
// (the "y" message sent after them, which a claim would take after them,
// completes); the resume, again only signalled, lets them run. (A claim
// that read the pauses before the pause and is still under way may take
// such messages: the worker's first claim, not woken by a change, is
// waited out first.)
func TestTwoProcesses_PauseReachesAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	createQueue(t, qdir, 0, 0, "x")
	worker := startChild(t, dir, "worker", "worker", workerSpec{
		Dir: qdir, Records: dir, Name: "worker", Workers: 4, StopAfter: 5 * time.Second,
		Maintenance: time.Hour, Poll: 5 * time.Millisecond,
		Handlers: map[string]string{"x": "record", "y": "record"},
	})
	worker.waitLine("ready")

	ctx := context.Background()
	ctl, err := queuesqlite.Open(qdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	status := func(id string) queuesqlite.Status {
		m, err := ctl.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Status
	}
	// The worker's first claim (at its start) is not woken by a change, so
	// it may have read the pauses before the pause below and still be
	// under way after it: once a first message has run, that claim is over.
	probe := sendTo(t, ctl, "y", 1)[0]
	waitAlive(t, "the first y message to complete", func() bool { return status(probe) == queuesqlite.StatusCompleted }, worker)

	if err := ctl.PauseDestination(ctx, "x"); err != nil {
		t.Fatal(err)
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
