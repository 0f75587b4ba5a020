package tests

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// Test 5: SIGTERM reaches a worker process while its handlers run, half of
// them ignoring their context. The process calls Stop with a deadline and
// exits once it has passed, without waiting for the stubborn ones; nothing is left "processing"
// under a live lease; the unfinished messages run again after a restart,
// without the interrupted attempt being charged.
// exitSlack bounds how long after its stop deadline a drained worker
// process may take to exit: generous for a loaded machine.
const exitSlack = 10 * time.Second

func TestGracefulDrain_ReleasesUnfinishedWorkUncharged(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	const workers, waiting = 8, 4
	sendDrainWork(t, qdir, workers/2, waiting)
	raw := openRaw(t, qdir)
	stopAfter := time.Second
	spec := workerSpec{Dir: qdir, Records: dir, Name: "drained", Workers: workers, Lease: time.Minute,
		StopAfter: stopAfter, Handlers: map[string]string{"polite": "polite", "stubborn": "stubborn"}}
	c := startChild(t, dir, spec.Name, "worker", spec)
	c.waitLines("started ", workers)
	inFlight := raw.counts()[queuesqlite.StatusProcessing]
	c.signal(syscall.SIGTERM)
	termAt := time.Now()
	st := c.wait()
	took := time.Since(termAt)
	if !c.exitedCleanly(st) || len(c.matching("stopped")) != 1 {
		t.Errorf("drained worker ended with %v\n%s", st, c.stderrTail())
	}
	dbtest.CheckNoLiveLeaseAfterStop(t, qdir, time.Now())
	released := raw.rows("1")
	charged := 0
	for id, r := range released {
		if r.Status != queuesqlite.StatusPending || r.Attempt != 0 {
			charged++
			t.Errorf("message %s after stop: %s attempt %d, want pending with no attempt charged", id, r.Status, r.Attempt)
		}
	}

	spec.Name = "restarted"
	spec.Handlers = map[string]string{"polite": "record", "stubborn": "record"}
	again := startChild(t, dir, spec.Name, "worker", spec)
	waitAlive(t, "every message completed after restart", func() bool {
		return raw.counts()[queuesqlite.StatusCompleted] == workers+waiting
	}, again)
	again.signal(syscall.SIGTERM)
	if st := again.wait(); !again.exitedCleanly(st) {
		t.Errorf("restarted worker ended with %v\n%s", st, again.stderrTail())
	}
	recs := readRecords(t, dir)
	t.Logf("SIGTERM with %d handlers in flight (%d ignoring ctx) and %d waiting: exited after %v (Stop deadline %v; the child's own timing: %s); charged attempts %d; after restart %d of %d ran once as attempt 1",
		inFlight, workers/2, waiting, took.Round(time.Millisecond), stopAfter, strings.Join(c.matching("stopped"), ""), charged, len(recs), workers+waiting)
	// The stop deadline is honoured: the process does not wait for the
	// handlers that ignore their context (they never return). How soon
	// after the deadline it exits depends on the machine's load (about
	// 200ms idle), so the bound is generous: only a stop that waited for
	// the stubborn handlers, or a hang, exceeds it.
	if took > stopAfter+exitSlack {
		t.Errorf("exited %v after SIGTERM, more than the stop deadline %v plus %v", took, stopAfter, exitSlack)
	}
	if inFlight != workers {
		t.Errorf("%d messages in flight at SIGTERM, want %d", inFlight, workers)
	}
	for id := range released {
		if rs := recs[id]; len(rs) != 1 || rs[0].Attempt != 1 {
			t.Errorf("message %s after restart: runs %v, want one run as attempt 1", id, rs)
		}
	}
}

// sendDrainWork sends, in this order, polite then stubborn messages (n of
// each, enough to fill the workers) and then waiting more polite ones that
// no worker will be free to start.
func sendDrainWork(t *testing.T, qdir string, n, waiting int) {
	t.Helper()
	q, err := queuesqlite.Open(qdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var ms []*queuesqlite.Message
	for range n {
		ms = append(ms, queuesqlite.NewMessage("polite", nil))
	}
	for range n {
		ms = append(ms, queuesqlite.NewMessage("stubborn", nil))
	}
	for range waiting {
		ms = append(ms, queuesqlite.NewMessage("polite", nil))
	}
	if _, err := q.SendBatch(context.Background(), ms, nil); err != nil {
		t.Fatal(err)
	}
}
