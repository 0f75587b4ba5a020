package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// gauge counts the handlers running at once and remembers the most.
type gauge struct{ now, most atomic.Int32 }

func (g *gauge) enter() {
	n := g.now.Add(1)
	for {
		m := g.most.Load()
		if n <= m || g.most.CompareAndSwap(m, n) {
			return
		}
	}
}

func (g *gauge) leave() { g.now.Add(-1) }

// blockingHandler counts itself on g and returns once gate is closed.
func blockingHandler(g *gauge, gate <-chan struct{}) queuesqlite.HandlerFunc {
	return func(ctx context.Context, _ *queuesqlite.Message) (any, error) {
		g.enter()
		defer g.leave()
		select {
		case <-gate:
			return nil, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// A queue whose handlers all block keeps its own workers busy only: the
// default queue's messages still run.
func TestQueues_BlockedQueueDoesNotStopAnother(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Workers = 2
	cfg.Queues = map[string]queuesqlite.QueueConfig{"slow": {MaxWorkers: 2}}
	q, _ := setup(t, cfg)
	var slow gauge
	gate := make(chan struct{})
	if err := q.Handle("slow", blockingHandler(&slow, gate), &queuesqlite.HandlerOpts{Queue: "slow"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Handle("fast", noop, nil); err != nil {
		t.Fatal(err)
	}
	start(t, q)
	var slowIDs []string
	for i := range 5 {
		slowIDs = append(slowIDs, send(t, q, queuesqlite.NewMessage("slow", i), nil))
	}
	eventually(t, "both slow workers busy", func() bool { return slow.now.Load() == 2 })
	for i := range 20 { // ten times the default queue's workers
		id := send(t, q, queuesqlite.NewMessage("fast", i), nil)
		if m := wait(t, q, id); m.Status != queuesqlite.StatusCompleted {
			t.Fatalf("fast message %d: %v, want completed while the slow queue is blocked", i, m.Status)
		}
	}
	if n := slow.now.Load(); n != 2 {
		t.Fatalf("%d slow handlers running, want 2 (still blocked)", n)
	}
	close(gate)
	for _, id := range slowIDs {
		if m := wait(t, q, id); m.Status != queuesqlite.StatusCompleted {
			t.Fatalf("slow message %s: %v, want completed", id, m.Status)
		}
	}
	if most := slow.most.Load(); most != 2 {
		t.Fatalf("at most %d slow handlers ran at once, want exactly its 2 workers", most)
	}
}

// Each queue runs as many handlers at once as its MaxWorkers, never more,
// however many of its messages are ready.
func TestQueues_WorkerLimitsHold(t *testing.T) {
	t.Parallel()
	limits := map[string]int{queuesqlite.QueueDefault: 2, "a": 3, "b": 1}
	cfg := fast()
	cfg.Workers = limits[queuesqlite.QueueDefault]
	cfg.Queues = map[string]queuesqlite.QueueConfig{"a": {MaxWorkers: limits["a"]}, "b": {MaxWorkers: limits["b"]}}
	q, _ := setup(t, cfg)
	gate := make(chan struct{})
	gauges := map[string]*gauge{}
	for queue := range limits {
		g := &gauge{}
		gauges[queue] = g
		// Two destinations per queue: the limit is the queue's, not a handler's.
		for _, dest := range []string{queue + "-1", queue + "-2"} {
			if err := q.Handle(dest, blockingHandler(g, gate), &queuesqlite.HandlerOpts{Queue: queue}); err != nil {
				t.Fatal(err)
			}
		}
	}
	start(t, q)
	var ids []string
	for queue := range limits {
		for i := range 10 {
			ids = append(ids, send(t, q, queuesqlite.NewMessage(fmt.Sprintf("%s-%d", queue, 1+i%2), i), nil))
		}
	}
	for queue, limit := range limits {
		eventually(t, queue+" at its limit", func() bool { return gauges[queue].now.Load() == int32(limit) })
	}
	close(gate)
	for _, id := range ids {
		wait(t, q, id)
	}
	for queue, limit := range limits {
		if most := gauges[queue].most.Load(); most != int32(limit) {
			t.Errorf("queue %s ran %d handlers at once, want its limit %d", queue, most, limit)
		}
	}
}

func TestQueues_BadConfig(t *testing.T) {
	t.Parallel()
	qs := func(kv ...any) map[string]queuesqlite.QueueConfig {
		m := map[string]queuesqlite.QueueConfig{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = queuesqlite.QueueConfig{MaxWorkers: kv[i+1].(int)}
		}
		return m
	}
	tests := []struct {
		name    string
		workers int
		queues  map[string]queuesqlite.QueueConfig
		want    string
	}{
		{"ZeroWorkers", 0, qs("slow", 0), `Config.Queues["slow"].MaxWorkers is 0`},
		{"NegativeWorkers", 0, qs("slow", -1), `Config.Queues["slow"].MaxWorkers is -1`},
		{"TooManyWorkers", 0, qs("slow", queuesqlite.WorkersMax+1), "MaxWorkers is 10001"},
		{"TotalTooLarge", queuesqlite.WorkersMax, qs("slow", 1), "add up to 10001"},
		{"EmptyName", 0, qs("", 1), `queue name ""`},
		{"DefaultTwice", 3, qs(queuesqlite.QueueDefault, 2), "give the default queue's size in one of them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := queuesqlite.Open(t.TempDir(), &queuesqlite.Config{Workers: tt.workers, Queues: tt.queues})
			if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v, want ErrInvalidArgument saying %q", err, tt.want)
			}
		})
	}
}

func TestQueues_HandlerInUnconfiguredQueue(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Queues = map[string]queuesqlite.QueueConfig{"slow": {MaxWorkers: 1}}
	q, _ := setup(t, cfg)
	err := q.Handle("x", noop, &queuesqlite.HandlerOpts{Queue: "bulk"})
	if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), `queue "bulk"`) ||
		!strings.Contains(err.Error(), "[default slow]") {
		t.Fatalf("Handle in an unconfigured queue: %v, want ErrInvalidArgument naming it and the configured ones", err)
	}
	for _, queue := range []string{"", queuesqlite.QueueDefault, "slow"} {
		if err := q.Handle("in-"+queue, noop, &queuesqlite.HandlerOpts{Queue: queue}); err != nil {
			t.Fatalf("Handle in queue %q: %v", queue, err)
		}
	}
}

// Config.Queues may size the default queue itself (Workers left 0), and a
// handler naming no queue is in it.
func TestQueues_DefaultQueueSizedByQueues(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Workers = 0
	cfg.Queues = map[string]queuesqlite.QueueConfig{queuesqlite.QueueDefault: {MaxWorkers: 1}}
	q, _ := setup(t, cfg)
	var g gauge
	gate := make(chan struct{})
	if err := q.Handle("d", blockingHandler(&g, gate), nil); err != nil {
		t.Fatal(err)
	}
	start(t, q)
	a := send(t, q, queuesqlite.NewMessage("d", 1), nil)
	b := send(t, q, queuesqlite.NewMessage("d", 2), nil)
	eventually(t, "one handler running", func() bool { return g.now.Load() == 1 })
	close(gate)
	wait(t, q, a)
	wait(t, q, b)
	if most := g.most.Load(); most != 1 {
		t.Fatalf("%d handlers ran at once in a default queue of 1 worker", most)
	}
}
