package tests

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// leaderSpec configures the "leader" child role: a process that runs a
// queue and reports, on stdout, who leads its shared maintenance.
type leaderSpec struct {
	Dir         string
	Store       string // a backendtest store spec; when set, used instead of Dir
	Lease       time.Duration
	Maintenance time.Duration // Config.MaintenanceInterval
}

// leaderRole starts a queue and prints "status self=<bool> leader=<owner>"
// whenever what it sees changes. On the stdin line "report" it prints
// "report self=<bool> leader=<owner> passes=<n>" (n: the shared maintenance
// passes this process has run); on "stop", or when stdin ends, it stops,
// closes the queue and prints "stopped".
func leaderRole() int {
	var spec leaderSpec
	if err := readSpec(&spec); err != nil {
		say("error spec: %v", err)
		return 2
	}
	cfg := &queuesqlite.Config{Lease: spec.Lease,
		MaintenanceInterval: spec.Maintenance, CleanupInterval: spec.Maintenance, Logger: childLogger()}
	var q *queuesqlite.Queue
	var err error
	if spec.Store != "" {
		q, err = backendtest.OpenSpec(spec.Store, cfg)
	} else {
		q, err = queuesqlite.Open(spec.Dir, cfg)
	}
	if err != nil {
		say("error open: %v", err)
		return 1
	}
	noop := func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil }
	if err := q.Handle("job", noop, nil); err != nil {
		say("error handle: %v", err)
		return 1
	}
	if err := q.Start(context.Background()); err != nil {
		say("error start: %v", err)
		return 1
	}
	done := make(chan struct{})
	go watchLeader(q, spec.Lease/10, done)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() && sc.Text() != "stop" {
		if sc.Text() == "report" {
			info, err := q.Leader(context.Background())
			if err != nil {
				say("error leader: %v", err)
				continue
			}
			say("report self=%v leader=%s passes=%d", info.Self, info.Leader, info.SharedPasses)
		}
	}
	close(done)
	if err := q.Stop(context.Background()); err != nil {
		say("error stop: %v", err)
	}
	if err := q.Close(); err != nil {
		say("error close: %v", err)
		return 1
	}
	say("stopped")
	return 0
}

// watchLeader prints a status line whenever the leadership seen changes.
func watchLeader(q *queuesqlite.Queue, every time.Duration, done <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := ""
	for {
		if info, err := q.Leader(context.Background()); err == nil {
			if s := fmt.Sprintf("status self=%v leader=%s", info.Self, info.Leader); s != last {
				say("%s", s)
				last = s
			}
		}
		select {
		case <-t.C:
		case <-done:
			return
		}
	}
}

// leaderReport is a child's answer to "report".
type leaderReport struct {
	self   bool
	leader string
	passes int64
}

func report(t *testing.T, c *child) leaderReport {
	t.Helper()
	n := len(c.matching("report "))
	c.send("report")
	line := c.waitLines("report ", n+1)[n]
	var r leaderReport
	for _, f := range strings.Fields(strings.TrimPrefix(line, "report ")) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "self":
			r.self = v == "true"
		case "leader":
			r.leader = v
		case "passes":
			r.passes, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return r
}

// waitReport asks c for reports until cond holds, within waitDeadline.
func waitReport(t *testing.T, c *child, what string, cond func(leaderReport) bool) leaderReport {
	t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for {
		r := report(t, c)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no report with %s within %v (last %+v)", c.name, what, waitDeadline, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLeader_KilledLeaderIsReplaced: three processes share a queue; one
// leads and only it runs the shared maintenance. SIGKILLed, it cannot
// resign: another process takes over once the dead leader's heartbeat has
// stood still for a lease, and exactly one does.
func TestLeader_KilledLeaderIsReplaced(t *testing.T) {
	dir := t.TempDir()
	const lease = 2 * time.Second
	spec := leaderSpec{Dir: dir, Lease: lease, Maintenance: 50 * time.Millisecond}
	first := startChild(t, dir, "first", "leader", spec)
	first.waitLine("status self=true")
	others := []*child{startChild(t, dir, "second", "leader", spec), startChild(t, dir, "third", "leader", spec)}
	for _, c := range others {
		c.waitLine("status self=false leader=")
	}
	lead := report(t, first)
	// The leader keeps running shared passes while the others run none.
	waitReport(t, first, "more shared passes", func(r leaderReport) bool { return r.passes >= lead.passes+5 })
	for _, c := range others {
		if r := report(t, c); r.self || r.leader != lead.leader || r.passes != 0 {
			t.Fatalf("%s while %s leads: %+v, want a follower with no shared passes", c.name, lead.leader, r)
		}
	}

	first.kill()
	killed := time.Now()
	var next, rest *child
	for next == nil {
		for i, c := range others {
			if len(c.matching("status self=true")) > 0 {
				next, rest = c, others[1-i]
			}
		}
		if next == nil {
			if time.Since(killed) > waitDeadline {
				t.Fatalf("no process took over within %v of the leader's SIGKILL", waitDeadline)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	took := time.Since(killed)
	t.Logf("%s took over %v after the leader was killed (lease %v: %.2f leases)", next.name,
		took.Round(time.Millisecond), lease, took.Seconds()/lease.Seconds())

	nr := waitReport(t, next, "shared passes as the new leader", func(r leaderReport) bool { return r.passes > 0 })
	if !nr.self || nr.leader == lead.leader {
		t.Fatalf("%s after the takeover: %+v", next.name, nr)
	}
	rr := waitReport(t, rest, "the new leader", func(r leaderReport) bool { return r.leader == nr.leader })
	if rr.self || rr.passes != 0 {
		t.Fatalf("%s beside the new leader %s: %+v, want a follower with no shared passes", rest.name, nr.leader, rr)
	}
	for _, c := range []*child{next, rest} {
		c.send("stop")
		if st := c.wait(); !c.exitedCleanly(st) {
			t.Fatalf("%s exited %v\n%s", c.name, st, c.stderrTail())
		}
	}
}
