package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// gated is a handler whose runs block until released, counting how many
// run at once.
type gated struct {
	running, most atomic.Int64
	gate          chan struct{}
	done          atomic.Int64
}

func newGated() *gated { return &gated{gate: make(chan struct{}, 1000)} }

func (g *gated) handle(ctx context.Context, _ *queuesqlite.Message) (any, error) {
	n := g.running.Add(1)
	for {
		m := g.most.Load()
		if n <= m || g.most.CompareAndSwap(m, n) {
			break
		}
	}
	defer g.running.Add(-1)
	defer g.done.Add(1)
	select {
	case <-g.gate:
	case <-ctx.Done():
	}
	return nil, nil
}

// At most GlobalConcurrency messages of a destination run at once over two
// instances with 8 workers each; every message still runs.
func TestBackends_GlobalConcurrencyHoldsAcrossInstances(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		const limit, n = 2, 12
		g := newGated()
		var qs []*queuesqlite.Queue
		for range 2 {
			cfg := fastConfig()
			cfg.Workers = 8
			q := s.Open(t, cfg)
			if err := q.Handle("lim", g.handle, &queuesqlite.HandlerOpts{GlobalConcurrency: limit}); err != nil {
				t.Fatal(err)
			}
			startQueue(t, q)
			qs = append(qs, q)
		}
		for i := range n {
			if _, err := qs[i%2].Send(context.Background(), queuesqlite.NewMessage("lim", i), nil); err != nil {
				t.Fatal(err)
			}
		}
		for released := 0; released < n; released++ {
			// Wait for the limit to be reached (or the rest to be running),
			// then let one go: without the limit, all would be running here.
			want := int64(min(limit, n-released))
			pollUntil(t, fmt.Sprintf("%d running (after %d released)", want, released), func() bool { return g.running.Load() >= want })
			if m := g.most.Load(); m > limit {
				t.Fatalf("%d messages ran at once, the global limit is %d", m, limit)
			}
			g.gate <- struct{}{}
		}
		pollUntil(t, "every message done", func() bool { return g.done.Load() == n })
		if m := g.most.Load(); m != limit {
			t.Fatalf("at most %d ran at once, want exactly the limit %d", m, limit)
		}
	})
}

// At most a queue's GlobalConcurrency messages of its destinations run at
// once over two instances with 8 workers each (both serving both
// destinations, as QueueConfig asks); every message still runs.
func TestBackends_QueueGlobalConcurrencyHoldsAcrossInstances(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		const limit, n = 3, 16
		g := newGated()
		var qs []*queuesqlite.Queue
		for range 2 {
			cfg := fastConfig()
			cfg.Queues = map[string]queuesqlite.QueueConfig{"bulk": {MaxWorkers: 8, GlobalConcurrency: limit}}
			q := s.Open(t, cfg)
			for _, dest := range []string{"a", "b"} {
				if err := q.Handle(dest, g.handle, &queuesqlite.HandlerOpts{Queue: "bulk"}); err != nil {
					t.Fatal(err)
				}
			}
			startQueue(t, q)
			qs = append(qs, q)
		}
		for i := range n {
			if _, err := qs[i%2].Send(context.Background(), queuesqlite.NewMessage([]string{"a", "b"}[i%2], i), nil); err != nil {
				t.Fatal(err)
			}
		}
		for released := 0; released < n; released++ {
			// Wait for the limit to be reached (or the rest to be running),
			// then let one go: without the limit, 16 would be running here.
			want := int64(min(limit, n-released))
			pollUntil(t, fmt.Sprintf("%d running (after %d released)", want, released), func() bool { return g.running.Load() >= want })
			if m := g.most.Load(); m > limit {
				t.Fatalf("%d messages of the queue ran at once, its global limit is %d", m, limit)
			}
			g.gate <- struct{}{}
		}
		pollUntil(t, "every message done", func() bool { return g.done.Load() == n })
		if m := g.most.Load(); m != limit {
			t.Fatalf("at most %d ran at once, want exactly the limit %d", m, limit)
		}
	})
}

