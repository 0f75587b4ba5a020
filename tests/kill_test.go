package tests

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// Test 1: a child works a queue with 32 workers and a short lease while the
// parent SIGKILLs it at random moments and starts it again, many times,
// then lets it finish. Every message must end completed, none may be lost,
// and a message may run more than once only if it was in flight (leased,
// "processing") when a kill came.
func TestKill9Soak(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	n, kills := size.soakMessages, size.soakKills
	createQueue(t, qdir, 0, n, "job")
	raw := openRaw(t, qdir)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed))
	// The lease is what a killed life's messages wait before they run again;
	// a live child renews it every Lease/3. At 3s a heavily loaded machine
	// still renews in time (a lease lost by a live child would show as a
	// duplicate that no kill explains).
	spec := workerSpec{Dir: qdir, Records: dir, Workers: 32, Lease: 3 * time.Second, Maintenance: 100 * time.Millisecond,
		MaxAttempts: 1000, StopAfter: 10 * time.Second, Handlers: map[string]string{"job": "record"}, WorkFor: 2 * time.Millisecond}
	// Each life is killed after a random number of new records: on average
	// half the messages are worked under fire, the rest by the final life.
	perLife := max(n/(2*kills), 1)
	var lives []*child
	interrupted := map[string]int{} // message id -> kills that found it in flight
	inFlight := 0
	start := time.Now()
	topUps := 0
	for k := range kills {
		// A life is killed after up to 2*perLife new records, but the child
		// keeps working until the kill lands, and more so when this process
		// is starved of CPU: keep enough work queued that every life has
		// some to be killed in, whatever the machine's speed.
		if left := n - raw.counts()[queuesqlite.StatusCompleted]; left < 4*perLife {
			more := 4*perLife - left
			sendMore(t, qdir, more, "job")
			n, topUps = n+more, topUps+1
		}
		spec.Name = fmt.Sprint("life", k)
		c := startChild(t, dir, spec.Name, "worker", spec)
		lives = append(lives, c)
		c.waitLine("ready")
		target := recordCount(dir) + rng.IntN(2*perLife+1)
		waitAlive(t, "the child to make progress", func() bool { return recordCount(dir) >= target }, c)
		c.kill()
		if !killedBy(c.state, syscall.SIGKILL) {
			t.Fatalf("life %d ended with %v, not by SIGKILL\n%s", k, c.state, c.stderrTail())
		}
		ids := raw.ids("status = ?", queuesqlite.StatusProcessing)
		inFlight += len(ids)
		for _, id := range ids {
			interrupted[id]++
		}
	}
	spec.Name = "final"
	c := startChild(t, dir, spec.Name, "worker", spec)
	lives = append(lives, c)
	waitAlive(t, "every message completed", func() bool { return raw.counts()[queuesqlite.StatusCompleted] == n }, c)
	elapsed := time.Since(start)
	c.signal(syscall.SIGTERM)
	if st := c.wait(); !c.exitedCleanly(st) {
		t.Errorf("final life ended with %v\n%s", st, c.stderrTail())
	}

	counts := raw.counts()
	rows := raw.rows("1")
	recs := readRecords(t, dir)
	lost, dups, unexplained, maxRuns := 0, 0, 0, 1
	for id, r := range rows {
		rs := recs[id]
		if len(rs) == 0 || r.Status != queuesqlite.StatusCompleted {
			lost++
			t.Errorf("message %s lost: status %s, %d runs", id, r.Status, len(rs))
			continue
		}
		dups += len(rs) - 1
		maxRuns = max(maxRuns, len(rs))
		if len(rs) > 1 && interrupted[id] == 0 {
			unexplained++
			t.Errorf("message %s ran %d times without being in flight at any kill: %v", id, len(rs), rs)
		}
		attempts := make([]int, len(rs))
		for i, x := range rs {
			attempts[i] = x.Attempt
		}
		slices.Sort(attempts)
		if len(slices.Compact(slices.Clone(attempts))) != len(attempts) {
			t.Errorf("message %s: one attempt number ran twice: %v", id, attempts)
		}
		if last := attempts[len(attempts)-1]; r.Attempt != last {
			t.Errorf("message %s: stored attempt %d, but the completing run was attempt %d", id, r.Attempt, last)
		}
	}
	busy := 0
	for _, l := range lives {
		busy += l.busyLogs()
	}
	t.Logf("%d messages (%d top-ups), 32 workers, lease %v: kills %d, in flight at kills %d, lost %d, duplicates %d (messages interrupted %d, most runs of one message %d), busy/locked in the workers' logs %d, time to finish %v (%.0f messages/s); stored %s",
		n, topUps, spec.Lease, kills, inFlight, lost, dups, len(interrupted), maxRuns, busy, elapsed.Round(time.Millisecond),
		float64(n)/elapsed.Seconds(), fmtCounts(counts))
	if len(rows) != n || counts[queuesqlite.StatusCompleted] != n {
		t.Errorf("stored %d messages (%s), want %d completed", len(rows), fmtCounts(counts), n)
	}
	if dups > inFlight {
		t.Errorf("%d duplicates, more than the %d messages in flight at the kills", dups, inFlight)
	}
	if lost != 0 || unexplained != 0 {
		t.Errorf("lost %d, unexplained duplicates %d", lost, unexplained)
	}
	if t.Failed() {
		t.Logf("random seed %d", seed)
	}
}
