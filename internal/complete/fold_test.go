package complete_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/complete"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// foldWaitLong is a FoldWait no test outlasts: the offer stands until a
// Take, whatever the machine's speed.
const foldWaitLong = time.Hour

// newFolder is a completer over db that offers its batches for foldWait,
// reads messages back from db, and signals each After on done.
func newFolder(t *testing.T, a *applier, l *afterLog, foldWait time.Duration, done chan struct{}) *complete.Completer {
	t.Helper()
	c := complete.New(complete.Config{Apply: a.apply, MaxBatch: 10, Capacity: 10, FoldWait: foldWait,
		Get: a.db.Get, Logger: slog.New(slog.DiscardHandler),
		After: func(items []*complete.Item, err error) {
			l.after(items, err)
			select { // never blocks run: a test may not wait for every batch
			case done <- struct{}{}:
			default:
			}
		}})
	t.Cleanup(func() { c.Stop(context.Background()) })
	return c
}

// take polls Take until a batch is offered.
func take(t *testing.T, c *complete.Completer) *complete.Fold {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if f := c.Take(); f != nil {
			return f
		}
		time.Sleep(time.Millisecond) // polling, not synchronisation: Take never blocks
	}
	t.Fatal("no batch offered to Take")
	return nil
}

// wantOneBatch checks that After ran once, without error, with applied.
func wantOneBatch(t *testing.T, l *afterLog, applied ...bool) {
	t.Helper()
	bs := l.snapshot()
	if len(bs) != 1 || bs[0].err != nil || len(bs[0].applied) != len(applied) {
		t.Fatalf("After batches %+v, want one without error", bs)
	}
	for i, a := range applied {
		if bs[0].applied[i] != a {
			t.Fatalf("Applied flags %v, want %v", bs[0].applied, applied)
		}
	}
}

func TestCompleter_FoldedIntoClaim(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	ms := claimed(t, db, "m", 2)
	a, l, done := newApplier(db), &afterLog{}, make(chan struct{}, 1)
	c := newFolder(t, a, l, foldWaitLong, done)
	insertPending(t, db, "next")

	mustAdd(t, c, item(ms[0]))
	mustAdd(t, c, item(ms[1]))
	var claimedNext []*queuetype.Message
	for n := 0; n < 2; {
		f := take(t, c)
		got, err := db.CompleteAndClaim(context.Background(), f.Completions(), driver.ClaimParams{
			Destinations: []string{"d"}, Max: 5, Owner: "worker", Now: t0, LeaseUntil: t0.Add(time.Hour), Me: "me"})
		n += len(f.Completions())
		claimedNext = append(claimedNext, got...)
		c.Settle(f, err)
		waitChan(t, "After of the folded batch", done)
	}
	c.Stop(context.Background())
	if len(a.snapshot()) != 0 {
		t.Fatalf("%d Apply calls, want 0 (every outcome went with a claim)", len(a.snapshot()))
	}
	if folded, alone := c.Batches(); folded < 1 || alone != 0 {
		t.Fatalf("Batches() = %d folded, %d alone; want some folded, none alone", folded, alone)
	}
	for _, b := range l.snapshot() {
		for _, ok := range b.applied {
			if b.err != nil || !ok {
				t.Fatalf("After batches %+v, want all applied without error", l.snapshot())
			}
		}
	}
	wantStatus(t, db, ms[0].ID, queuetype.StatusCompleted)
	wantStatus(t, db, ms[1].ID, queuetype.StatusCompleted)
	if len(claimedNext) != 1 || claimedNext[0].ID != "next" {
		t.Fatalf("the folded claims took %d messages, want next alone", len(claimedNext))
	}
	wantStatus(t, db, "next", queuetype.StatusProcessing)
}

func TestCompleter_NotTakenIsRecordedAlone(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	m := claimed(t, db, "m", 1)[0]
	a, l, done := newApplier(db), &afterLog{}, make(chan struct{}, 1)
	c := newFolder(t, a, l, time.Millisecond, done)

	mustAdd(t, c, item(m))
	waitChan(t, "After", done) // no claim came: recorded alone after FoldWait
	if len(a.snapshot()) != 1 {
		t.Fatalf("%d Apply calls, want 1", len(a.snapshot()))
	}
	wantOneBatch(t, l, true)
	wantStatus(t, db, m.ID, queuetype.StatusCompleted)
	if folded, alone := c.Batches(); folded != 0 || alone != 1 {
		t.Fatalf("Batches() = %d folded, %d alone; want 0, 1", folded, alone)
	}
	if f := c.Take(); f != nil {
		t.Fatal("Take returned a batch already recorded")
	}
}