// A rate-limited destination starts RateLimit messages per RatePer over
// two instances, by the queue's clock; the others wait, pending.
func TestBackends_RateLimitHoldsAcrossInstances(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		var offset atomic.Int64
		var started atomic.Int64
		probes := map[int]chan struct{}{}
		var mu sync.Mutex
		var qs []*queuesqlite.Queue
		for range 2 {
			cfg := fastConfig()
			cfg.Clock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
			q := s.Open(t, cfg)
			if err := q.Handle("rated", func(context.Context, *queuesqlite.Message) (any, error) {
				started.Add(1)
				return nil, nil
			}, &queuesqlite.HandlerOpts{RateLimit: 3, RatePer: time.Hour}); err != nil {
				t.Fatal(err)
			}
			if err := q.Handle("probe", func(_ context.Context, m *queuesqlite.Message) (any, error) {
				var i int
				_ = m.Decode(&i)
				mu.Lock()
				close(probes[i])
				mu.Unlock()
				return nil, nil
			}, nil); err != nil {
				t.Fatal(err)
			}
			startQueue(t, q)
			qs = append(qs, q)
		}
		// probe waits until both instances have claimed after the limited
		// messages were sent: a probe to an unlimited destination, sent to
		// each, has run.
		probeN := 0
		probe := func() {
			for _, q := range qs {
				probeN++
				ch := make(chan struct{})
				mu.Lock()
				probes[probeN] = ch
				mu.Unlock()
				if _, err := q.Send(context.Background(), queuesqlite.NewMessage("probe", probeN), nil); err != nil {
					t.Fatal(err)
				}
				select {
				case <-ch:
				case <-time.After(backendDeadline):
					t.Fatal("a probe did not run")
				}
			}
		}
		for i := range 10 {
			if _, err := qs[i%2].Send(context.Background(), queuesqlite.NewMessage("rated", i), nil); err != nil {
				t.Fatal(err)
			}
		}
		pollUntil(t, "3 started", func() bool { return started.Load() >= 3 })
		probe()
		if n := started.Load(); n != 3 {
			t.Fatalf("%d started in the first hour, want 3", n)
		}
		offset.Store(int64(20 * time.Minute)) // one token more
		pollUntil(t, "a fourth started after 20 minutes", func() bool { return started.Load() >= 4 })
		probe()
		if n := started.Load(); n != 4 {
			t.Fatalf("%d started after 20 minutes, want 4", n)
		}
		st, err := qs[0].Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if p := st.ByDestination["rated"][queuesqlite.StatusPending]; p != 6 {
			t.Fatalf("%d rated messages pending, want 6 (waiting, not failed)", p)
		}
	})
}

func TestQueue_LimitsRefusedWhereTheyCannotHold(t *testing.T) {
	dir := t.TempDir() + "/q"
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	noop := func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil }
	for name, o := range map[string]queuesqlite.HandlerOpts{
		"sharded":   {GlobalConcurrency: 1},
		"negative":  {GlobalConcurrency: -1},
		"no-period": {RateLimit: 5},
		"no-rate":   {RatePer: time.Second},
	} {
		if err := q.Handle(name, noop, &o); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	q2, err := queuesqlite.Open(t.TempDir()+"/q2", &queuesqlite.Config{Shards: 2,
		Queues: map[string]queuesqlite.QueueConfig{"lim": {MaxWorkers: 2, GlobalConcurrency: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	if err := q2.Handle("x", noop, &queuesqlite.HandlerOpts{Queue: "lim"}); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Errorf("a handler of a globally limited queue on two shards: %v, want ErrInvalidArgument", err)
	}
	_, err = queuesqlite.Open(t.TempDir()+"/q3", &queuesqlite.Config{
		Queues: map[string]queuesqlite.QueueConfig{"lim": {MaxWorkers: 2, GlobalConcurrency: -1}}})
	if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Errorf("a negative queue GlobalConcurrency: %v, want ErrInvalidArgument", err)
	}
}
