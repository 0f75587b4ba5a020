package tests

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// periodicSpec configures the "periodic" child role.
type periodicSpec struct {
	Dir   string
	Lease time.Duration
	Start time.Time // the fake clock's start
}

// periodicJob is the job every process of the periodic test registers.
func periodicJob() queuesqlite.PeriodicJob {
	return queuesqlite.PeriodicJob{Name: "ping", Schedule: "* * * * *", Message: queuesqlite.NewMessage("ping", 1)}
}

// periodicRole runs a queue on a fake clock that starts at spec.Start and
// registers periodicJob, then prints "ready". Commands on stdin: "step"
// moves the clock a minute on and prints "stepped <n>"; "who" prints
// "who self=<bool>" (whether it leads); "stop", or the end of stdin, stops
// and closes the queue and prints "stopped".
func periodicRole() int {
	var spec periodicSpec
	if err := readSpec(&spec); err != nil {
		say("error spec: %v", err)
		return 2
	}
	var mu sync.Mutex
	now := spec.Start
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	q, err := queuesqlite.Open(spec.Dir, &queuesqlite.Config{Lease: spec.Lease, Clock: clock,
		MaintenanceInterval: 20 * time.Millisecond, Logger: childLogger()})
	if err != nil {
		say("error open: %v", err)
		return 1
	}
	if err := q.AddPeriodic(periodicJob()); err != nil {
		say("error add: %v", err)
		return 1
	}
	if err := q.Start(context.Background()); err != nil {
		say("error start: %v", err)
		return 1
	}
	say("ready")
	steps := 0
	for cmd := range commands() {
		if cmd == "stop" {
			break
		}
		switch cmd {
		case "step":
			mu.Lock()
			now = now.Add(time.Minute)
			mu.Unlock()
			steps++
			say("stepped %d", steps)
		case "who":
			info, err := q.Leader(context.Background())
			if err != nil {
				say("error leader: %v", err)
				continue
			}
			say("who self=%v", info.Self)
		}
	}
	if err := q.Close(); err != nil {
		say("error close: %v", err)
		return 1
	}
	say("stopped")
	return 0
}

// TestPeriodic_ThreeProcessesSendEachTickOnce: three processes register
// one every-minute job on clocks stepped together; each tick is sent once,
// also after the leader is SIGKILLed (it cannot resign; another process
// takes over once its heartbeat stood still for a lease) and goes on from
// the last tick stored.
func TestPeriodic_ThreeProcessesSendEachTickOnce(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)
	spec := periodicSpec{Dir: dir, Lease: 2 * time.Second, Start: start}
	obs, err := queuesqlite.Open(dir, nil) // not started: reads only
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { obs.Close() })
	if err := obs.AddPeriodic(periodicJob()); err != nil {
		t.Fatal(err)
	}
	var cs []*child
	for i := range 3 {
		c := startChild(t, dir, fmt.Sprintf("p%d", i), "periodic", spec)
		c.waitLine("ready")
		cs = append(cs, c)
	}
	waitStoredLast(t, obs, start)
	steps := 0
	step := func() {
		steps++
		for _, c := range cs {
			c.send("step")
		}
		for _, c := range cs {
			c.waitLines("stepped ", steps)
		}
		waitStoredLast(t, obs, start.Truncate(time.Minute).Add(time.Duration(steps)*time.Minute))
	}
	for range 3 {
		step()
	}
	leader := -1
	for i, c := range cs {
		n := len(c.matching("who "))
		c.send("who")
		if c.waitLines("who ", n+1)[n] == "who self=true" {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no process leads")
	}
	cs[leader].kill()
	cs = append(cs[:leader], cs[leader+1:]...)
	for range 3 {
		step()
	}
	ms, err := obs.List(context.Background(), &queuesqlite.ListOpts{Destination: "ping", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, m := range ms {
		seen[m.RunAt.UnixMicro()]++
	}
	for i := 1; i <= steps; i++ {
		if tick := start.Truncate(time.Minute).Add(time.Duration(i) * time.Minute); seen[tick.UnixMicro()] != 1 {
			t.Errorf("tick %s sent %d times, want once", tick.Format(time.TimeOnly), seen[tick.UnixMicro()])
		}
	}
	if len(ms) != steps {
		t.Errorf("%d messages for %d ticks", len(ms), steps)
	}
	for _, c := range cs {
		c.send("stop")
		if st := c.wait(); !c.exitedCleanly(st) {
			t.Fatalf("%s exited %v\n%s", c.name, st, c.stderrTail())
		}
	}
}

// waitStoredLast waits until the stored last tick of periodicJob is want.
func waitStoredLast(t *testing.T, q *queuesqlite.Queue, want time.Time) {
	t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for {
		infos, err := q.Periodic(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if infos[0].Last.Equal(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored last tick %v, want %v within %v", infos[0].Last, want, waitDeadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
