package tests

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// Test 2: a worker process holding leases is frozen with SIGSTOP. Once its
// leases expire, another process runs its messages. When the frozen one is
// thawed with SIGCONT, its handlers learn that they lost their leases
// (their context ends with ErrLeaseLost), and the results they return late
// change nothing: the completions are fenced.
func TestFrozenWorker_LosesItsLeasesAndIsFenced(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	const n = 8
	createQueue(t, qdir, 0, n, "slow")
	raw := openRaw(t, qdir)
	// Long enough that the frozen worker, while it still runs, renews its
	// leases in time even on a loaded machine (else it would rescue and
	// rerun its own messages before the freeze).
	lease := 2 * time.Second
	frozen := startChild(t, dir, "frozen", "worker", workerSpec{Dir: qdir, Records: dir, Name: "frozen", Workers: n,
		Lease: lease, Maintenance: 100 * time.Millisecond, StopAfter: 5 * time.Second, Handlers: map[string]string{"slow": "hold"}})
	frozen.waitLines("holding ", n)
	frozen.signal(syscall.SIGSTOP)
	frozenAt := time.Now()

	rescuer := startChild(t, dir, "rescuer", "worker", workerSpec{Dir: qdir, Records: dir, Name: "rescuer", Workers: n,
		Lease: lease, Maintenance: 100 * time.Millisecond, StopAfter: 5 * time.Second, Handlers: map[string]string{"slow": "record"}})
	waitAlive(t, "the rescuer to complete every message", func() bool {
		return raw.counts()[queuesqlite.StatusCompleted] == n
	}, rescuer, frozen)
	tookOver := time.Since(frozenAt)
	rescuer.signal(syscall.SIGTERM)
	if st := rescuer.wait(); !rescuer.exitedCleanly(st) {
		t.Errorf("rescuer ended with %v\n%s", st, rescuer.stderrTail())
	}
	before := raw.rows("1")

	frozen.signal(syscall.SIGCONT)
	cancelled := frozen.waitLines("cancelled ", n)
	frozen.signal(syscall.SIGTERM) // Stop records whatever the late handlers returned
	if st := frozen.wait(); !frozen.exitedCleanly(st) {
		t.Errorf("frozen worker ended with %v\n%s", st, frozen.stderrTail())
	}
	after := raw.rows("1")
	refused := strings.Count(frozen.stderrText(), "outcome not recorded: lease lost")
	t.Logf("%d messages held by the frozen worker; taken over %v after SIGSTOP (lease %v); after SIGCONT %d handlers saw ErrLeaseLost, %d late outcomes refused",
		n, tookOver.Round(time.Millisecond), lease, countLeaseLost(cancelled), refused)

	if got := countLeaseLost(cancelled); got != n {
		t.Errorf("%d of %d thawed handlers learnt they lost the lease: %q", got, n, cancelled)
	}
	if refused != n {
		t.Errorf("%d late outcomes reported refused, want %d\n%s", refused, n, frozen.stderrTail())
	}
	if !maps.Equal(before, after) {
		t.Errorf("the frozen worker's late completions changed the queue:\nbefore %v\nafter  %v", before, after)
	}
	recs := readRecords(t, dir)
	for id, r := range after {
		var res struct{ PID int }
		_ = json.Unmarshal([]byte(r.Result.String), &res)
		rs := recs[id]
		if r.Status != queuesqlite.StatusCompleted || r.Attempt != 2 || res.PID != rescuer.pid() || len(rs) != 2 {
			t.Errorf("message %s: %s attempt %d result %s runs %v; want completed by the rescuer (pid %d) as attempt 2",
				id, r.Status, r.Attempt, r.Result.String, rs, rescuer.pid())
		}
	}
}

func countLeaseLost(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, "leaselost=true") {
			n++
		}
	}
	return n
}
