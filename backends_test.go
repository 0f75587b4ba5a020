package queuesqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// These tests run on every storage backend (backendtest.All): each checks
// one behaviour a user relies on, through the public API only, with
// several queue instances on one store where the behaviour spans
// processes or hosts.

// backendDeadline bounds how long an effect may take to show; a failure
// bound only, generous for a loaded machine.
const backendDeadline = 30 * time.Second

// fastConfig is a config whose background passes run often, so the tests
// wait little.
func fastConfig() *queuesqlite.Config {
	return &queuesqlite.Config{Workers: 4, MaintenanceInterval: 20 * time.Millisecond, Lease: 2 * time.Second,
		PollInterval: 5 * time.Millisecond, StopTimeout: 5 * time.Second}
}

func startQueue(t *testing.T, q *queuesqlite.Queue) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// waitFinished waits for a message to reach a terminal status.
func waitFinished(t *testing.T, q *queuesqlite.Queue, id string) *queuesqlite.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), backendDeadline)
	defer cancel()
	m, err := q.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return m
}

// pollUntil polls cond until it holds, failing t at the deadline.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(backendDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, backendDeadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBackends_SendRunsAndStoresTheResult(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		q := s.Open(t, fastConfig())
		if err := q.Handle("add", func(_ context.Context, m *queuesqlite.Message) (any, error) {
			var in struct{ A, B int }
			if err := m.Decode(&in); err != nil {
				return nil, err
			}
			return in.A + in.B, nil
		}, nil); err != nil {
			t.Fatal(err)
		}
		startQueue(t, q)
		id, err := q.Send(context.Background(), queuesqlite.NewMessage("add", map[string]int{"A": 2, "B": 3}), nil)
		if err != nil {
			t.Fatal(err)
		}
		m := waitFinished(t, q, id)
		if m.Status != queuesqlite.StatusCompleted || string(m.Result) != "5" || m.Attempt != 1 {
			t.Fatalf("got status %v result %s attempt %d, want completed 5 after 1 attempt", m.Status, m.Result, m.Attempt)
		}
	})
}

// The callback fires in the sending instance although another instance
// ran the message.
func TestBackends_CallbackFiresInTheSenderWhenAnotherInstanceRuns(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		sender := s.Open(t, fastConfig())
		worker := s.Open(t, fastConfig())
		if err := worker.Handle("echo", func(_ context.Context, m *queuesqlite.Message) (any, error) {
			return string(m.Content), nil
		}, nil); err != nil {
			t.Fatal(err)
		}
		startQueue(t, worker)
		got := make(chan *queuesqlite.Message, 1)
		id, err := sender.Send(context.Background(), queuesqlite.NewMessage("echo", "hi"), func(m *queuesqlite.Message) { got <- m })
		if err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m.ID != id || m.Status != queuesqlite.StatusCompleted {
				t.Fatalf("callback got %s %v, want %s completed", m.ID, m.Status, id)
			}
		case <-time.After(backendDeadline):
			t.Fatal("the sender's callback did not fire")
		}
	})
}

// A failing handler is retried until MaxAttempts, then the message fails
// with its last error; Retry runs it again.
func TestBackends_RetriesThenFailsThenRetryRunsAgain(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		q := s.Open(t, fastConfig())
		var runs atomic.Int32
		var healed atomic.Bool
		if err := q.Handle("flaky", func(context.Context, *queuesqlite.Message) (any, error) {
			runs.Add(1)
			if healed.Load() {
				return "ok", nil
			}
			return nil, errors.New("boom")
		}, &queuesqlite.HandlerOpts{MaxAttempts: 3, Backoff: func(int) time.Duration { return time.Millisecond }}); err != nil {
			t.Fatal(err)
		}
		startQueue(t, q)
		id, err := q.Send(context.Background(), queuesqlite.NewMessage("flaky", 1), nil)
		if err != nil {
			t.Fatal(err)
		}
		m := waitFinished(t, q, id)
		if m.Status != queuesqlite.StatusFailed || m.Attempt != 3 || runs.Load() != 3 || m.LastError != "boom" {
			t.Fatalf("got %v after %d attempts (%d runs), error %q; want failed after 3 with boom", m.Status, m.Attempt, runs.Load(), m.LastError)
		}
		healed.Store(true)
		if _, err := q.Retry(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if m := waitFinished(t, q, id); m.Status != queuesqlite.StatusCompleted {
			t.Fatalf("after Retry: %v, want completed", m.Status)
		}
	})
}

