package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

func TestQueue_HandleRegistration(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, nil)
	h := func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }
	if err := q.Handle("a", h, nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Handle("a", h, nil); !errors.Is(err, queuesqlite.ErrHandlerExists) {
		t.Fatalf("second registration: %v", err)
	}
	for name, err := range map[string]error{
		"empty name":       q.Handle("", h, nil),
		"nil func":         q.Handle("b", nil, nil),
		"negative attempt": q.Handle("c", h, &queuesqlite.HandlerOpts{MaxAttempts: -1}),
	} {
		if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	start(t, q)
	if err := q.Handle("late", h, nil); !errors.Is(err, queuesqlite.ErrStarted) {
		t.Fatalf("registration after start: %v", err)
	}
}

func TestQueue_PriorityThenSendOrder(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Workers = 1
	q, _ := setup(t, cfg)
	var rec recorder
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		rec.add(m.ID)
		return nil, nil
	}, nil)
	prios := map[string]queuesqlite.Priority{
		"low-1": queuesqlite.PriorityLow, "normal-1": queuesqlite.PriorityNormal, "urgent-1": queuesqlite.PriorityUrgent,
		"high-1": queuesqlite.PriorityHigh, "normal-2": queuesqlite.PriorityNormal, "urgent-2": queuesqlite.PriorityUrgent,
		"low-2": queuesqlite.PriorityLow,
	}
	var last string
	for _, id := range []string{"low-1", "normal-1", "urgent-1", "high-1", "normal-2", "urgent-2", "low-2"} {
		m := queuesqlite.NewMessage("job", id)
		m.ID, m.Priority = id, prios[id]
		last = send(t, q, m, nil)
	}
	start(t, q)
	wait(t, q, last)
	eventually(t, "all 7 run", func() bool { return len(rec.list()) == 7 })
	want := "[urgent-1 urgent-2 high-1 normal-1 normal-2 low-1 low-2]"
	if got := fmt.Sprint(rec.list()); got != want {
		t.Fatalf("run order %s, want %s", got, want)
	}
}

func TestQueue_RetriesWithBackoffThenSucceeds(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	var calls atomic.Int32
	var backoffs []int
	q.Handle("flaky", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		if calls.Add(1) < 3 {
			return nil, fmt.Errorf("transient failure %d", m.Attempt)
		}
		return "ok", nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 5, Backoff: func(attempt int) time.Duration {
		backoffs = append(backoffs, attempt)
		return time.Millisecond
	}})
	start(t, q)
	m := wait(t, q, send(t, q, queuesqlite.NewMessage("flaky", nil), nil))
	if m.Status != queuesqlite.StatusCompleted || m.Attempt != 3 || m.RetryCount != 2 {
		t.Fatalf("status %s attempt %d retries %d", m.Status, m.Attempt, m.RetryCount)
	}
	if m.LastError != "transient failure 2" {
		t.Fatalf("last error %q", m.LastError)
	}
	if fmt.Sprint(backoffs) != "[1 2]" {
		t.Fatalf("backoff asked for attempts %v, want [1 2]", backoffs)
	}
}

func TestQueue_FailsAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	var calls atomic.Int32
	q.Handle("broken", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		calls.Add(1)
		return nil, errors.New("always fails")
	}, &queuesqlite.HandlerOpts{MaxAttempts: 3})
	start(t, q)
	cbs := newCallbacks()
	id := send(t, q, queuesqlite.NewMessage("broken", nil), cbs.fn)
	m := cbs.next(t)
	if m.ID != id || m.Status != queuesqlite.StatusFailed || calls.Load() != 3 {
		t.Fatalf("callback %s status %s after %d calls", m.ID, m.Status, calls.Load())
	}
	failed, err := q.ListFailed(context.Background(), "", 0)
	if err != nil || len(failed) != 1 || failed[0].ID != id || failed[0].Attempt != 3 {
		t.Fatalf("dead letters: %v, %v", failed, err)
	}
}

func TestQueue_SkipRetryFailsAtOnce(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	var calls atomic.Int32
	q.Handle("strict", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		calls.Add(1)
		return nil, fmt.Errorf("bad input: %w", queuesqlite.ErrSkipRetry)
	}, nil)
	start(t, q)
	m := wait(t, q, send(t, q, queuesqlite.NewMessage("strict", nil), nil))
	if m.Status != queuesqlite.StatusFailed || calls.Load() != 1 || m.Attempt != 1 {
		t.Fatalf("status %s after %d calls", m.Status, calls.Load())
	}
}

