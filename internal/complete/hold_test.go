package complete_test

import (
	"context"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/complete"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// foldWaitShort is a FoldWait that a test outlasts on purpose.
const foldWaitShort = time.Millisecond

// outlast lets several FoldWaits pass: an offer that does not hold has
// lapsed by then.
func outlast() { time.Sleep(20 * foldWaitShort) } // time passing is what is tested, not an ordering

// newHolder is a completer with a short FoldWait whose offers may wait up
// to an hour while a claim is in flight.
func newHolder(t *testing.T, a *applier, l *afterLog, done chan struct{}) *complete.Completer {
	t.Helper()
	c := newFolder(t, a, l, foldWaitShort, done)
	c.SetClaimTimeForTest(time.Hour)
	return c
}

func TestCompleter_OfferHoldsForTheClaimAfterTheOneInFlight(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	ms := claimed(t, db, "m", 2)
	a, l, done := newApplier(db), &afterLog{}, make(chan struct{}, 1)
	c := newHolder(t, a, l, done)

	end := c.Claiming() // a claim in flight: its fetcher claims again when it returns
	mustAdd(t, c, item(ms[0]))
	outlast()
	mustAdd(t, c, item(ms[1])) // arrives while the first waits: joins its batch
	outlast()
	end()
	defer c.Claiming()() // the next claim
	f := take(t, c)
	if n := len(f.Completions()); n != 2 {
		t.Fatalf("the held batch has %d outcomes, want both", n)
	}
	if err := db.Complete(context.Background(), f.Completions()); err != nil {
		t.Fatal(err)
	}
	c.Settle(f, nil)
	waitChan(t, "After", done)
	if n := len(a.snapshot()); n != 0 {
		t.Fatalf("%d Apply calls, want 0: the batch waited for the claim", n)
	}
	wantOneBatch(t, l, true, true)
}

func TestCompleter_OfferLapsesWhenNoClaimFollows(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	m := claimed(t, db, "m", 1)[0]
	a, l, done := newApplier(db), &afterLog{}, make(chan struct{}, 1)
	c := newHolder(t, a, l, done)

	end := c.Claiming()
	mustAdd(t, c, item(m))
	outlast()
	end() // and no claim follows: the offer lapses within a FoldWait
	waitChan(t, "After", done)
	if n := len(a.snapshot()); n != 1 {
		t.Fatalf("%d Apply calls, want 1 (recorded alone)", n)
	}
	wantOneBatch(t, l, true)
	wantStatus(t, db, m.ID, queuetype.StatusCompleted)
}

func TestCompleter_StopRecordsAHeldBatch(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	m := claimed(t, db, "m", 1)[0]
	a, l, done := newApplier(db), &afterLog{}, make(chan struct{}, 1)
	c := newHolder(t, a, l, done)

	defer c.Claiming()() // a claim that does not return before Stop
	mustAdd(t, c, item(m))
	outlast()
	c.Stop(context.Background())
	if n := len(a.snapshot()); n != 1 {
		t.Fatalf("%d Apply calls, want 1: Stop records the held batch alone", n)
	}
	wantOneBatch(t, l, true)
	wantStatus(t, db, m.ID, queuetype.StatusCompleted)
}
