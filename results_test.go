package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

func TestQueue_CancelPendingFiresCallback(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	started := make(chan struct{})
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}, nil)
	start(t, q)
	ctx := context.Background()
	cbs := newCallbacks()
	later := queuesqlite.NewMessage("job", nil)
	later.Delay = time.Hour
	id := send(t, q, later, cbs.fn)
	m, err := q.Cancel(ctx, id)
	if err != nil || m.Status != queuesqlite.StatusCancelled {
		t.Fatalf("cancel: %v %v", m, err)
	}
	if got := cbs.next(t); got.ID != id || got.Status != queuesqlite.StatusCancelled {
		t.Fatalf("callback: %s %s", got.ID, got.Status)
	}
	running := send(t, q, queuesqlite.NewMessage("job", nil), nil)
	<-started
	if _, err := q.Cancel(ctx, running); !errors.Is(err, queuesqlite.ErrInvalidState) {
		t.Fatalf("cancel running: %v", err)
	}
	if _, err := q.Cancel(ctx, "no-such-id"); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("cancel missing: %v", err)
	}
	if cbs.count(id) != 1 {
		t.Fatalf("callback fired %d times", cbs.count(id))
	}
}

func TestQueue_RetryRequeuesAFailedMessage(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	var healthy atomic.Bool
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		if !healthy.Load() {
			return nil, errors.New("down")
		}
		return "up", nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 1})
	start(t, q)
	ctx := context.Background()
	id := send(t, q, queuesqlite.NewMessage("job", nil), nil)
	if m := wait(t, q, id); m.Status != queuesqlite.StatusFailed {
		t.Fatalf("first run: %s", m.Status)
	}
	healthy.Store(true)
	if _, err := q.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	if m := wait(t, q, id); m.Status != queuesqlite.StatusCompleted || m.Attempt != 1 {
		t.Fatalf("after retry: %s attempt %d", m.Status, m.Attempt)
	}
	if _, err := q.Retry(ctx, id); !errors.Is(err, queuesqlite.ErrInvalidState) {
		t.Fatalf("retry of a completed message: %v", err)
	}
}

func TestQueue_ExpiredMessageNeverRuns(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	var ran atomic.Int32
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { ran.Add(1); return nil, nil }, nil)
	cbs := newCallbacks()
	m := queuesqlite.NewMessage("job", nil)
	m.TTL = time.Millisecond
	id := send(t, q, m, cbs.fn)
	time.Sleep(5 * time.Millisecond) // let the expire time pass before any worker exists
	start(t, q)
	got := cbs.next(t)
	if got.ID != id || got.Status != queuesqlite.StatusExpired || ran.Load() != 0 {
		t.Fatalf("callback %s status %s; handler ran %d times", got.ID, got.Status, ran.Load())
	}
	if stored := wait(t, q, id); stored.Attempt != 0 || stored.FinishedAt.IsZero() {
		t.Fatalf("stored: attempt %d finished %v", stored.Attempt, stored.FinishedAt)
	}
}

func TestQueue_ExpiryWhileWaitingForAWorker(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	// No handler for "later" in this process: only maintenance can expire it.
	cbs := newCallbacks()
	m := queuesqlite.NewMessage("later", nil)
	m.TTL = 5 * time.Millisecond
	id := send(t, q, m, cbs.fn)
	start(t, q)
	if got := cbs.next(t); got.ID != id || got.Status != queuesqlite.StatusExpired {
		t.Fatalf("callback: %s %s", got.ID, got.Status)
	}
}

func TestQueue_DelayedMessageDoesNotRunEarly(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	startedAt := make(chan time.Time, 1)
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		startedAt <- time.Now()
		return nil, nil
	}, nil)
	start(t, q)
	m := queuesqlite.NewMessage("job", nil)
	m.Delay = 50 * time.Millisecond
	sentAt := time.Now()
	id := send(t, q, m, nil)
	wait(t, q, id)
	if ran := <-startedAt; ran.Sub(sentAt) < m.Delay {
		t.Fatalf("ran %v after send, before its %v delay", ran.Sub(sentAt), m.Delay)
	}
}