func TestQueue_RunAgainAfterDoesNotCountAnAttempt(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	var calls atomic.Int32
	q.Handle("poll", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		if calls.Add(1) <= 3 {
			return nil, queuesqlite.RunAgainAfter(time.Millisecond)
		}
		return m.Attempt, nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 1})
	start(t, q)
	m := wait(t, q, send(t, q, queuesqlite.NewMessage("poll", nil), nil))
	if m.Status != queuesqlite.StatusCompleted || string(m.Result) != "1" || calls.Load() != 4 {
		t.Fatalf("status %s result %s calls %d", m.Status, m.Result, calls.Load())
	}
}

func TestQueue_PanicFailsTheAttemptWithItsStack(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Workers = 1
	q, _ := setup(t, cfg)
	var calls atomic.Int32
	q.Handle("boom", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		calls.Add(1)
		panic("kaboom")
	}, &queuesqlite.HandlerOpts{MaxAttempts: 2})
	q.Handle("fine", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "ok", nil }, nil)
	start(t, q)
	boom := wait(t, q, send(t, q, queuesqlite.NewMessage("boom", nil), nil))
	if boom.Status != queuesqlite.StatusFailed || calls.Load() != 2 {
		t.Fatalf("panicking handler: status %s after %d calls", boom.Status, calls.Load())
	}
	if !strings.Contains(boom.LastError, "panic: kaboom") || !strings.Contains(boom.LastError, "handler_test.go") {
		t.Fatalf("stored error lacks the panic and its stack: %q", boom.LastError)
	}
	// The single worker slot was freed: other work still runs.
	if fine := wait(t, q, send(t, q, queuesqlite.NewMessage("fine", nil), nil)); fine.Status != queuesqlite.StatusCompleted {
		t.Fatalf("after the panics: %s", fine.Status)
	}
}

func TestQueue_TimeoutCancelsTheAttempt(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	q.Handle("slow", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		<-ctx.Done()
		cause := context.Cause(ctx)
		if !errors.Is(cause, queuesqlite.ErrHandlerTimeout) || !errors.Is(cause, context.DeadlineExceeded) {
			t.Errorf("cause %v: want ErrHandlerTimeout, matching context.DeadlineExceeded", cause)
		}
		return nil, cause
	}, &queuesqlite.HandlerOpts{Timeout: 10 * time.Millisecond, MaxAttempts: 1})
	start(t, q)
	m := wait(t, q, send(t, q, queuesqlite.NewMessage("slow", nil), nil))
	if m.Status != queuesqlite.StatusFailed || !strings.Contains(m.LastError, "timed out after 10ms") {
		t.Fatalf("status %s error %q", m.Status, m.LastError)
	}
}

func TestHandleJSON_DecodesContentAndEncodesResult(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	type in struct{ A, B int }
	type out struct{ Sum int }
	err := queuesqlite.HandleJSON(q, "add", func(ctx context.Context, v in) (out, error) {
		return out{Sum: v.A + v.B}, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start(t, q)
	m := wait(t, q, send(t, q, queuesqlite.NewMessage("add", in{2, 3}), nil))
	var got out
	if err := m.DecodeResult(&got); err != nil || got.Sum != 5 {
		t.Fatalf("result %s, %v", m.Result, err)
	}
	bad := wait(t, q, send(t, q, queuesqlite.NewMessage("add", "not an object"), nil))
	if bad.Status != queuesqlite.StatusFailed || bad.Attempt != 1 || !strings.Contains(bad.LastError, "decode content") {
		t.Fatalf("undecodable content: status %s attempt %d error %q", bad.Status, bad.Attempt, bad.LastError)
	}
}

func TestQueue_UnhandledDestinationWaitsAndShowsInStats(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	q.Handle("known", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	start(t, q)
	orphan := send(t, q, queuesqlite.NewMessage("nobody", nil), nil)
	wait(t, q, send(t, q, queuesqlite.NewMessage("known", nil), nil))
	m, _ := q.Get(context.Background(), orphan)
	if m.Status != queuesqlite.StatusPending {
		t.Fatalf("message for an unhandled destination is %s", m.Status)
	}
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(st.Unhandled) != "[nobody]" || st.ByDestination["nobody"][queuesqlite.StatusPending] != 1 {
		t.Fatalf("stats: unhandled %v, counts %v", st.Unhandled, st.ByDestination)
	}
	if st.OldestPending.IsZero() {
		t.Fatalf("stats: no oldest pending")
	}
	// Wait may see the stored outcome a moment before the counter moves.
	eventually(t, "one attempt counted", func() bool {
		st, _ := q.Stats(context.Background())
		return st.Processed == 1
	})
}
