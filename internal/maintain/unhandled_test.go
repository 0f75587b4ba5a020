package maintain_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// statsScript is a shard whose Stats answers from a script: call i gets
// counts(i). Only Stats is used by the duty under test.
type statsScript struct {
	driver.Driver
	calls  atomic.Int32
	counts func(call int) map[string]map[queuetype.Status]int
}

func (s *statsScript) Stats(context.Context) (*driver.Stats, error) {
	n := int(s.calls.Add(1))
	return &driver.Stats{Counts: s.counts(n)}, nil
}

// TestMaintainer_ReportsAStuckUnservedDestinationOnce: a destination no
// handler here serves is reported once its counts stop changing (with
// UnhandledAfter 0, at the first look that sees the same counts again),
// never while they change (another process is working on it), and never a
// served one.
func TestMaintainer_ReportsAStuckUnservedDestinationOnce(t *testing.T) {
	t.Parallel()
	const moving = 6 // the first looks see another process complete one message each
	shard := &statsScript{Driver: openShard(t), counts: func(call int) map[string]map[queuetype.Status]int {
		done := min(call, moving)
		return map[string]map[queuetype.Status]int{
			"elsewhere": {queuetype.StatusPending: 10 - done, queuetype.StatusCompleted: done},
			"served":    {queuetype.StatusPending: 5},
		}
	}}
	var mu sync.Mutex
	reports := map[string][]int{} // destination -> Stats calls made when reported
	cfg := config(shard, newClock(t0), &events{})
	cfg.Served = []string{"served"}
	cfg.UnhandledEvery, cfg.UnhandledAfter = time.Millisecond, 0
	cfg.Unhandled = func(dest string, pending int, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		reports[dest] = append(reports[dest], int(shard.calls.Load()))
		if pending != 10-moving {
			t.Errorf("reported %d pending for %s, want %d", pending, dest, 10-moving)
		}
	}
	m := start(t, cfg)
	waitFor(t, "many looks after the counts settled", func() bool { return shard.calls.Load() > 3*moving })
	stop(t, m)
	mu.Lock()
	defer mu.Unlock()
	if got := reports["elsewhere"]; len(got) != 1 || got[0] <= moving {
		t.Fatalf("elsewhere reported at looks %v; want once, after look %d (when its counts stopped changing)", got, moving)
	}
	if got := reports["served"]; len(got) != 0 {
		t.Fatalf("the served destination was reported at looks %v", got)
	}
}
