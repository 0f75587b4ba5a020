package tests

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// The host tests: every host is a network namespace of its own (package
// netlab) running its own processes, and they share one queue on a
// PostgreSQL server the test starts. A host can be cut off the network,
// its processes killed, the server restarted.

// hostWorker is the worker of the host tests: short leases, fast
// maintenance, attempts enough that kills never fail a message.
func hostWorker(workers int, handlers map[string]string) workerSpec {
	return workerSpec{Workers: workers, Lease: hostsLease, Maintenance: hostsMaintenance, MaxAttempts: 1000,
		StopAfter: 10 * time.Second, Handlers: handlers}
}

// TestHosts_ExactlyOnce: three worker hosts and a sender host share a
// queue; the sender sends in batches and singles. Nothing fails, so every
// message runs exactly once (one record, attempt 1) and is completed, with
// the result of the worker that ran it.
func TestHosts_ExactlyOnce(t *testing.T) {
	h := newHostLab(t, 4)
	const n = 3000
	spec := hostWorker(8, map[string]string{"job": "record"})
	spec.WorkFor = time.Millisecond
	var workers []*child
	pids := map[int]string{}
	for i := range 3 {
		c, pid := h.worker(i, fmt.Sprint("worker", i), spec)
		workers, pids[pid] = append(workers, c), c.name
	}
	start := time.Now()
	sender := h.stream(3, "sender", streamSpec{Count: n, Batch: 50, Singles: 10, Timeout: waitDeadline})
	sender.waitLine("done ")
	sent := time.Since(start)
	ids := ackedIDs(sender)
	waitFor(t, "every message completed", func() bool { return h.allCompleted(n) }, workers...)
	took := time.Since(start)
	stopChildren(t, workers...)

	if len(ids) != n || len(sender.matching("senderr")) > 0 {
		t.Fatalf("sender: %d acknowledged, want %d; errors %q", len(ids), n, sender.matching("senderr"))
	}
	msgs, recs := h.messages(), readRecords(t, h.dir)
	tally := tallyRuns(t, recs, ids, nil)
	perWorker := map[string]int{}
	for _, id := range ids {
		m := msgs[id]
		if m == nil || m.Status != queuesqlite.StatusCompleted || m.Attempt != 1 {
			t.Errorf("message %s: %+v, want completed at attempt 1", id, m)
			continue
		}
		if rs := recs[id]; len(rs) == 1 && resultPID(m) != rs[0].PID {
			t.Errorf("message %s: result of pid %d, run by %d", id, resultPID(m), rs[0].PID)
		}
		perWorker[pids[resultPID(m)]]++
	}
	if len(msgs) != n {
		t.Errorf("%d messages stored, want %d", len(msgs), n)
	}
	t.Logf("%d messages from a sender host (batches of 50 and singles) run by 3 worker hosts in %v (sent in %v): runs %d, duplicates %d, per worker %v",
		n, took.Round(time.Millisecond), sent.Round(time.Millisecond), tally.runs, tally.dups, perWorker)
}

