package complete_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/internal/complete"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// maxTries mirrors the constant in complete.go: a batch is tried at most
// this often.
const maxTries = 20

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// errTransient is a storage error worth retrying.
var errTransient = &queuetype.StorageError{Op: "complete", Err: errors.New("disk I/O error")}

func openShard(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// claimed inserts n pending messages into db and claims them for "worker".
func claimed(t *testing.T, db *sqlite.DB, prefix string, n int) []*queuetype.Message {
	t.Helper()
	ctx := context.Background()
	var ms []*queuetype.Message
	for i := range n {
		ms = append(ms, &queuetype.Message{
			ID: fmt.Sprintf("%s%d", prefix, i), Type: queuetype.TypeTask, Status: queuetype.StatusPending,
			Destination: "d", Source: queuetype.SourceDefault, Content: []byte(`{}`),
			Priority: queuetype.PriorityNormal, CreatedAt: t0, UpdatedAt: t0, RunAt: t0, MaxAttempts: 3,
		})
	}
	if err := db.Insert(ctx, driver.InsertParams{Messages: ms}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Claim(ctx, driver.ClaimParams{Destinations: []string{"d"}, Max: n, Owner: "worker",
		Now: t0, LeaseUntil: t0.Add(time.Hour), Me: "me"})
	if err != nil || len(got) != n {
		t.Fatalf("claim: %d messages, %v; want %d", len(got), err, n)
	}
	return got
}

// item is the "completed" outcome of the attempt claimed in m.
func item(m *queuetype.Message) *complete.Item {
	return &complete.Item{Msg: m, C: driver.Completion{
		Seq: m.Seq, Attempt: m.Attempt, Owner: m.LeaseOwner, Status: queuetype.StatusCompleted,
		Result: []byte(`{"ok":true}`), Now: t0.Add(time.Second), Me: "me",
	}}
}

// applier records the outcomes into a real store, after an optional gate
// and fault injection.
type applier struct {
	db      *sqlite.DB
	entered chan struct{}   // signalled at every call
	gate    chan struct{}   // when set, calls wait until it is closed
	fail    func(int) error // when set, consulted before each call (counting from 1)

	mu    sync.Mutex
	calls []applyCall
}

type applyCall struct {
	cs []*driver.Completion
}

func newApplier(db *sqlite.DB) *applier {
	return &applier{db: db, entered: make(chan struct{}, 1)}
}

func (a *applier) apply(ctx context.Context, cs []*driver.Completion) error {
	a.mu.Lock()
	a.calls = append(a.calls, applyCall{slices.Clone(cs)})
	n := len(a.calls)
	a.mu.Unlock()
	select {
	case a.entered <- struct{}{}:
	default:
	}
	if a.gate != nil {
		<-a.gate
	}
	if a.fail != nil {
		if err := a.fail(n); err != nil {
			return err
		}
	}
	return a.db.Complete(ctx, cs)
}

func (a *applier) snapshot() []applyCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func (a *applier) sizes() []int {
	var out []int
	for _, c := range a.snapshot() {
		out = append(out, len(c.cs))
	}
	return out
}

// batch is what After saw.
type batch struct {
	ids     []string
	applied []bool
	err     error
}

type afterLog struct {
	mu      sync.Mutex
	batches []batch
}

func (l *afterLog) after(items []*complete.Item, err error) {
	b := batch{err: err}
	for _, it := range items {
		b.ids = append(b.ids, it.Msg.ID)
		b.applied = append(b.applied, it.C.Applied)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, b)
}

func (l *afterLog) snapshot() []batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.batches)
}

