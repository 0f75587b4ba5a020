package queuesqlite_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// events records the order in which handlers start and end.
type events struct {
	mu   sync.Mutex
	seq  int
	at   map[string]int // "start:id" / "end:id" -> order
	runs map[string]int // id -> handler runs
}

func newEvents() *events { return &events{at: map[string]int{}, runs: map[string]int{}} }

func (e *events) mark(what, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	e.at[what+":"+id] = e.seq
	if what == "start" {
		e.runs[id]++
	}
}

func (e *events) get(key string) (int, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.at[key], e.runs[strings.TrimPrefix(key, "start:")]
}

// handler records its runs and fails messages whose content is "fail".
func (e *events) handler(_ context.Context, m *queuesqlite.Message) (any, error) {
	e.mark("start", m.ID)
	defer e.mark("end", m.ID)
	if string(m.Content) == `"fail"` {
		return nil, errors.New("told to fail") // sent with MaxAttempts 1
	}
	return m.ID, nil
}

func step(id, dest string, parents ...string) *queuesqlite.Message {
	m := queuesqlite.NewMessage(dest, id)
	m.ID, m.DependsOn = id, parents
	return m
}

// A diamond A -> (B, C) -> D whose steps run on two instances (A and D
// on one, B and C on the other) runs in dependency order: each step
// starts after every step it depends on has ended.
func TestBackends_DependenciesRunInOrderAcrossInstances(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		left, right := s.Open(t, fastConfig()), s.Open(t, fastConfig())
		ev := newEvents()
		if err := left.Handle("left", ev.handler, nil); err != nil {
			t.Fatal(err)
		}
		if err := right.Handle("right", ev.handler, nil); err != nil {
			t.Fatal(err)
		}
		startQueue(t, left)
		startQueue(t, right)
		_, err := left.SendBatch(context.Background(), []*queuesqlite.Message{
			step("A", "left"), step("B", "right", "A"), step("C", "right", "A"), step("D", "left", "B", "C"),
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m := waitFinished(t, right, "D"); m.Status != queuesqlite.StatusCompleted {
			t.Fatalf("D: %s (%s), want completed", m.Status, m.LastError)
		}
		for _, edge := range [][2]string{{"A", "B"}, {"A", "C"}, {"B", "D"}, {"C", "D"}} {
			end, _ := ev.get("end:" + edge[0])
			start, runs := ev.get("start:" + edge[1])
			if end == 0 || start <= end || runs != 1 {
				t.Fatalf("%s started at %d (%d runs), its dependency %s ended at %d", edge[1], start, runs, edge[0], end)
			}
		}
	})
}

// A failing step fails its child and grandchild without running them,
// each naming the step it waited for.
func TestBackends_FailedDependencyFailsDependants(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		q := s.Open(t, fastConfig())
		ev := newEvents()
		if err := q.Handle("s", ev.handler, nil); err != nil {
			t.Fatal(err)
		}
		startQueue(t, q)
		a := step("A", "s")
		a.Content, a.MaxAttempts = []byte(`"fail"`), 1
		if _, err := q.SendBatch(context.Background(), []*queuesqlite.Message{a, step("B", "s", "A"), step("C", "s", "B")}, nil); err != nil {
			t.Fatal(err)
		}
		c := waitFinished(t, q, "C")
		b := waitFinished(t, q, "B")
		if b.Status != queuesqlite.StatusFailed || b.LastError != "dependency A failed" ||
			c.Status != queuesqlite.StatusFailed || c.LastError != "dependency B failed" {
			t.Fatalf("B %s %q, C %s %q; want both failed by their dependency", b.Status, b.LastError, c.Status, c.LastError)
		}
		for _, id := range []string{"B", "C"} {
			if _, runs := ev.get("start:" + id); runs != 0 {
				t.Fatalf("%s ran %d times, want never", id, runs)
			}
		}
	})
}

// Cancelling a step that waits for its run time cancels what depends on
// it, and its callback says why.
func TestBackends_CancelledDependencyCancelsDependants(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		q := s.Open(t, fastConfig())
		if err := q.Handle("s", newEvents().handler, nil); err != nil {
			t.Fatal(err)
		}
		startQueue(t, q)
		a := step("A", "s")
		a.Delay = time.Hour
		got := make(chan *queuesqlite.Message, 2)
		if _, err := q.SendBatch(context.Background(), []*queuesqlite.Message{a, step("B", "s", "A")},
			func(m *queuesqlite.Message) { got <- m }); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Cancel(context.Background(), "A"); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			select {
			case m := <-got:
				if m.ID == "B" && (m.Status != queuesqlite.StatusCancelled || m.LastError != "dependency A cancelled") {
					t.Fatalf("B's callback: %s %q, want cancelled by A", m.Status, m.LastError)
				}
			case <-time.After(backendDeadline):
				t.Fatal("callbacks of A and B did not fire")
			}
		}
	})
}

