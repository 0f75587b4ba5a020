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