func TestQueue_CallbacksFireExactlyOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := func() *queuesqlite.Queue {
		q, err := queuesqlite.Open(dir, &queuesqlite.Config{Workers: 8, PollInterval: 5 * time.Millisecond, MaintenanceInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	a, b := open(), open()
	defer dbtest.CheckInvariants(t, dir)
	defer a.Close()
	defer b.Close()
	var ranOn [2]atomic.Int32
	for i, q := range []*queuesqlite.Queue{a, b} {
		q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
			ranOn[i].Add(1)
			return m.ID, nil
		}, nil)
	}
	start(t, a)
	start(t, b)
	cbs := newCallbacks()
	const n = 400
	var ids []string
	for i := range n {
		ids = append(ids, send(t, a, queuesqlite.NewMessage("job", i), cbs.fn))
	}
	for range n {
		cbs.next(t)
	}
	for _, id := range ids {
		if c := cbs.count(id); c != 1 {
			t.Fatalf("callback for %s fired %d times", id, c)
		}
		if got := cbs.got[id][0]; got.Status != queuesqlite.StatusCompleted || string(got.Result) != fmt.Sprintf("%q", id) {
			t.Fatalf("callback message %s: %s %s", id, got.Status, got.Result)
		}
	}
	if total := ranOn[0].Load() + ranOn[1].Load(); total != n {
		t.Fatalf("handlers ran %d times for %d messages", total, n)
	}
	t.Logf("instance a ran %d, instance b ran %d", ranOn[0].Load(), ranOn[1].Load())
}

func TestQueue_DeadWorkersMessageIsRescued(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Lease = 300 * time.Millisecond // a holder with no liveness row is watched for one lease
	q, dir := setup(t, cfg)
	id := send(t, q, queuesqlite.NewMessage("job", nil), nil)
	// Simulate a process that claimed the message and died: processing,
	// attempt 1, under a lease that has already run out.
	db := dbtest.Open(t, dbtest.ShardFiles(t, dir)[0])
	if _, err := db.Exec(`UPDATE messages SET status = `+dbtest.SQLList(queuesqlite.StatusProcessing)+`, attempt = 1, lease_owner = 'dead-host:1:x/1', lease_expires_at = ? WHERE id = ?`,
		time.Now().Add(-time.Second).UnixMicro(), id); err != nil {
		t.Fatal(err)
	}
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return m.Attempt, nil }, nil)
	start(t, q)
	m := wait(t, q, id)
	if m.Status != queuesqlite.StatusCompleted || string(m.Result) != "2" || m.RetryCount != 1 {
		t.Fatalf("rescued message: %s result %s retries %d", m.Status, m.Result, m.RetryCount)
	}
	if !strings.Contains(m.LastError, "lease of dead-host:1:x/1 expired") {
		t.Fatalf("last error %q", m.LastError)
	}
}

func TestQueue_HandlerLearnsItLostTheLease(t *testing.T) {
	t.Parallel()
	cfg := fast()
	// Heartbeat every 500ms: often enough to notice the theft soon, and a
	// lease long enough that a loaded machine's late heartbeat never lets
	// it expire (a rescue would then muddle what the test looks at).
	cfg.Lease = 1500 * time.Millisecond
	logs := &logCapture{}
	cfg.Logger = slog.New(logs)
	q, dir := setup(t, cfg)
	causes := make(chan error, 1)
	started := make(chan string, 1)
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		started <- m.ID
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return "stale result", nil
	}, nil)
	start(t, q)
	id := send(t, q, queuesqlite.NewMessage("job", nil), nil)
	<-started
	// Another worker takes the message over (as after a rescue).
	db := dbtest.Open(t, dbtest.ShardFiles(t, dir)[0])
	if _, err := db.Exec(`UPDATE messages SET lease_owner = 'thief', attempt = attempt + 1, lease_expires_at = ? WHERE id = ?`,
		time.Now().Add(time.Hour).UnixMicro(), id); err != nil {
		t.Fatal(err)
	}
	select {
	case cause := <-causes:
		if !errors.Is(cause, queuesqlite.ErrLeaseLost) {
			t.Fatalf("handler context cause %v, want ErrLeaseLost", cause)
		}
	case <-time.After(testDeadline):
		t.Fatal("handler was never told it lost the lease")
	}
	eventually(t, "the stale outcome to be refused", func() bool { return logs.has("outcome not recorded: lease lost") })
	m, _ := q.Get(context.Background(), id)
	if m.Status != queuesqlite.StatusProcessing || m.LeaseOwner != "thief" || m.Result != nil {
		t.Fatalf("the stale worker overwrote the new attempt: %s owner %s result %s", m.Status, m.LeaseOwner, m.Result)
	}
	// Leave the row consistent for the invariant check.
	db.Exec(`UPDATE messages SET status = `+dbtest.SQLList(queuesqlite.StatusPending)+`, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?`, id)
}