// A message depending on an id the queue does not hold, or on itself, is
// refused and nothing of its batch is stored.
func TestBackends_BadDependenciesAreRefused(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		q := s.Open(t, fastConfig())
		ctx := context.Background()
		for name, batch := range map[string][]*queuesqlite.Message{
			"missing":      {step("P", "s"), step("C", "s", "P", "nope")},
			"itself":       {step("C", "s", "C")},
			"listed twice": {step("P", "s"), step("C", "s", "P", "P")},
			"later":        {step("C", "s", "P"), step("P", "s")},
		} {
			_, err := q.SendBatch(ctx, batch, nil)
			if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
				t.Fatalf("%s: error %v, want ErrInvalidArgument", name, err)
			}
			for _, m := range batch {
				if _, err := q.Get(ctx, m.ID); !errors.Is(err, queuesqlite.ErrNotFound) {
					t.Fatalf("%s: %s was stored (%v)", name, m.ID, err)
				}
			}
		}
		_, err := q.Send(ctx, step("C", "s", "nope"), nil)
		if err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Fatalf("error %v does not name the missing dependency", err)
		}
	})
}

// A group's callback fires once, in the sender, when every member has
// finished, with the count of each outcome; the stored result reads the
// same from another instance.
func TestBackends_GroupCallbackCountsMixedOutcomes(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		sender, worker := s.Open(t, fastConfig()), s.Open(t, fastConfig())
		if err := worker.Handle("s", newEvents().handler, nil); err != nil {
			t.Fatal(err)
		}
		startQueue(t, worker)
		startQueue(t, sender)
		bad, later := step("bad", "s"), step("later", "s")
		bad.Content, bad.MaxAttempts, later.Delay = []byte(`"fail"`), 1, time.Hour
		var fired atomic.Int32
		done := make(chan *queuesqlite.GroupResult, 2)
		g, err := sender.SendGroup(context.Background(), []*queuesqlite.Message{
			step("ok1", "s"), step("ok2", "s", "ok1"), bad, step("after-bad", "s", "bad"), later,
		}, func(r *queuesqlite.GroupResult) { fired.Add(1); done <- r })
		if err != nil {
			t.Fatal(err)
		}
		waitFinished(t, sender, "after-bad")
		if _, err := sender.Cancel(context.Background(), "later"); err != nil {
			t.Fatal(err)
		}
		want := map[queuesqlite.Status]int{queuesqlite.StatusCompleted: 2, queuesqlite.StatusFailed: 2, queuesqlite.StatusCancelled: 1}
		var r *queuesqlite.GroupResult
		select {
		case r = <-done:
		case <-time.After(backendDeadline):
			t.Fatal("the group's callback did not fire")
		}
		if !r.Finished || !sameCounts(r.Counts, want) || len(r.Messages) != 5 || r.Messages[3].ID != "after-bad" {
			t.Fatalf("callback got %+v, want finished with %v and the five members in send order", r, want)
		}
		stored, err := worker.GroupResult(context.Background(), g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.Finished || !sameCounts(stored.Counts, want) || !stored.FinishedAt.Equal(r.FinishedAt) ||
			strings.Join(stored.MessageIDs, ",") != "ok1,ok2,bad,after-bad,later" {
			t.Fatalf("stored result %+v, want what the callback got (%v at %v)", stored, want, r.FinishedAt)
		}
		if _, err := worker.GroupResult(context.Background(), "no-such-group"); !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Fatalf("unknown group: %v, want ErrNotFound", err)
		}
		if n := fired.Load(); n != 1 {
			t.Fatalf("callback fired %d times, want once", n)
		}
	})
}

