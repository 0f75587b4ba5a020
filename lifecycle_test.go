package queuesqlite_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

func TestQueue_StopLetsRunningHandlersFinish(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	started, release := make(chan struct{}), make(chan struct{})
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		close(started)
		<-release
		return "finished", nil
	}, nil)
	start(t, q)
	id := send(t, q, queuesqlite.NewMessage("job", nil), nil)
	<-started
	stopped := make(chan struct{})
	go func() {
		q.Stop(context.Background())
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a handler was still running within the deadline")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-stopped
	m, _ := q.Get(context.Background(), id)
	if m.Status != queuesqlite.StatusCompleted || string(m.Result) != `"finished"` {
		t.Fatalf("after graceful stop: %s %s", m.Status, m.Result)
	}
}

func TestQueue_StopDeadlineReleasesWithoutChargingAnAttempt(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.StopTimeout = 30 * time.Millisecond // the final Close, too, cuts the handlers short
	q, dir := setup(t, cfg)
	var polite, stubborn atomic.Int32
	running := make(chan struct{}, 2)
	block := make(chan struct{})
	defer close(block)
	q.Handle("polite", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		polite.Add(1)
		running <- struct{}{}
		<-ctx.Done()
		if !errors.Is(context.Cause(ctx), queuesqlite.ErrStopping) {
			t.Errorf("cause %v, want ErrStopping", context.Cause(ctx))
		}
		return nil, ctx.Err()
	}, nil)
	q.Handle("stubborn", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		stubborn.Add(1)
		running <- struct{}{}
		<-block // ignores ctx
		return "too late", nil
	}, nil)
	start(t, q)
	ids := []string{send(t, q, queuesqlite.NewMessage("polite", nil), nil), send(t, q, queuesqlite.NewMessage("stubborn", nil), nil)}
	<-running
	<-running
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	dbtest.CheckNoLiveLeaseAfterStop(t, dir, time.Now())
	for _, id := range ids {
		m, _ := q.Get(context.Background(), id)
		if m.Status != queuesqlite.StatusPending || m.Attempt != 0 {
			t.Fatalf("%s (%s) after stop: status %s attempt %d; want pending, attempt 0", id, m.Destination, m.Status, m.Attempt)
		}
	}
	// Started again, both run again from attempt 1.
	start(t, q)
	for _, id := range ids[:1] {
		eventually(t, "polite runs again", func() bool { return polite.Load() == 2 })
		m, _ := q.Get(context.Background(), id)
		if m.Attempt != 1 {
			t.Fatalf("attempt after restart %d, want 1", m.Attempt)
		}
	}
}

func TestQueue_StopIsIdempotentAndCloseEndsUse(t *testing.T) {
	t.Parallel()
	q, err := queuesqlite.Open(t.TempDir(), fast())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := q.Stop(ctx); err != nil {
		t.Fatal("stop before start:", err)
	}
	start(t, q)
	if err := q.Start(ctx); !errors.Is(err, queuesqlite.ErrStarted) {
		t.Fatalf("second start: %v", err)
	}
	for range 2 {
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
	_, sendErr := q.Send(ctx, queuesqlite.NewMessage("x", 1), nil)
	_, getErr := q.Get(ctx, "x")
	for name, err := range map[string]error{"send": sendErr, "get": getErr, "start": q.Start(ctx)} {
		if !errors.Is(err, queuesqlite.ErrClosed) {
			t.Errorf("%s after close: %v, want ErrClosed", name, err)
		}
	}
}

func TestQueue_CancelledStartContextStopsTheQueue(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	var runs atomic.Int32
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { runs.Add(1); return nil, nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	eventually(t, "queue stopped", func() bool { return q.Start(context.Background()) == nil })
}

func TestQueue_SameProcessWorkStartsWithoutPolling(t *testing.T) {
	t.Parallel()
	// Every poll and maintenance interval is an hour: only the direct wake
	// from Send can start the work before the test's deadline.
	q, _ := setup(t, &queuesqlite.Config{PollInterval: time.Hour, MaintenanceInterval: time.Hour})
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	start(t, q)
	// The first message may be found by the fetcher's look at start; once it
	// has run, the fetcher is idle and only a wake can start the next ones.
	for range 4 {
		if m := wait(t, q, send(t, q, queuesqlite.NewMessage("job", nil), nil)); m.Status != queuesqlite.StatusCompleted {
			t.Fatal(m.Status)
		}
	}
}

func TestQueue_WorkFromAnotherConnectionIsNoticed(t *testing.T) {
	t.Parallel()
	// Two queues on one directory behave like two processes: separate
	// connections. The worker's fallback poll is an hour, so only the
	// data_version check (PollInterval) can notice the other's send.
	dir := t.TempDir()
	worker, err := queuesqlite.Open(dir, &queuesqlite.Config{PollInterval: 5 * time.Millisecond, MaintenanceInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Close()
	sender, err := queuesqlite.Open(dir, &queuesqlite.Config{MaintenanceInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	done := make(chan struct{}, 1)
	worker.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { done <- struct{}{}; return "x", nil }, nil)
	start(t, worker)
	// A message of the worker's own, run to the end, puts its fetcher past
	// its look at start: from then on it claims only when woken.
	wait(t, worker, send(t, worker, queuesqlite.NewMessage("job", "warm-up"), nil))
	<-done
	cbs := newCallbacks()
	id := send(t, sender, queuesqlite.NewMessage("job", nil), cbs.fn)
	select {
	case <-done:
	case <-time.After(testDeadline):
		t.Fatal("the worker never noticed work sent through another connection")
	}
	// The sender's callback fires although another queue ran the message.
	if m := cbs.next(t); m.ID != id || m.Status != queuesqlite.StatusCompleted || string(m.Result) != `"x"` {
		t.Fatalf("callback: %s %s %s", m.ID, m.Status, m.Result)
	}
}
