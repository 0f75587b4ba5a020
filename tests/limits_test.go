package tests

import (
	"context"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// limitedQueue is the worker queue of a workerSpec with a QueueLimit.
const limitedQueue = "limited"

// Two worker processes of 4 workers each, serving two destinations with
// a global limit of 2 (of their worker queue, or of each destination): the
// store never holds more than 2 of them (of each) processing at once (read
// by this process throughout), and every message completes.
func TestBackends_QueueLimitHoldsAcrossProcesses(t *testing.T) {
	testLimitAcrossProcesses(t, func(s *workerSpec, limit int) { s.QueueLimit = limit },
		func(x, y int) int { return x + y })
}

// The same with HandlerOpts.GlobalConcurrency: each destination on its own.
func TestBackends_DestinationLimitHoldsAcrossProcesses(t *testing.T) {
	testLimitAcrossProcesses(t, func(s *workerSpec, limit int) { s.DestLimit = limit },
		func(x, y int) int { return max(x, y) })
}

// testLimitAcrossProcesses runs the two workers with the limit that set
// puts in their spec; counted turns the processing counts of x and y into
// the figure the limit bounds.
func testLimitAcrossProcesses(t *testing.T, set func(*workerSpec, int), counted func(x, y int) int) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		if backendtest.Sharded(s) {
			t.Skip("a sharded queue refuses global limits (each shard would count on its own); " +
				"TestBackends_QueueGlobalConcurrencyHoldsAcrossInstances checks the refusal")
		}
		const limit, n = 2, 12
		dir := t.TempDir()
		ctl := s.Open(t, nil)
		spec := workerSpec{Store: s.Spec(), Records: dir, Workers: 4, StopAfter: 5 * time.Second,
			Maintenance: 50 * time.Millisecond, Poll: 5 * time.Millisecond, WorkFor: 150 * time.Millisecond,
			Handlers: map[string]string{"x": "sleep", "y": "sleep"}}
		set(&spec, limit)
		var workers []*child
		for _, name := range []string{"w1", "w2"} {
			spec.Name = name
			w := startChild(t, dir, name, "worker", spec)
			w.waitLine("ready")
			workers = append(workers, w)
		}
		sendTo(t, ctl, "x", n/2)
		sendTo(t, ctl, "y", n/2)
		most := 0
		waitAlive(t, "every message to complete", func() bool {
			st, err := ctl.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			running := counted(st.ByDestination["x"][queuesqlite.StatusProcessing], st.ByDestination["y"][queuesqlite.StatusProcessing])
			if running > limit {
				t.Fatalf("%d processing at once over two processes, the global limit is %d", running, limit)
			}
			most = max(most, running)
			return st.ByStatus[queuesqlite.StatusCompleted] == n
		}, workers...)
		t.Logf("at most %d processing at once (limit %d)", most, limit)
		if most == 0 {
			t.Fatal("no message was ever seen processing")
		}
	})
}

// Two worker processes of 4 workers each share one rate limit of rateN
// starts per ratePer on a destination: the bucket is in the store, full at
// first, so n messages sent at once cannot all have started before
// (n-rateN)/rateN periods have passed, however the starts fall between the
// processes (two buckets of their own would let them finish in about half
// that). Every message completes at its first attempt: a limited message
// waits, it is not failed.
func TestBackends_RateLimitHoldsAcrossProcesses(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		if backendtest.Sharded(s) {
			t.Skip("a sharded queue refuses rate limits; TestQueue_LimitsRefusedWhereTheyCannotHold checks the refusal")
		}
		const rateN, ratePer, n = 3, 400 * time.Millisecond, 15
		dir := t.TempDir()
		ctl := s.Open(t, nil)
		spec := workerSpec{Store: s.Spec(), Records: dir, Workers: 4, StopAfter: 5 * time.Second,
			Maintenance: 50 * time.Millisecond, Poll: 5 * time.Millisecond,
			Handlers: map[string]string{"limited": "record"}, RateLimit: rateN, RatePer: ratePer}
		var workers []*child
		for _, name := range []string{"w1", "w2"} {
			spec.Name = name
			w := startChild(t, dir, name, "worker", spec)
			w.waitLine("ready")
			workers = append(workers, w)
		}
		sentAt := time.Now()
		ids := sendTo(t, ctl, "limited", n)
		waitAlive(t, "every message to complete", func() bool {
			st, err := ctl.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.ByStatus[queuesqlite.StatusFailed] > 0 {
				t.Fatalf("a rate-limited message failed: %v", st.ByStatus)
			}
			return st.ByStatus[queuesqlite.StatusCompleted] == n
		}, workers...)
		took := time.Since(sentAt)
		least := time.Duration((n-rateN)/rateN) * ratePer
		if took < least {
			t.Fatalf("%d messages at %d per %v completed in %v; a shared bucket allows no less than %v", n, rateN, ratePer, took, least)
		}
		byPID := map[int]int{}
		for id, rs := range readRecords(t, dir) {
			if len(rs) != 1 || rs[0].Attempt != 1 {
				t.Errorf("message %s ran %d times (%+v), want once at attempt 1", id, len(rs), rs)
			}
			byPID[rs[0].PID]++
		}
		if got := len(readRecords(t, dir)); got != len(ids) {
			t.Errorf("%d messages ran, want %d", got, len(ids))
		}
		t.Logf("%d messages in %v (at least %v by the bucket); starts per process %v", n, took.Round(time.Millisecond), least, byPID)
	})
}
