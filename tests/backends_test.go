package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// TestBackends_Kill9 runs the kill -9 soak on every backend, through the
// public API only (the SQLite-specific TestKill9Soak also checks the
// files): a child worker process is SIGKILLed at random moments and
// started again, then a last life finishes. Every message must end
// completed, none lost, and a message may run more than once only if it
// was running when a kill came.
func TestBackends_Kill9(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		dir := t.TempDir()
		parent := s.Open(t, nil)
		n, kills := max(size.soakMessages/4, 200), max(size.soakKills/4, 3)
		sendN(t, parent, n)
		seed := uint64(time.Now().UnixNano())
		rng := rand.New(rand.NewPCG(seed, seed))
		spec := workerSpec{Store: s.Spec(), Records: dir, Workers: 16, Lease: 3 * time.Second, Maintenance: 100 * time.Millisecond,
			MaxAttempts: 1000, StopAfter: 10 * time.Second, Handlers: map[string]string{"job": "record"}, WorkFor: 2 * time.Millisecond}
		perLife := max(n/(2*kills), 1)
		interrupted := map[string]int{}
		for k := range kills {
			spec.Name = fmt.Sprint("life", k)
			c := startChild(t, dir, spec.Name, "worker", spec)
			c.waitLine("ready")
			target := recordCount(dir) + 1 + rng.IntN(2*perLife)
			waitAlive(t, "the child to make progress", func() bool { return recordCount(dir) >= target }, c)
			c.kill()
			if !killedBy(c.state, syscall.SIGKILL) {
				t.Fatalf("life %d ended with %v, not by SIGKILL\n%s", k, c.state, c.stderrTail())
			}
			for _, id := range idsWithStatus(t, parent, queuesqlite.StatusProcessing) {
				interrupted[id]++
			}
		}
		spec.Name = "final"
		c := startChild(t, dir, spec.Name, "worker", spec)
		waitAlive(t, "every message completed", func() bool { return completedCount(t, parent) == n }, c)
		c.signal(syscall.SIGTERM)
		if st := c.wait(); !c.exitedCleanly(st) {
			t.Errorf("final life ended with %v\n%s", st, c.stderrTail())
		}
		recs := readRecords(t, dir)
		dups, unexplained := 0, 0
		for _, id := range idsWithStatus(t, parent, queuesqlite.StatusCompleted) {
			rs := recs[id]
			if len(rs) == 0 {
				t.Errorf("message %s completed without a recorded run", id)
				continue
			}
			dups += len(rs) - 1
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
		}
		t.Logf("%d messages, %d kills, in flight at kills %d, duplicates %d, unexplained %d (seed %d)",
			n, kills, len(interrupted), dups, unexplained, seed)
		if got := completedCount(t, parent); got != n {
			t.Errorf("%d completed, want %d", got, n)
		}
	})
}

// sendN sends n messages to "job" in batches.
func sendN(t *testing.T, q *queuesqlite.Queue, n int) {
	t.Helper()
	for sent := 0; sent < n; {
		batch := make([]*queuesqlite.Message, min(500, n-sent))
		for i := range batch {
			batch[i] = queuesqlite.NewMessage("job", sent+i)
		}
		if _, err := q.SendBatch(context.Background(), batch, nil); err != nil {
			t.Fatal(err)
		}
		sent += len(batch)
	}
}

// completedCount counts completed messages through Stats.
func completedCount(t *testing.T, q *queuesqlite.Queue) int {
	t.Helper()
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.ByStatus[queuesqlite.StatusCompleted]
}

// idsWithStatus lists the ids of every message in a status, page by page.
func idsWithStatus(t *testing.T, q *queuesqlite.Queue, status queuesqlite.Status) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		page, err := q.ListPage(context.Background(), &queuesqlite.ListOpts{Statuses: []queuesqlite.Status{status}, Limit: queuesqlite.ListPageMax}, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			ids = append(ids, m.ID)
		}
		if page.Next == "" {
			return ids
		}
		cursor = page.Next
	}
}