func newCompleter(t *testing.T, a *applier, l *afterLog, maxBatch, capacity int) *complete.Completer {
	t.Helper()
	c := complete.New(complete.Config{Apply: a.apply, After: l.after, MaxBatch: maxBatch, Capacity: capacity,
		Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { c.Stop(context.Background()) })
	return c
}

func wantStatus(t *testing.T, db *sqlite.DB, id string, want queuetype.Status) {
	t.Helper()
	m, err := db.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != want {
		t.Fatalf("message %s: status %s, want %s", id, m.Status, want)
	}
}

func mustAdd(t *testing.T, c *complete.Completer, it *complete.Item) {
	t.Helper()
	if !c.Add(it) {
		t.Fatalf("Add(%s) = false before Stop", it.Msg.ID)
	}
}

func waitChan[T any](t *testing.T, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

func doneCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestCompleter_BatchesAdds(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	ms := claimed(t, db, "m", 25)
	a, l := newApplier(db), &afterLog{}
	a.gate = make(chan struct{})
	c := newCompleter(t, a, l, 10, 100)

	// The first outcome goes straight to storage, which is slow: the other
	// 24 pile up meanwhile and go in batches of at most MaxBatch.
	mustAdd(t, c, item(ms[0]))
	waitChan(t, "the first Apply", a.entered)
	for _, m := range ms[1:] {
		mustAdd(t, c, item(m))
	}
	close(a.gate)
	c.Stop(context.Background())

	if got, want := a.sizes(), []int{1, 10, 10, 4}; !slices.Equal(got, want) {
		t.Fatalf("Apply batch sizes %v, want %v", got, want)
	}
	bs := l.snapshot()
	var sizes []int
	var ids []string
	for _, b := range bs {
		sizes = append(sizes, len(b.ids))
		ids = append(ids, b.ids...)
		if b.err != nil || slices.Contains(b.applied, false) {
			t.Fatalf("After got err %v, applied %v; want nil, all true", b.err, b.applied)
		}
	}
	if want := []int{1, 10, 10, 4}; !slices.Equal(sizes, want) {
		t.Fatalf("After batch sizes %v, want %v (once per batch)", sizes, want)
	}
	for i, m := range ms {
		if ids[i] != m.ID {
			t.Fatalf("After saw %v, want the messages in Add order", ids)
		}
		wantStatus(t, db, m.ID, queuetype.StatusCompleted)
	}
}

func TestCompleter_RetriesTransientFailures(t *testing.T) {
	t.Parallel()
	for _, failures := range []int{0, 1, 3} {
		t.Run(fmt.Sprint("Failures", failures), func(t *testing.T) {
			t.Parallel()
			db := openShard(t)
			m := claimed(t, db, "m", 1)[0]
			a, l := newApplier(db), &afterLog{}
			a.fail = func(call int) error {
				if call <= failures {
					return errTransient
				}
				return nil
			}
			c := newCompleter(t, a, l, 10, 10)
			mustAdd(t, c, item(m))
			c.Stop(context.Background())

			if got := len(a.snapshot()); got != failures+1 {
				t.Fatalf("%d Apply calls, want %d", got, failures+1)
			}
			bs := l.snapshot()
			if len(bs) != 1 || bs[0].err != nil || !bs[0].applied[0] {
				t.Fatalf("After batches %+v, want one, recorded without error", bs)
			}
			wantStatus(t, db, m.ID, queuetype.StatusCompleted)
		})
	}
}

func TestCompleter_GivesUpOnErrClosed(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	m := claimed(t, db, "m", 1)[0]
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	a, l := newApplier(db), &afterLog{}
	c := newCompleter(t, a, l, 10, 10)
	mustAdd(t, c, item(m))
	c.Stop(context.Background())

	if got := len(a.snapshot()); got != 1 {
		t.Fatalf("%d Apply calls on a closed shard, want 1 (no retry)", got)
	}
	bs := l.snapshot()
	if len(bs) != 1 || !errors.Is(bs[0].err, queuetype.ErrClosed) || bs[0].applied[0] {
		t.Fatalf("After batches %+v, want one with ErrClosed, not applied", bs)
	}
}

func TestCompleter_GivesUpWhenStopContextEnds(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	m := claimed(t, db, "m", 1)[0]
	a, l := newApplier(db), &afterLog{}
	a.fail = func(int) error { return errTransient } // storage never recovers
	c := newCompleter(t, a, l, 10, 10)
	mustAdd(t, c, item(m))
	waitChan(t, "the first Apply", a.entered)
	c.Stop(doneCtx())

	if got := len(a.snapshot()); got >= maxTries {
		t.Fatalf("%d Apply calls, want fewer than %d: Stop's ended context must end the retries", got, maxTries)
	}
	bs := l.snapshot()
	if len(bs) != 1 || !errors.Is(bs[0].err, errTransient) || bs[0].applied[0] {
		t.Fatalf("After batches %+v, want one with the storage error, not applied", bs)
	}
	wantStatus(t, db, m.ID, queuetype.StatusProcessing)
}

// While storage fails, workers blocked in Add hold the completer's read
// lock; Stop's deadline must still end the retries instead of waiting for
// every batch to use up all its tries.
func TestCompleter_StopDeadlineWithAddBlocked(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	ms := claimed(t, db, "m", 3)
	a, l := newApplier(db), &afterLog{}
	a.fail = func(int) error { return errTransient }
	c := newCompleter(t, a, l, 1, 1)

	mustAdd(t, c, item(ms[0]))
	waitChan(t, "the first Apply", a.entered)
	mustAdd(t, c, item(ms[1])) // fills the buffer
	added := make(chan bool, 1)
	go func() { added <- c.Add(item(ms[2])) }() // blocks: the buffer is full
	// Give that Add time to block holding the lock. If it has not got there
	// yet, Stop takes the lock first and the Add is refused: still correct.
	time.Sleep(20 * time.Millisecond)
	c.Stop(doneCtx())
	third := waitChan(t, "the blocked Add", added)

	if got := len(a.snapshot()); got >= maxTries {
		t.Fatalf("%d Apply calls: Stop's ended context did not end the retries", got)
	}
	var seen []string
	for _, b := range l.snapshot() {
		seen = append(seen, b.ids...)
		if b.err == nil {
			t.Fatalf("After batch %v without error, want the storage error", b.ids)
		}
	}
	want := []string{ms[0].ID, ms[1].ID}
	if third {
		want = append(want, ms[2].ID)
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("After saw %v, want every accepted outcome %v", seen, want)
	}
}

func TestCompleter_AddBlocksWhenFull(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	ms := claimed(t, db, "m", 4)
	a, l := newApplier(db), &afterLog{}
	a.gate = make(chan struct{})
	c := newCompleter(t, a, l, 10, 2)

	mustAdd(t, c, item(ms[0]))
	waitChan(t, "the first Apply", a.entered)
	mustAdd(t, c, item(ms[1]))
	mustAdd(t, c, item(ms[2]))
	added := make(chan bool, 1)
	go func() { added <- c.Add(item(ms[3])) }()
	select {
	case <-added:
		t.Fatal("Add returned while the buffer was full and storage stalled")
	case <-time.After(20 * time.Millisecond):
	}
	close(a.gate)
	if !waitChan(t, "the blocked Add", added) {
		t.Fatal("blocked Add = false, want true once the buffer drained")
	}
	c.Stop(context.Background())
	for _, m := range ms {
		wantStatus(t, db, m.ID, queuetype.StatusCompleted)
	}
}

func TestCompleter_AfterSeesAppliedFlags(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	ms := claimed(t, db, "m", 3)
	a, l := newApplier(db), &afterLog{}
	a.gate = make(chan struct{})
	c := newCompleter(t, a, l, 10, 10)

	held := item(ms[0])
	otherOwner := item(ms[1])
	otherOwner.C.Owner = "someone-else" // the lease moved on
	staleAttempt := item(ms[2])
	staleAttempt.C.Attempt-- // an earlier attempt's late outcome

	mustAdd(t, c, held)
	waitChan(t, "the first Apply", a.entered)
	mustAdd(t, c, otherOwner)
	mustAdd(t, c, staleAttempt)
	close(a.gate)
	c.Stop(context.Background())

	var applied []bool
	for _, b := range l.snapshot() {
		if b.err != nil {
			t.Fatalf("After err %v, want nil (a lost lease is not an error)", b.err)
		}
		applied = append(applied, b.applied...)
	}
	if want := []bool{true, false, false}; !slices.Equal(applied, want) {
		t.Fatalf("Applied flags %v, want %v", applied, want)
	}
	wantStatus(t, db, ms[0].ID, queuetype.StatusCompleted)
	wantStatus(t, db, ms[1].ID, queuetype.StatusProcessing)
	wantStatus(t, db, ms[2].ID, queuetype.StatusProcessing)
}

func TestCompleter_AddAfterStop(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	m := claimed(t, db, "m", 1)[0]
	var calls atomic.Int32
	a, l := newApplier(db), &afterLog{}
	a.fail = func(int) error { calls.Add(1); return nil }
	c := newCompleter(t, a, l, 10, 10)

	c.Stop(context.Background())
	c.Stop(context.Background()) // a second Stop is harmless
	if c.Add(item(m)) {
		t.Fatal("Add after Stop = true, want false")
	}
	if calls.Load() != 0 || len(l.snapshot()) != 0 {
		t.Fatalf("Apply calls %d, After batches %d after Stop; want 0, 0", calls.Load(), len(l.snapshot()))
	}
	wantStatus(t, db, m.ID, queuetype.StatusProcessing)
}