// A delayed message waits for its time (on the queue's clock), then runs.
func TestBackends_DelayedMessageRunsWhenItsTimeComes(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		var offset atomic.Int64
		cfg := fastConfig()
		cfg.Clock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		q := s.Open(t, cfg)
		var ran atomic.Bool
		if err := q.Handle("later", func(context.Context, *queuesqlite.Message) (any, error) {
			ran.Store(true)
			return nil, nil
		}, nil); err != nil {
			t.Fatal(err)
		}
		startQueue(t, q)
		m := queuesqlite.NewMessage("later", 1)
		m.Delay = time.Hour
		id, err := q.Send(context.Background(), m, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := q.Get(context.Background(), id); err != nil || got.Status != queuesqlite.StatusScheduled {
			t.Fatalf("before its time: %v %v, want scheduled", got.Status, err)
		}
		// A message sent later without delay runs while the delayed one waits.
		now, err := q.Send(context.Background(), queuesqlite.NewMessage("later", 2), nil)
		if err != nil {
			t.Fatal(err)
		}
		waitFinished(t, q, now)
		if got, _ := q.Get(context.Background(), id); got.Status != queuesqlite.StatusScheduled {
			t.Fatalf("after a later message ran: %v, want still scheduled", got.Status)
		}
		offset.Store(int64(2 * time.Hour))
		if m := waitFinished(t, q, id); m.Status != queuesqlite.StatusCompleted {
			t.Fatalf("after its time: %v, want completed", m.Status)
		}
	})
}

// Cancel stops a waiting message; Retry brings it back.
func TestBackends_CancelAndRetry(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		q := s.Open(t, fastConfig())
		ctx := context.Background()
		id, err := q.Send(ctx, queuesqlite.NewMessage("nobody", 1), nil)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := q.Cancel(ctx, id); err != nil || m.Status != queuesqlite.StatusCancelled {
			t.Fatalf("cancel: %v %v", m, err)
		}
		if _, err := q.Cancel(ctx, id); !errors.Is(err, queuesqlite.ErrInvalidState) {
			t.Fatalf("cancel twice: %v, want ErrInvalidState", err)
		}
		if m, err := q.Retry(ctx, id); err != nil || m.Status != queuesqlite.StatusPending {
			t.Fatalf("retry: %v %v", m, err)
		}
		if _, err := q.Get(ctx, "no-such-id"); !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Fatalf("get missing: %v, want ErrNotFound", err)
		}
	})
}

// SendTx enqueues with the application's transaction: a rollback leaves
// nothing, a commit the message; a transaction of another store is
// refused.
func TestBackends_SendTxFollowsTheTransaction(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		q := s.Open(t, fastConfig())
		ctx := context.Background()
		var kept, dropped string
		if err := q.InTx(ctx, func(tx *sql.Tx) error {
			ids, err := q.SendTx(ctx, tx, queuesqlite.NewMessage("x", 1))
			kept = ids[0]
			return err
		}); err != nil {
			t.Fatal(err)
		}
		rollback := errors.New("roll back")
		if err := q.InTx(ctx, func(tx *sql.Tx) error {
			ids, err := q.SendTx(ctx, tx, queuesqlite.NewMessage("x", 2))
			if err != nil {
				return err
			}
			dropped = ids[0]
			return rollback
		}); !errors.Is(err, rollback) {
			t.Fatalf("InTx: %v, want the function's error", err)
		}
		if m, err := q.Get(ctx, kept); err != nil || m.Status != queuesqlite.StatusPending {
			t.Fatalf("committed message: %v %v", m, err)
		}
		if _, err := q.Get(ctx, dropped); !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Fatalf("rolled-back message: %v, want ErrNotFound", err)
		}
		other := backendtest.All(t)[0].NewStore(t).Open(t, fastConfig())
		err := other.InTx(ctx, func(tx *sql.Tx) error {
			_, err := q.SendTx(ctx, tx, queuesqlite.NewMessage("x", 3))
			return err
		})
		if !errors.Is(err, queuesqlite.ErrForeignTx) {
			t.Fatalf("SendTx through another store's transaction: %v, want ErrForeignTx", err)
		}
	})
}

