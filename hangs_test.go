package queuesqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/queue-sqlite/queuesqlite"
)

// A handler that ignores its context past its Timeout must not hold its
// worker forever: after the grace its slot is freed, the attempt fails
// (counted against MaxAttempts), and when it finally returns its outcome
// is refused.
func TestQueue_HandlerIgnoringItsTimeoutIsAbandonedAndFails(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Workers = 1 // one slot: the others can only run if the stuck one's slot is freed
	logs := &logCapture{}
	cfg.Logger = slog.New(logs)
	q, _ := setup(t, cfg)
	block := make(chan struct{})
	late := make(chan struct{}, 2)
	q.Handle("stuck", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		<-block // ignores ctx
		late <- struct{}{}
		return "too late", nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 2, Timeout: 20 * time.Millisecond, TimeoutGrace: 30 * time.Millisecond})
	q.Handle("ok", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "fine", nil }, nil)
	start(t, q)
	stuck := send(t, q, queuesqlite.NewMessage("stuck", nil), nil)
	var others []string
	for range 3 {
		others = append(others, send(t, q, queuesqlite.NewMessage("ok", nil), nil))
	}
	for _, id := range others {
		if m := wait(t, q, id); m.Status != queuesqlite.StatusCompleted {
			t.Fatalf("other message %s: %s", id, m.Status)
		}
	}
	m := wait(t, q, stuck)
	if m.Status != queuesqlite.StatusFailed || m.Attempt != 2 || !strings.Contains(m.LastError, "ignored its timeout") {
		t.Fatalf("stuck message: status %s, attempt %d, error %q; want failed after 2 attempts, ignored its timeout",
			m.Status, m.Attempt, m.LastError)
	}
	// The give-up is counted and logged just after its outcome is handed
	// over, so the outcome may be stored (and Wait return) a moment earlier.
	eventually(t, "both give-ups to be counted and logged", func() bool {
		a := q.Abandoned()
		return a.HandlersTimedOut == 2 && a.Running == 2 &&
			logs.has("handler ignored its timeout; abandoned it and freed its worker")
	})
	close(block) // the stuck goroutines return at last: their outcomes are refused
	<-late
	<-late
	eventually(t, "the late handlers to be counted back", func() bool { return q.Abandoned().Running == 0 })
	if m, _ := q.Get(context.Background(), stuck); m.Status != queuesqlite.StatusFailed || m.Result != nil {
		t.Fatalf("after the late return: %s %s; want failed with no result", m.Status, m.Result)
	}
}

// holdWriteLock opens a plain connection to the queue's first file and holds
// its write lock (BEGIN IMMEDIATE), as a long application transaction,
// another tool or a frozen process would. The returned func releases it
// (rolling back); it also runs at cleanup.
func holdWriteLock(t *testing.T, dir string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "queue_shard_0.db"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				t.Errorf("release the write lock: %v", err)
			}
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// lockedBound is how long a call with a 1 s deadline may take while the
// write lock is held elsewhere: generous, for a loaded machine; without the
// fix such calls waited for the lock itself.
const lockedBound = 10 * time.Second