func TestCompleter_FailedFoldIsRecordedAlone(t *testing.T) {
	t.Parallel()
	for _, stored := range []bool{false, true} {
		name := map[bool]string{false: "NothingStored", true: "StoredAnswerLost"}[stored]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := openShard(t)
			m := claimed(t, db, "m", 1)[0]
			a, l, done := newApplier(db), &afterLog{}, make(chan struct{}, 1)
			c := newFolder(t, a, l, foldWaitLong, done)

			mustAdd(t, c, item(m))
			f := take(t, c)
			if stored { // the claim committed, but its answer was lost
				if err := db.Complete(context.Background(), f.Completions()); err != nil {
					t.Fatal(err)
				}
			}
			c.Settle(f, errTransient)
			waitChan(t, "After", done)
			if len(a.snapshot()) != 1 {
				t.Fatalf("%d Apply calls, want 1 (the failed fold recorded alone)", len(a.snapshot()))
			}
			wantOneBatch(t, l, true)
			wantStatus(t, db, m.ID, queuetype.StatusCompleted)
		})
	}
}

func TestCompleter_TakeWithoutFoldWait(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	m := claimed(t, db, "m", 1)[0]
	a, l, done := newApplier(db), &afterLog{}, make(chan struct{}, 1)
	c := newFolder(t, a, l, 0, done)
	mustAdd(t, c, item(m))
	waitChan(t, "After", done)
	if f := c.Take(); f != nil {
		t.Fatal("Take returned a batch with FoldWait 0")
	}
	wantOneBatch(t, l, true)
}

func TestCompleter_LostAnswerIsNotALostLease(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	ms := claimed(t, db, "m", 2)
	// ms[1] really lost its lease: its attempt was recorded otherwise.
	other := item(ms[1]).C
	other.Status, other.Error = queuetype.StatusFailed, "failed elsewhere"
	if err := db.Complete(context.Background(), []*driver.Completion{&other}); err != nil {
		t.Fatal(err)
	}
	a, l, done := newApplier(db), &afterLog{}, make(chan struct{}, 1)
	a.fail = func(call int) error {
		if call == 1 { // stored, but the answer is lost
			if err := db.Complete(context.Background(), a.snapshot()[0].cs); err != nil {
				return err
			}
			return errTransient
		}
		return nil
	}
	c := newFolder(t, a, l, 0, done)
	mustAdd(t, c, item(ms[0]))
	mustAdd(t, c, item(ms[1]))
	c.Stop(context.Background())

	var applied []bool
	for _, b := range l.snapshot() {
		if b.err != nil {
			t.Fatalf("After err %v, want nil", b.err)
		}
		applied = append(applied, b.applied...)
	}
	if want := []bool{true, false}; len(applied) != 2 || applied[0] != want[0] || applied[1] != want[1] {
		t.Fatalf("Applied flags %v, want %v: the stored outcome applied, the lost lease not", applied, want)
	}
	if n := len(a.snapshot()); n < 2 {
		t.Fatalf("%d Apply calls, want a retry", n)
	}
	wantStatus(t, db, ms[0].ID, queuetype.StatusCompleted)
	wantStatus(t, db, ms[1].ID, queuetype.StatusFailed)
}

// insertPending stores one pending message of destination "d".
func insertPending(t *testing.T, db interface {
	Insert(context.Context, driver.InsertParams) error
}, id string) {
	t.Helper()
	m := &queuetype.Message{ID: id, Type: queuetype.TypeTask, Status: queuetype.StatusPending,
		Destination: "d", Source: queuetype.SourceDefault, Content: []byte(`{}`),
		Priority: queuetype.PriorityNormal, CreatedAt: t0, UpdatedAt: t0, RunAt: t0, MaxAttempts: 3}
	if err := db.Insert(context.Background(), driver.InsertParams{Messages: []*queuetype.Message{m}}); err != nil {
		t.Fatal(err)
	}
}
