package tests

import (
	"fmt"
	"maps"
	"math/rand/v2"
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

// TestHosts_LeaderCutOff: three hosts share a queue and one leads its
// shared maintenance. Its host is cut off: another host takes the seat
// within about one lease (the cut leader cannot beat), and only one does.
// When the link comes back, the old leader sees the new one and follows.
func TestHosts_LeaderCutOff(t *testing.T) {
	h := newHostLab(t, 3)
	spec := leaderSpec{Store: h.store, Lease: hostsLease, Maintenance: hostsMaintenance}
	first := startChildIn(t, h.host(0), h.dir, "first", "leader", spec)
	first.waitLine("status self=true")
	others := []*child{startChildIn(t, h.host(1), h.dir, "second", "leader", spec),
		startChildIn(t, h.host(2), h.dir, "third", "leader", spec)}
	for _, c := range others {
		c.waitLine("status self=false leader=")
	}
	old := h.leader()
	h.host(0).Cut()
	var next, rest *child
	took := waitFor(t, "another host to lead", func() bool {
		for i, c := range others {
			if len(c.matching("status self=true")) > 0 {
				next, rest = c, others[1-i]
			}
		}
		return next != nil
	}, others...)
	nr := waitReport(t, next, "shared passes as the new leader", func(r leaderReport) bool { return r.passes > 0 })
	rr := waitReport(t, rest, "the new leader", func(r leaderReport) bool { return r.leader == nr.leader })
	now := h.leader()
	h.host(0).Heal()
	healed := time.Now()
	first.waitLine("status self=false leader=" + nr.leader)
	followed := time.Since(healed)
	t.Logf("%s led; its host cut off, %s led %v later (lease %v: %.2f leases); after the heal the old leader followed in %v",
		first.name, next.name, took.Round(time.Millisecond), hostsLease, took.Seconds()/hostsLease.Seconds(), followed.Round(time.Millisecond))

	if bound := hostsLease + hostsLease; took > bound { // one lease, and one more for a loaded machine
		t.Errorf("the new leader took %v, more than %v", took, bound)
	}
	if nr.leader == old.Leader || now.Leader != nr.leader || now.Term != old.Term+1 {
		t.Errorf("seat before the cut %q (term %d), after %q (term %d), the new leader reports %q; want a new owner in the next term",
			old.Leader, old.Term, now.Leader, now.Term, nr.leader)
	}
	if rr.self || rr.passes != 0 {
		t.Errorf("%s beside the new leader: %+v, want a follower with no shared passes", rest.name, rr)
	}
	for _, c := range append(others, first) {
		c.send("stop")
		if st := c.wait(); !c.exitedCleanly(st) {
			t.Errorf("%s exited %v\n%s", c.name, st, c.stderrTail())
		}
	}
}

// TestHosts_PostgresRestart: two worker hosts and a sender host work on
// while the server is restarted (as after a crash), then stopped for a
// gap longer than a lease and started again. Everyone reconnects on their
// own; while the server is down every Send returns an error (the sender
// counts them), and every message a Send acknowledged is stored and runs
// (exactly once: no process died, so nothing may be rescued).
func TestHosts_PostgresRestart(t *testing.T) {
	h := newHostLab(t, 3)
	spec := hostWorker(4, map[string]string{"job": "record"})
	spec.WorkFor = 2 * time.Millisecond
	var workers []*child
	for i := range 2 {
		c, _ := h.worker(i, fmt.Sprint("worker", i), spec)
		workers = append(workers, c)
	}
	sender := h.stream(2, "sender", streamSpec{Batch: 20, Singles: 5, Timeout: time.Second, Pace: 20 * time.Millisecond})
	alive := append([]*child{sender}, workers...)
	progress := func(what string) {
		t.Helper()
		acked, done := len(ackedIDs(sender)), h.counts()[queuesqlite.StatusCompleted]
		waitFor(t, what, func() bool {
			return len(ackedIDs(sender)) >= acked+200 && h.counts()[queuesqlite.StatusCompleted] >= done+200
		}, alive...)
	}
	progress("work to flow")
	errsAt := func() int { return len(sender.matching("senderr")) }
	e0 := errsAt()
	h.pg.Restart()
	e1 := errsAt()
	progress("work to flow after the restart")

	gap := 2*hostsLease + time.Second
	e2 := errsAt()
	h.pg.Stop()
	stopped := time.Now()
	waitFor(t, "sends to fail while the server is down", func() bool { return errsAt() > e2 && time.Since(stopped) >= gap }, alive...)
	e3 := errsAt()
	h.pg.Start()
	down := time.Since(stopped)
	progress("work to flow after the server came back")
	sender.send("stop")
	sender.waitLine("done ")
	ids := ackedIDs(sender)
	drain := waitFor(t, "every message completed", func() bool { return h.allCompleted(len(ids)) }, workers...)
	stopChildren(t, workers...)

	msgs := h.messages()
	for _, id := range ids {
		if m := msgs[id]; m == nil || m.Status != queuesqlite.StatusCompleted {
			t.Errorf("acknowledged message %s: %+v, want completed", id, m)
		}
	}
	tally := tallyRuns(t, readRecords(t, h.dir), ids, nil)
	t.Logf("%d messages acknowledged (%d stored: %d sent by calls that returned an error); send errors: %d during the restart, %d while down for %v, %d in all; duplicates %d; drained in %v",
		len(ids), len(msgs), len(msgs)-len(ids), e1-e0, e3-e2, down.Round(time.Millisecond), errsAt(), tally.dups, drain.Round(time.Millisecond))
	if e3 == e2 {
		t.Errorf("no Send failed while the server was down")
	}
	// A completion whose answer was lost with the server is tried again
	// and refused by the fence, though it had been stored: logged as "not
	// recorded", while the checks above show the message completed by that
	// very run. A rescue of a live worker would cancel its handlers.
	ambiguous, adopted := 0, 0
	for _, c := range workers {
		ambiguous += len(linesWith(c.stderrText(), "outcome not recorded: lease lost"))
		adopted += len(linesWith(c.stderrText(), "took back the messages of a claim"))
		if lost := linesWith(c.stderrText(), "lease lost; cancelling handler"); len(lost) > 0 {
			t.Errorf("%s lost leases though it never stopped beating for long:\n%s", c.name, strings.Join(lost, "\n"))
		}
	}
	t.Logf("completions stored but answered by an error, then refused on retry: %d; claims answered by an error whose messages were taken back: %d",
		ambiguous, adopted)
}

// TestHosts_SkewedClock: the leader host's queue runs with a clock 30 s
// ahead (Config.Clock: its stored and compared wall times are all off,
// not only its host's), while another host runs handlers that keep their
// messages for three leases. The leader steals no lease: every message
// runs once, at attempt 1, and no handler learns it lost its lease.
func TestHosts_SkewedClock(t *testing.T) {
	h := newHostLab(t, 2)
	const n, others = 8, 200
	const ahead = 30 * time.Second
	skewed := hostWorker(4, map[string]string{"other": "record"})
	skewed.ClockAhead = ahead
	fast, fastPID := h.worker(1, "ahead", skewed)
	lead := h.leader()
	if !ownedBy(lead.Leader, fastPID) {
		t.Fatalf("the seat is %q, not the skewed host's (pid %d)", lead.Leader, fastPID)
	}
	long := h.send("long", n)
	keeper := hostWorker(n, map[string]string{"long": "sleep"})
	keeper.WorkFor = 3 * hostsLease
	slow, slowPID := h.worker(0, "keeper", keeper)
	slow.waitLines("sleeping ", n)
	otherIDs := h.send("other", others)
	took := waitFor(t, "every message completed", func() bool { return h.allCompleted(n + others) }, fast, slow)
	after := h.leader()
	stopChildren(t, slow, fast)

	msgs, recs := h.messages(), readRecords(t, h.dir)
	tally := tallyRuns(t, recs, append(long, otherIDs...), nil)
	for _, id := range long {
		if m := msgs[id]; m.Attempt != 1 || resultPID(m) != slowPID {
			t.Errorf("long message %s: attempt %d, result %s; want attempt 1 by the keeper (pid %d)", id, m.Attempt, m.Result, slowPID)
		}
	}
	var skew time.Duration
	for _, id := range otherIDs {
		m := msgs[id]
		if m.Attempt != 1 || resultPID(m) != fastPID {
			t.Errorf("message %s: attempt %d, result %s; want attempt 1 by the skewed host (pid %d)", id, m.Attempt, m.Result, fastPID)
		}
		skew = max(skew, m.FinishedAt.Sub(m.CreatedAt))
	}
	t.Logf("the leader's clock %v ahead; %d messages kept %v (%d leases) by another host and %d run by the leader in %v: duplicates %d, handlers told of a lost lease %d, finish times up to %v after the send",
		ahead, n, keeper.WorkFor, int(keeper.WorkFor/hostsLease), others, took.Round(time.Millisecond), tally.dups, len(slow.matching("cancelled ")), skew.Round(time.Second))
	if skew < ahead/2 {
		t.Errorf("the skewed host's finish times are at most %v after the sends: its clock was not %v ahead", skew, ahead)
	}
	if c := slow.matching("cancelled "); len(c) > 0 {
		t.Errorf("the keeper's handlers were cancelled: %q", c)
	}
	if after.Leader != lead.Leader || after.Term != lead.Term {
		t.Errorf("the seat moved from %q (term %d) to %q (term %d): the skewed host should have led throughout",
			lead.Leader, lead.Term, after.Leader, after.Term)
	}
}

// linesWith returns the lines of text that contain sub.
func linesWith(text, sub string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}
