package queuesqlite

// White-box tests of the periodic jobs' wiring: what the public API
// cannot show (that nothing runs without a job; two schedulers that both
// believe they lead).

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/queue-sqlite/queuesqlite/driver/sqlite" // Open's backend

	"github.com/queue-sqlite/queuesqlite/internal/periodic"
)

func openInternal(t *testing.T, dir string, cfg *Config) *Queue {
	t.Helper()
	q, err := Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// hasScheduler reports whether q holds a scheduler.
func hasScheduler(q *Queue) bool {
	q.periodic.mu.Lock()
	defer q.periodic.mu.Unlock()
	return q.periodic.sched != nil
}

// schedulerLoops counts the goroutines of this process running a
// scheduler's loop.
func schedulerLoops() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "internal/periodic.(*Scheduler).run(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// A started queue without periodic jobs makes no scheduler and starts no
// goroutine (so no timer and no storage call); the first job makes one,
// Stop ends it. Not parallel: it counts the process's scheduler loops,
// and the other tests' queues with periodic jobs run in parallel tests
// (paused until the sequential ones are done) or closed when their
// sequential test ended.
func TestPeriodic_NoJobNoScheduler(t *testing.T) {
	before := schedulerLoops()
	q := openInternal(t, t.TempDir(), &Config{MaintenanceInterval: 20 * time.Millisecond})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hasScheduler(q) || schedulerLoops() != before {
		t.Fatalf("without any periodic job: scheduler %v, loops %d (before %d)", hasScheduler(q), schedulerLoops(), before)
	}
	if err := q.AddPeriodic(PeriodicJob{Name: "j", Every: time.Hour, Message: NewMessage("d", 1)}); err != nil {
		t.Fatal(err)
	}
	if !hasScheduler(q) {
		t.Fatal("no scheduler after AddPeriodic on a started queue")
	}
	waitLoops(t, "after AddPeriodic", before+1)
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hasScheduler(q) {
		t.Fatal("a scheduler is left after Stop")
	}
	waitLoops(t, "after Stop", before) // its goroutine returns just after it signals its end
}

// waitLoops waits until the process runs n scheduler loops.
func waitLoops(t *testing.T, when string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for schedulerLoops() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d scheduler loops, want %d", when, schedulerLoops(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Two instances whose schedulers both believe they lead (the election
// allows that for a moment) still store each tick once: the tick's
// message is unique by job and tick.
func TestPeriodic_TwoLeadersSendEachTickOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	dir := t.TempDir()
	cfg := &Config{Clock: clock, Shards: 2}
	qs := []*Queue{openInternal(t, dir, cfg), openInternal(t, dir, cfg)}
	var scheds []*periodic.Scheduler
	for _, q := range qs {
		if err := q.AddPeriodic(PeriodicJob{Name: "j", Schedule: "* * * * *", Message: NewMessage("d", 1)}); err != nil {
			t.Fatal(err)
		}
		q.periodic.mu.Lock()
		s := periodic.New(periodic.Config{Now: clock, Leading: func() bool { return true },
			Poll: time.Millisecond, Store: periodicStore{q}})
		s.Set(q.periodicJobs())
		q.periodic.mu.Unlock()
		scheds = append(scheds, s)
	}
	last := func() time.Time {
		l, _, err := periodicStore{qs[0]}.Last(context.Background(), "j")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	waitLast := func(want time.Time) {
		deadline := time.Now().Add(30 * time.Second)
		for !last().Equal(want) {
			if time.Now().After(deadline) {
				t.Fatalf("tick %v not recorded", want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitLast(clock()) // first seen: ticks count from now
	for range 20 {
		mu.Lock()
		now = now.Add(time.Minute)
		want := now.Truncate(time.Minute)
		mu.Unlock()
		waitLast(want)
	}
	for _, s := range scheds {
		s.Stop() // no send in flight past here
	}
	ms, err := qs[0].List(context.Background(), &ListOpts{Destination: "d", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, m := range ms {
		seen[m.RunAt.UnixMicro()]++
	}
	if len(ms) != 20 || len(seen) != 20 {
		t.Fatalf("%d messages for %d ticks, want 20 for 20", len(ms), len(seen))
	}
}