// Listeners on one instance see every change another instance makes, in
// order.
func TestBackends_ListenerSeesAnotherInstancesChangesInOrder(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		writer := s.Open(t, fastConfig())
		reader := s.Open(t, fastConfig())
		var mu sync.Mutex
		var seen []string
		if err := reader.Listen("config", func(_ context.Context, c *queuesqlite.Change) error {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, c.New.String())
			return nil
		}, nil); err != nil {
			t.Fatal(err)
		}
		startQueue(t, reader)
		const n = 20
		var want []string
		for i := range n {
			if _, err := writer.SetListenData(context.Background(), "config", i); err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprint(i))
		}
		pollUntil(t, "every change delivered", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) >= n
		})
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Fatalf("delivered %v, want %v", seen, want)
		}
	})
}

// Among several started instances exactly one leads.
func TestBackends_OneLeaderAmongInstances(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		qs := []*queuesqlite.Queue{s.Open(t, fastConfig()), s.Open(t, fastConfig()), s.Open(t, fastConfig())}
		for _, q := range qs {
			startQueue(t, q)
		}
		leaders := func() (n int, name string) {
			for _, q := range qs {
				info, err := q.Leader(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if info.Self {
					n++
				}
				name = info.Leader
			}
			return n, name
		}
		pollUntil(t, "one leader", func() bool { n, _ := leaders(); return n == 1 })
		for _, q := range qs {
			if info, _ := q.Leader(context.Background()); info.Self {
				q.Close() // hand-over: another instance takes the seat
				break
			}
		}
		pollUntil(t, "a new leader after the leader closed", func() bool {
			n := 0
			for _, q := range qs {
				if info, err := q.Leader(context.Background()); err == nil && info.Self {
					n++
				}
			}
			return n == 1
		})
	})
}

// A unique key holds across instances: the second send returns the first
// message's id.
func TestBackends_UniqueKeyHoldsAcrossInstances(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		a, b := s.Open(t, fastConfig()), s.Open(t, fastConfig())
		send := func(q *queuesqlite.Queue) queuesqlite.SendResult {
			m := queuesqlite.NewMessage("report", 1)
			m.Unique = &queuesqlite.UniqueOpts{Key: "daily"}
			r, err := q.SendUnique(context.Background(), m, nil)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		first, second := send(a), send(b)
		if first.Duplicate || !second.Duplicate || second.ID != first.ID {
			t.Fatalf("first %+v, second %+v: want the second a duplicate with the first's id", first, second)
		}
	})
}

// With three instances working one queue and nothing failing, every
// message runs exactly once.
func TestBackends_EachMessageRunsOnceAcrossInstances(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		var mu sync.Mutex
		runs := map[string]int{}
		for range 3 {
			q := s.Open(t, fastConfig())
			if err := q.Handle("job", func(_ context.Context, m *queuesqlite.Message) (any, error) {
				mu.Lock()
				runs[m.ID]++
				mu.Unlock()
				return nil, nil
			}, nil); err != nil {
				t.Fatal(err)
			}
			startQueue(t, q)
		}
		sender := s.Open(t, fastConfig())
		const n = 300
		batch := make([]*queuesqlite.Message, n)
		for i := range batch {
			batch[i] = queuesqlite.NewMessage("job", i)
		}
		ids, err := sender.SendBatch(context.Background(), batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			waitFinished(t, sender, id)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if runs[id] != 1 {
				t.Fatalf("message %s ran %d times, want once", id, runs[id])
			}
		}
		if len(runs) != n {
			t.Fatalf("%d messages ran, want %d", len(runs), n)
		}
	})
}