// TestHosts_WorkerKilled: while a sender host streams work to three worker
// hosts, the worker of one host is SIGKILLed again and again (and started
// again). Nothing is lost; a message runs more than once only if the
// killed process held it at the kill.
func TestHosts_WorkerKilled(t *testing.T) {
	h := newHostLab(t, 4)
	const kills = 6
	spec := hostWorker(4, map[string]string{"job": "record"})
	spec.WorkFor = 5 * time.Millisecond
	var steady []*child
	for i := 1; i <= 2; i++ {
		c, _ := h.worker(i, fmt.Sprint("steady", i), spec)
		steady = append(steady, c)
	}
	sender := h.stream(3, "sender", streamSpec{Batch: 20, Singles: 5, Timeout: waitDeadline, Pace: 20 * time.Millisecond})
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed))
	interrupted := map[string]int{}
	alive := append([]*child{sender}, steady...)
	for k := range kills {
		victim, pid := h.worker(0, fmt.Sprint("victim", k), spec)
		target := 20 + rng.IntN(100)
		waitFor(t, "the victim to make progress", func() bool { return recordCountOf(h.dir, victim.name) >= target },
			append(alive, victim)...)
		victim.kill()
		if !killedBy(victim.state, syscall.SIGKILL) {
			t.Fatalf("%s ended with %v, not by SIGKILL\n%s", victim.name, victim.state, victim.stderrTail())
		}
		for _, m := range h.messages() {
			if m.Status == queuesqlite.StatusProcessing && ownedBy(m.LeaseOwner, pid) {
				interrupted[m.ID]++
			}
		}
	}
	last, _ := h.worker(0, "victim-last", spec)
	sender.send("stop")
	sender.waitLine("done ")
	ids := ackedIDs(sender)
	drain := waitFor(t, "every message completed", func() bool { return h.allCompleted(len(ids)) }, append(steady, last)...)
	stopChildren(t, append(steady, last)...)

	if errs := sender.matching("senderr"); len(errs) > 0 {
		t.Errorf("sender errors with the server up: %q", errs)
	}
	tally := tallyRuns(t, readRecords(t, h.dir), ids, interrupted)
	msgs := h.messages()
	for _, id := range ids {
		if m := msgs[id]; m == nil || m.Status != queuesqlite.StatusCompleted {
			t.Errorf("message %s: %+v, want completed", id, m)
		}
	}
	t.Logf("%d messages, %d kills of one worker host's process, in flight at the kills %d, duplicates %d, unexplained %d; drained %v after the last kill (seed %d)",
		len(ids), kills, len(interrupted), tally.dups, tally.unexplained, drain.Round(time.Millisecond), seed)
}

// TestHosts_WorkerCutOff: a worker host holding leases (handlers that hold
// until their context ends) is cut off the network. Its leases expire by
// its heartbeat standing still; another host takes the leadership and runs
// the messages. When the link comes back, the cut host's handlers learn
// they lost their leases (ErrLeaseLost) and their late results are
// refused: the stored outcome stays the other host's.
func TestHosts_WorkerCutOff(t *testing.T) {
	h := newHostLab(t, 2)
	const n = 8
	h.send("slow", n)
	cut, _ := h.worker(0, "cut", hostWorker(n, map[string]string{"slow": "hold"}))
	cut.waitLines("holding ", n)
	rescuer, rescuerPID := h.worker(1, "rescuer", hostWorker(n, map[string]string{"slow": "record"}))
	h.host(0).Cut()
	cutAt := time.Now()
	tookOver := waitFor(t, "the other host to complete every message", func() bool { return h.allCompleted(n) }, rescuer, cut)
	before := h.messages()
	h.host(0).Heal()
	healed := time.Now()
	cancelled := cut.waitLines("cancelled ", n)
	learnt := time.Since(healed)
	stopChildren(t, cut) // Stop records whatever the late handlers returned
	after := h.messages()
	stopChildren(t, rescuer)

	refused := strings.Count(cut.stderrText(), "outcome not recorded: lease lost")
	t.Logf("%d messages held by the cut host; run by the other host %v after the cut (lease %v); after the heal its handlers learnt in %v: %d saw ErrLeaseLost, %d late outcomes refused",
		n, tookOver.Round(time.Millisecond), hostsLease, learnt.Round(time.Millisecond), countLeaseLost(cancelled), refused)
	_ = cutAt
	if got := countLeaseLost(cancelled); got != n {
		t.Errorf("%d of %d cut-off handlers learnt they lost the lease: %q", got, n, cancelled)
	}
	if refused != n {
		t.Errorf("%d late outcomes reported refused, want %d\n%s", refused, n, cut.stderrTail())
	}
	same := func(a, b *queuesqlite.Message) bool {
		return a.Status == b.Status && a.Attempt == b.Attempt && string(a.Result) == string(b.Result) && a.FinishedAt.Equal(b.FinishedAt)
	}
	if !maps.EqualFunc(before, after, same) {
		t.Errorf("the cut host's late completions changed the queue")
	}
	recs := readRecords(t, h.dir)
	for id, m := range after {
		if m.Status != queuesqlite.StatusCompleted || m.Attempt != 2 || resultPID(m) != rescuerPID || len(recs[id]) != 2 {
			t.Errorf("message %s: %s attempt %d result %s runs %v; want completed by the other host (pid %d) as attempt 2",
				id, m.Status, m.Attempt, m.Result, recs[id], rescuerPID)
		}
	}
}

// keysOf lists a map's keys, sorted.
func keysOf[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