// A caller's deadline holds while another connection holds the write lock:
// Send returns by it with an error saying the database is locked, nothing
// is half-written, a caller with a longer deadline keeps waiting and
// succeeds once the lock is released, and reads are not held up.
func TestQueue_SendReturnsByItsDeadlineWhileAnotherConnectionHoldsTheLock(t *testing.T) {
	t.Parallel()
	q, dir := setup(t, fast())
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "done", nil }, nil)
	before := send(t, q, queuesqlite.NewMessage("job", nil), nil)
	release := holdWriteLock(t, dir)

	patient := make(chan error, 1)
	patientMsg := queuesqlite.NewMessage("job", "patient")
	patientMsg.ID = "patient"
	go func() {
		_, err := q.Send(context.Background(), patientMsg, nil)
		patient <- err
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	lost := queuesqlite.NewMessage("job", "lost")
	lost.ID = "lost"
	began := time.Now()
	_, err := q.Send(ctx, lost, nil)
	took := time.Since(began)
	if err == nil {
		t.Fatal("Send succeeded while another connection held the write lock")
	}
	if !errors.Is(err, queuesqlite.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "locked by another connection") {
		t.Fatalf("Send error %v; want ErrLocked and DeadlineExceeded", err)
	}
	if took > lockedBound {
		t.Fatalf("Send with a 1s deadline returned after %v", took)
	}
	tctx, tcancel := context.WithTimeout(context.Background(), time.Second)
	defer tcancel()
	began = time.Now()
	err = q.InTx(tctx, func(tx *sql.Tx) error {
		t.Error("InTx ran its function while another connection held the write lock")
		return nil
	})
	if took := time.Since(began); !errors.Is(err, queuesqlite.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) ||
		took > lockedBound {
		t.Fatalf("InTx while locked: %v after %v; want ErrLocked and DeadlineExceeded by its deadline", err, took)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), time.Second)
	defer rcancel()
	if _, err := q.Get(rctx, before); err != nil {
		t.Fatalf("Get while locked: %v", err)
	}
	if _, err := q.Stats(rctx); err != nil {
		t.Fatalf("Stats while locked: %v", err)
	}
	select {
	case err := <-patient:
		t.Fatalf("a Send without deadline returned while the lock was held: %v", err)
	default:
	}

	release()
	select {
	case err := <-patient:
		if err != nil {
			t.Fatalf("the patient Send after the lock was released: %v", err)
		}
	case <-time.After(testDeadline):
		t.Fatal("the patient Send never returned after the lock was released")
	}
	if _, err := q.Get(context.Background(), lost.ID); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("the timed-out message: %v; want ErrNotFound (nothing written)", err)
	}
	start(t, q)
	for _, id := range []string{before, patientMsg.ID, send(t, q, queuesqlite.NewMessage("job", "after"), nil)} {
		if m := wait(t, q, id); m.Status != queuesqlite.StatusCompleted {
			t.Fatalf("%s: %s", id, m.Status)
		}
	}
}

// Close returns while another connection holds the write lock, with a
// handler in flight whose outcome cannot be recorded.
func TestQueue_CloseReturnsWhileAnotherConnectionHoldsTheLock(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.StopTimeout = 500 * time.Millisecond
	q, dir := setup(t, cfg)
	running, finish := make(chan struct{}), make(chan struct{})
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		close(running)
		<-finish
		return "done", nil
	}, nil)
	start(t, q)
	send(t, q, queuesqlite.NewMessage("job", nil), nil)
	<-running
	release := holdWriteLock(t, dir)
	close(finish) // its outcome now waits for the lock
	closed := make(chan error, 1)
	go func() { closed <- q.Close() }()
	select {
	case <-closed:
	case <-time.After(cfg.StopTimeout + lockedBound):
		t.Fatal("Close did not return while another connection held the write lock")
	}
	release()
}

// closeBound is how long Close may take beyond StopTimeout: generous, for a
// loaded machine (the queue's own margin is about 1.5 s).
const closeBound = 10 * time.Second

// Close does not wait for a callback that never returns: it abandons it
// (logged, counted), drops the callbacks queued behind it, and the
// abandoned callback is never called again.
func TestQueue_CloseAbandonsACallbackThatNeverReturns(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.CallbackWorkers = 1
	logs := &logCapture{}
	cfg.Logger = slog.New(logs)
	q, _ := setup(t, cfg)
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "done", nil }, nil)
	start(t, q)
	release, started := make(chan struct{}), make(chan struct{})
	var calls sync.Map
	blocking := func(m *queuesqlite.Message) {
		n, _ := calls.LoadOrStore(m.ID, new(int))
		*n.(*int)++
		close(started)
		<-release // ignores everything
	}
	stuck := send(t, q, queuesqlite.NewMessage("job", nil), blocking)
	<-started
	behind := send(t, q, queuesqlite.NewMessage("job", nil), func(*queuesqlite.Message) { t.Error("a dropped callback ran") })
	wait(t, q, behind) // its callback is queued behind the stuck one

	closed := make(chan error, 1)
	go func() { closed <- q.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(cfg.StopTimeout + closeBound):
		t.Fatal("Close waited for a callback that never returns")
	}
	if a := q.Abandoned(); a.Callbacks != 1 || a.CallbacksDropped != 1 || a.Running != 1 {
		t.Fatalf("abandoned %+v; want 1 callback abandoned, 1 dropped, 1 running", a)
	}
	if !logs.has("callback still running at close; abandoned it (it is not called again)") ||
		!logs.has("callback dropped: the queue closed before it could run") {
		t.Fatal("the abandoned and dropped callbacks were not logged")
	}
	close(release)
	eventually(t, "the abandoned callback to return", func() bool { return q.Abandoned().Running == 0 })
	if n, _ := calls.Load(stuck); *n.(*int) != 1 {
		t.Fatalf("the abandoned callback ran %d times", *n.(*int))
	}
}

