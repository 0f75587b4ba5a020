package tests

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// depsContent is what a "deps" message carries: the ids it depends on.
type depsContent struct {
	Parents []string `json:"parents"`
}

// depsHandler wraps a worker's handler ("deps" behaviour): before it runs,
// every parent the message names must be completed in the store; a
// message that starts too early fails at once (ErrSkipRetry), so its
// status shows the violation.
func depsHandler(q *queuesqlite.Queue, next queuesqlite.HandlerFunc) queuesqlite.HandlerFunc {
	return func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		var c depsContent
		if err := m.Decode(&c); err != nil {
			return nil, err
		}
		for _, id := range c.Parents {
			p, err := q.Get(ctx, id)
			if err != nil {
				return nil, err // a read failure: retried
			}
			if p.Status != queuesqlite.StatusCompleted {
				return nil, fmt.Errorf("started while dependency %s is %s: %w", id, p.Status, queuesqlite.ErrSkipRetry)
			}
		}
		return next(ctx, m)
	}
}

// diamond returns the four messages of one family A -> (B, C) -> D.
func diamond() []*queuesqlite.Message {
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	mk := func(i int, parents ...string) *queuesqlite.Message {
		m := queuesqlite.NewMessage("job", depsContent{Parents: parents})
		m.ID, m.DependsOn = ids[i], parents
		return m
	}
	return []*queuesqlite.Message{mk(0), mk(1, ids[0]), mk(2, ids[0]), mk(3, ids[1], ids[2])}
}

// TestBackends_DependenciesAcrossProcesses: families of dependent messages
// sent by this process run in two worker processes, one of them SIGKILLed
// half-way and replaced: every message completes, and none started before
// its dependencies had completed (the workers check the store).
func TestBackends_DependenciesAcrossProcesses(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		dir := t.TempDir()
		sender := s.Open(t, nil)
		const families = 25
		var all []string
		for range families {
			batch := diamond()
			if _, err := sender.SendBatch(context.Background(), batch, nil); err != nil {
				t.Fatal(err)
			}
			for _, m := range batch {
				all = append(all, m.ID)
			}
		}
		spec := workerSpec{Store: s.Spec(), Records: dir, Workers: 8, Lease: 3 * time.Second, Maintenance: 100 * time.Millisecond,
			MaxAttempts: 1000, StopAfter: 10 * time.Second, Handlers: map[string]string{"job": "deps"}, WorkFor: 5 * time.Millisecond}
		spec.Name = "w1"
		w1 := startChild(t, dir, spec.Name, "worker", spec)
		spec.Name = "w2"
		w2 := startChild(t, dir, spec.Name, "worker", spec)
		w1.waitLine("ready")
		w2.waitLine("ready")
		waitAlive(t, "some progress", func() bool { return recordCount(dir) >= len(all)/4 }, w1, w2)
		w1.kill()
		spec.Name = "w3"
		w3 := startChild(t, dir, spec.Name, "worker", spec)
		finished := func() bool {
			st, err := sender.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return st.ByStatus[queuesqlite.StatusCompleted]+st.ByStatus[queuesqlite.StatusFailed] == len(all)
		}
		waitAlive(t, "every message finished", finished, w2, w3)
		for _, id := range all {
			m, err := sender.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != queuesqlite.StatusCompleted {
				t.Errorf("message %s: %s (%s)", id, m.Status, m.LastError)
			}
		}
		for _, c := range []*child{w2, w3} {
			c.signal(syscall.SIGTERM)
			if st := c.wait(); !c.exitedCleanly(st) {
				t.Errorf("%s ended with %v\n%s", c.name, st, c.stderrTail())
			}
		}
	})
}