// A group whose sender closed before it finished still has its result:
// GroupResult counts the members from any instance, and no callback fires.
func TestBackends_GroupResultAfterTheSenderClosed(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		sender := s.Open(t, fastConfig())
		var fired atomic.Int32
		g, err := sender.SendGroup(context.Background(), []*queuesqlite.Message{step("a", "s"), step("b", "s", "a")},
			func(*queuesqlite.GroupResult) { fired.Add(1) })
		if err != nil {
			t.Fatal(err)
		}
		if err := sender.Close(); err != nil {
			t.Fatal(err)
		}
		worker := s.Open(t, fastConfig())
		if r, err := worker.GroupResult(context.Background(), g.ID); err != nil || r.Finished || r.Counts[queuesqlite.StatusPending] != 1 {
			t.Fatalf("before it ran: %+v %v, want unfinished with one pending (and one waiting)", r, err)
		}
		if err := worker.Handle("s", newEvents().handler, nil); err != nil {
			t.Fatal(err)
		}
		startQueue(t, worker)
		waitFinished(t, worker, "b")
		other := s.Open(t, fastConfig())
		r, err := other.GroupResult(context.Background(), g.ID)
		if err != nil || !r.Finished || r.Counts[queuesqlite.StatusCompleted] != 2 || r.FinishedAt.IsZero() {
			t.Fatalf("after it ran: %+v %v, want finished with two completed", r, err)
		}
		if fired.Load() != 0 {
			t.Fatal("a closed sender's group callback fired")
		}
	})
}

func sameCounts(got, want map[queuesqlite.Status]int) bool {
	for s, n := range want {
		if got[s] != n {
			return false
		}
	}
	for s, n := range got {
		if want[s] != n {
			return false
		}
	}
	return true
}

// In a sharded queue a child goes to its parents' shard (taking their
// shard key), and a family that cannot share a shard is refused.
func TestQueue_DependenciesKeepAFamilyInOneShard(t *testing.T) {
	cfg := fast()
	cfg.Shards = 4
	q, _ := setup(t, cfg)
	ctx := context.Background()
	ev := newEvents()
	if err := q.Handle("s", ev.handler, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := q.SendBatch(ctx, []*queuesqlite.Message{step("p1", "s"), step("c1", "s", "p1")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Send(ctx, step("g1", "s", "c1"), nil); err != nil { // a parent already stored
		t.Fatal(err)
	}
	start(t, q)
	g := wait(t, q, "g1")
	p := wait(t, q, "p1")
	if g.Status != queuesqlite.StatusCompleted || g.Shard != p.Shard || g.ShardKey != "p1" {
		t.Fatalf("grandchild %s in shard %d key %q, parent in shard %d; want completed beside it", g.Status, g.Shard, g.ShardKey, p.Shard)
	}
	var a, b string // two ids in different shards
	for i := 0; b == ""; i++ {
		id := "x" + string(rune('a'+i))
		switch {
		case a == "":
			a = id
		case queuesqlite.ShardFor(id, 4) != queuesqlite.ShardFor(a, 4):
			b = id
		}
	}
	_, err := q.SendBatch(ctx, []*queuesqlite.Message{step(a, "s"), step(b, "s"), step("c2", "s", a, b)}, nil)
	if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), "ShardKey") {
		t.Fatalf("parents in two shards: %v, want ErrInvalidArgument with a hint", err)
	}
	c := step("c3", "s", a)
	c.ShardKey = b
	if _, err := q.SendBatch(ctx, []*queuesqlite.Message{step(a, "s"), c}, nil); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Fatalf("a child keyed to another shard: %v, want ErrInvalidArgument", err)
	}
}

// Reshard refuses a queue with messages waiting for dependencies (their
// rows name them by seq, which a move changes) and leaves it usable; once
// they ran it reshards.
func TestReshard_RefusedWhileMessagesWaitForDependencies(t *testing.T) {
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, fast())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := q.SendBatch(ctx, []*queuesqlite.Message{step("p", "s"), step("c", "s", "p")}, nil); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if _, err := sqlite.Reshard(ctx, dir, 2, nil); !errors.Is(err, queuesqlite.ErrInvalidState) || !strings.Contains(err.Error(), "waiting for dependencies") {
		t.Fatalf("reshard with a waiting message: %v, want ErrInvalidState naming them", err)
	}
	q, err = queuesqlite.Open(dir, fast())
	if err != nil {
		t.Fatalf("open after the refused reshard: %v", err)
	}
	if err := q.Handle("s", newEvents().handler, nil); err != nil {
		t.Fatal(err)
	}
	start(t, q)
	if m := wait(t, q, "c"); m.Status != queuesqlite.StatusCompleted {
		t.Fatalf("c: %s", m.Status)
	}
	q.Close()
	if _, err := sqlite.Reshard(ctx, dir, 2, nil); err != nil {
		t.Fatalf("reshard once none waits: %v", err)
	}
}
