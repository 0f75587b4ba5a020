package tests

import (
	"encoding/json"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// Test 0 (issue 2): two OS processes share one queue directory, both send
// and both work; when nothing crashes every message runs exactly once, and
// the stored result is the one of that single run.
func TestTwoProcesses_EveryMessageRunsExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	createQueue(t, qdir, 0, 0, "job")
	n := size.multiMessages
	start := time.Now()
	var children []*child
	for _, name := range []string{"a", "b"} {
		children = append(children, startChild(t, dir, name, "worker", workerSpec{
			Dir: qdir, Records: dir, Name: name, Workers: 8, StopAfter: 5 * time.Second,
			Handlers: map[string]string{"job": "record"}, WorkFor: time.Millisecond, Send: n / 2,
		}))
	}
	for _, c := range children {
		c.waitLine("sent")
	}
	raw := openRaw(t, qdir)
	waitAlive(t, "every message completed", func() bool { return raw.counts()[queuesqlite.StatusCompleted] == n }, children...)
	elapsed := time.Since(start)
	for _, c := range children {
		c.signal(syscall.SIGTERM)
	}
	for _, c := range children {
		if st := c.wait(); !c.exitedCleanly(st) {
			t.Errorf("%s ended with %v\n%s", c.name, st, c.stderrTail())
		}
	}

	counts := raw.counts()
	recs := readRecords(t, dir)
	byPID := map[int]int{}
	rows := raw.rows("1")
	lost, dups := 0, 0
	for id, r := range rows {
		rs := recs[id]
		if len(rs) == 0 {
			lost++
			continue
		}
		dups += len(rs) - 1
		byPID[rs[0].PID]++
		if len(rs) != 1 || rs[0].Attempt != 1 || r.Attempt != 1 {
			t.Errorf("message %s: runs %v, stored attempt %d; want one run, attempt 1", id, rs, r.Attempt)
			continue
		}
		var res struct{ PID int }
		if err := json.Unmarshal([]byte(r.Result.String), &res); err != nil || res.PID != rs[0].PID {
			t.Errorf("message %s: result %q is not from the process that ran it (%d)", id, r.Result.String, rs[0].PID)
		}
	}
	t.Logf("2 processes, %d messages: %s; lost %d, duplicates %d; runs per process %v; busy/locked in their logs %d; time to finish %v",
		n, fmtCounts(counts), lost, dups, byPID, children[0].busyLogs()+children[1].busyLogs(), elapsed.Round(time.Millisecond))
	if total(counts) != n || counts[queuesqlite.StatusCompleted] != n {
		t.Errorf("stored %s, want %d completed", fmtCounts(counts), n)
	}
	if lost != 0 || dups != 0 || len(recs) != n {
		t.Errorf("lost %d, duplicates %d, %d messages ran (want %d, each once)", lost, dups, len(recs), n)
	}
	if len(byPID) != 2 {
		t.Errorf("runs per process %v: both processes should have worked", byPID)
	}
}