// Stop does not wait for a listener that ignores its context: it abandons
// it (logged, counted), and the change is delivered again on the next Start.
func TestQueue_StopAbandonsAListenerThatIgnoresItsContext(t *testing.T) {
	t.Parallel()
	cfg := fast()
	logs := &logCapture{}
	cfg.Logger = slog.New(logs)
	q, _ := setup(t, cfg)
	release := make(chan struct{})
	defer close(release)
	seen := make(chan int64, 10)
	var calls atomic.Int32
	q.Listen("config", func(ctx context.Context, c *queuesqlite.Change) error {
		n := calls.Add(1)
		seen <- c.Seq
		if n == 1 {
			<-release // ignores ctx
		}
		return nil
	}, nil)
	start(t, q)
	if _, err := q.SetListenData(context.Background(), "config", "v1"); err != nil {
		t.Fatal(err)
	}
	first := <-seen
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		q.Stop(ctx)
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(closeBound):
		t.Fatal("Stop waited for a listener that ignores its context")
	}
	if a := q.Abandoned(); a.Listeners != 1 || a.Running != 1 {
		t.Fatalf("abandoned %+v; want 1 listener, 1 running", a)
	}
	if !logs.has("listener ignored its context at stop; abandoned it (the change will be delivered again)") {
		t.Fatal("the abandoned listener was not logged")
	}
	start(t, q)
	select {
	case again := <-seen:
		if again != first {
			t.Fatalf("after restart got change %d, want %d again", again, first)
		}
	case <-time.After(testDeadline):
		t.Fatal("the abandoned change was not delivered again")
	}
}

// Stop does not give back, uncharged, an attempt whose handler ran past its
// Timeout: it is charged (here its only attempt, so the message fails).
func TestQueue_StopChargesAHandlerPastItsTimeout(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	block, running := make(chan struct{}), make(chan struct{})
	defer close(block)
	q.Handle("stuck", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		close(running)
		<-ctx.Done() // its timeout passes here...
		<-block      // ...and it ignores it
		return nil, ctx.Err()
	}, &queuesqlite.HandlerOpts{MaxAttempts: 1, Timeout: 10 * time.Millisecond, TimeoutGrace: time.Hour})
	start(t, q)
	id := send(t, q, queuesqlite.NewMessage("stuck", nil), nil)
	<-running
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := q.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != queuesqlite.StatusFailed || !strings.Contains(m.LastError, "ignored its timeout") {
		t.Fatalf("after Stop: %s %q; want failed, ignored its timeout (not released uncharged)", m.Status, m.LastError)
	}
	if a := q.Abandoned(); a.HandlersTimedOut != 1 || a.HandlersAtStop != 0 {
		t.Fatalf("abandoned %+v; want 1 timed out, 0 at stop", a)
	}
}

// Many callers wait for a lock held elsewhere, with deadlines ending one
// after another (so the writer's leadership passes from caller to caller)
// and some without one: each caller with a deadline fails with ErrLocked by
// it, each without succeeds once the lock is released, and exactly the
// successful sends are stored.
func TestQueue_ManyCallersWaitingForALockHeldElsewhere(t *testing.T) {
	t.Parallel()
	q, dir := setup(t, fast())
	release := holdWriteLock(t, dir)
	const timed, patient = 24, 6
	type result struct {
		id       string
		deadline bool
		err      error
	}
	results := make(chan result, timed+patient)
	for i := range timed + patient {
		go func() {
			ctx := context.Background()
			if i < timed {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(50+40*i)*time.Millisecond)
				defer cancel()
			}
			m := queuesqlite.NewMessage("job", i)
			m.ID = fmt.Sprintf("m%d", i)
			_, err := q.Send(ctx, m, nil)
			results <- result{m.ID, i < timed, err}
		}()
	}
	var stored []string
	for range timed {
		r := <-results
		if !r.deadline {
			t.Fatalf("a Send without deadline returned while the lock was held: %v", r.err)
		}
		if !errors.Is(r.err, queuesqlite.ErrLocked) || !errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("%s: %v; want ErrLocked and DeadlineExceeded", r.id, r.err)
		}
	}
	release()
	for range patient {
		r := <-results
		if r.err != nil {
			t.Fatalf("%s after the lock was released: %v", r.id, r.err)
		}
		stored = append(stored, r.id)
	}
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.ByStatus[queuesqlite.StatusPending] != patient {
		t.Fatalf("%d messages stored, want the %d successful sends %v", st.ByStatus[queuesqlite.StatusPending], patient, stored)
	}
	for _, id := range stored {
		if _, err := q.Get(context.Background(), id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
}
