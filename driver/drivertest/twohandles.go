package drivertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// eventually bounds how long a cross-handle effect may take to show: only a
// "must happen" limit, generous for a loaded machine.
const eventually = 30 * time.Second

// pollGap is how long a reader polling the change log waits after a read
// that found nothing.
const pollGap = time.Millisecond

// twoHandles opens a fresh store and a second handle on it, skipping the
// test when the backend cannot open one.
func twoHandles(t *testing.T, open OpenFunc) (*Harness, driver.Driver) {
	t.Helper()
	h := open(t)
	if h.Reopen == nil {
		t.Skip("backend cannot open a second handle on one store")
	}
	return h, h.Reopen(t)
}

func testTwoHandles(t *testing.T, open OpenFunc) {
	t.Run("ChangesFireForAnotherHandlesCommit", func(t *testing.T) {
		t.Parallel()
		h, b := twoHandles(t, open)
		testChangesAcross(t, h.Driver, b)
	})
	t.Run("CommitIsVisibleToAnotherHandle", func(t *testing.T) {
		t.Parallel()
		h, b := twoHandles(t, open)
		testVisibleAcross(t, h, b)
	})
	t.Run("ClaimsFromTwoHandlesNeverShare", func(t *testing.T) {
		t.Parallel()
		h, b := twoHandles(t, open)
		testClaimsAcross(t, h.Driver, b)
	})
	t.Run("CompletionIsFencedAcrossHandles", func(t *testing.T) {
		t.Parallel()
		h, b := twoHandles(t, open)
		testFencingAcross(t, h.Driver, b)
	})
	t.Run("ListenChangesBecomeVisibleInSeqOrder", func(t *testing.T) {
		t.Parallel()
		h, b := twoHandles(t, open)
		testListenOrderAcross(t, h, b, h.Reopen(t))
	})
	t.Run("DatabaseClockIsMonotoneAcrossHandles", func(t *testing.T) {
		t.Parallel()
		h, b := twoHandles(t, open)
		testClockAcross(t, h.Driver, b)
	})
}

// drain empties a coalesced signal channel.
func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// crossOp is a commit made on one handle and the read that shows it on
// the other.
type crossOp struct {
	name string
	do   func()
	seen func()
}

// testChangesAcross: each kind of commit on a (new work, a finished
// message, a listen change) makes b's Changes fire, and b then sees it.
func testChangesAcross(t *testing.T, a, b driver.Driver) {
	ops := []crossOp{
		{"insert", func() { insert(t, a, newMsg("m", "x", 1)) }, func() { get(t, b, "m") }},
		{"complete", func() {
			m := claim(t, a, 1, t0, "x")[0]
			completeOne(t, a, completion(m, queuetype.StatusCompleted, t0.Add(time.Second)))
		}, func() { wantStatus(t, b, "m", queuetype.StatusCompleted) }},
	}
	if ls, ok := a.(driver.ListenStore); ok {
		ops = append(ops, crossOp{"listen", func() { set(t, ls, "k", value(t, 1), t0) }, func() {
			if _, err := b.(driver.ListenStore).GetListen(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}})
	}
	for _, op := range ops {
		drain(b.Changes())
		op.do()
		select {
		case <-b.Changes():
		case <-time.After(eventually):
			t.Fatalf("%s: handle B's Changes did not fire within %v of the commit on handle A", op.name, eventually)
		}
		op.seen()
	}
}

// testVisibleAcross: once a write returns on a (or an application
// transaction on a's database commits), reads on b see it.
func testVisibleAcross(t *testing.T, h *Harness, b driver.Driver) {
	a := h.Driver
	for i := range 20 {
		id := fmt.Sprint("m", i)
		insert(t, a, newMsg(id, "x", 1))
		wantStatus(t, b, id, queuetype.StatusPending)
	}
	if h.BeginTx != nil { // an application transaction's commit too
		tx, err := h.BeginTx(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		err = a.InsertTx(context.Background(), tx, driver.InsertParams{Messages: []*queuetype.Message{newMsg("tx", "y", 1)}})
		if err == nil {
			err = tx.Commit()
		}
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, b, "tx", queuetype.StatusPending)
	}
	m := claim(t, a, 1, t0, "x")[0]
	wantStatus(t, b, m.ID, queuetype.StatusProcessing)
	completeOne(t, a, completion(m, queuetype.StatusCompleted, t0.Add(time.Second)))
	wantStatus(t, b, m.ID, queuetype.StatusCompleted)
}

// testClaimsAcross: workers on two handles claim in loops; each message is
// handed to exactly one claim.
func testClaimsAcross(t *testing.T, a, b driver.Driver) {
	const total = 600
	var ms []*queuetype.Message
	for i := range total {
		ms = append(ms, newMsg(fmt.Sprint("m", i), "x", queuetype.Priority(i%3)))
	}
	insert(t, a, ms...)
	var mu sync.Mutex
	seen := map[string][]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		d, name := a, fmt.Sprint("A", w)
		if w%2 == 1 {
			d, name = b, fmt.Sprint("B", w)
		}
		wg.Go(func() {
			for {
				got, err := d.Claim(context.Background(), driver.ClaimParams{Destinations: []string{"x"}, Max: 5,
					Owner: name, Now: t0, LeaseUntil: t0.Add(time.Minute)})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID] = append(seen[m.ID], name)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), total)
	}
	for id, by := range seen {
		if len(by) != 1 {
			t.Fatalf("message %s handed to %v", id, by)
		}
	}
}

// testFencingAcross: an attempt claimed on a, rescued and claimed again on
// b, cannot complete from a; the new attempt completes from b.
func testFencingAcross(t *testing.T, a, b driver.Driver) {
	ctx := context.Background()
	insert(t, a, newMsg("m", "x", 1))
	old := claim(t, a, 1, t0, "x")[0]
	if _, err := b.Rescue(ctx, driver.MaintainParams{Now: t0, Limit: 10, Dead: []string{old.LeaseOwner}}); err != nil {
		t.Fatal(err)
	}
	got, err := b.Claim(ctx, driver.ClaimParams{Destinations: []string{"x"}, Max: 1, Owner: "owner-2",
		Now: t0, LeaseUntil: t0.Add(time.Minute)})
	if err != nil || len(got) != 1 {
		t.Fatalf("claim on handle B after rescue: %v, %d messages", err, len(got))
	}
	stale := completion(old, queuetype.StatusCompleted, t0.Add(time.Second))
	completeOne(t, a, stale)
	if stale.Applied {
		t.Fatal("a completion from handle A was applied after its lease moved to handle B")
	}
	fresh := completion(got[0], queuetype.StatusFailed, t0.Add(time.Second))
	fresh.Error = "boom"
	completeOne(t, b, fresh)
	if !fresh.Applied {
		t.Fatal("the lease holder's completion on handle B was not applied")
	}
	wantStatus(t, a, "m", queuetype.StatusFailed)
}

// cursorRead is one read of the change log that a listener following its
// cursor makes: the changes after After that were visible.
type cursorRead struct {
	After int64
	Seqs  []int64
}

// checkCursorReads reports whether a reader that moved its cursor to the
// last seq of each read saw every change of the final log (all, in seq
// order). A change that became visible after a higher seq was read is
// skipped by the cursor, and reported.
func checkCursorReads(reads []cursorRead, all []int64) error {
	saw := map[int64]bool{}
	cursor := int64(0)
	for i, r := range reads {
		if r.After != cursor {
			return fmt.Errorf("read %d: after %d, want the cursor %d", i, r.After, cursor)
		}
		for _, s := range r.Seqs {
			if s <= cursor {
				return fmt.Errorf("read %d after %d returned seq %d out of order", i, r.After, s)
			}
			cursor = s
			saw[s] = true
		}
	}
	for _, s := range all {
		if !saw[s] {
			return fmt.Errorf("seq %d became visible after the cursor had passed it (cursor reads: %d)", s, len(reads))
		}
	}
	return nil
}

// testListenOrderAcross: changes appended concurrently from two handles
// (and an application transaction) become visible in seq order, so a reader
// on a third handle following its cursor never skips one.
func testListenOrderAcross(t *testing.T, h *Harness, b, c driver.Driver) {
	la, lb, lc := listenStore(t, h), listenStoreOf(t, b), listenStoreOf(t, c)
	claimGroup(t, la, "g", "o1", t0)
	const each = 60
	var wg sync.WaitGroup
	for w, ls := range []driver.ListenStore{la, lb} {
		wg.Go(func() {
			for i := range each {
				set(t, ls, fmt.Sprintf("k%d-%d", w, i), value(t, i), t0)
			}
		})
	}
	if h.BeginTx != nil {
		wg.Go(func() { setInTransactions(t, h, la, each) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	reads := followCursor(t, lc, done)
	var all []int64
	for _, ch := range changes(t, lc, 0) {
		all = append(all, ch.Seq)
	}
	if want := 2 * each; len(all) < want {
		t.Fatalf("%d changes logged, want at least %d", len(all), want)
	}
	if err := checkCursorReads(reads, all); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d changes, read in %d cursor reads", len(all), len(reads))
}

// setInTransactions writes n keys, each in its own application transaction.
func setInTransactions(t *testing.T, h *Harness, ls driver.ListenStore, n int) {
	ctx := context.Background()
	for i := range n {
		tx, err := h.BeginTx(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		_, err = ls.SetListenTx(ctx, tx, driver.SetListenParams{Key: fmt.Sprint("tx-", i), Value: value(t, i), Now: t0})
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback()
		}
		if err != nil {
			t.Error(err)
			return
		}
	}
}

// followCursor reads the change log after its cursor until done is closed
// and one more read finds nothing, and returns every non-empty read.
func followCursor(t *testing.T, ls driver.ListenStore, done <-chan struct{}) []cursorRead {
	var reads []cursorRead
	cursor := int64(0)
	deadline := time.Now().Add(eventually * 4)
	for time.Now().Before(deadline) {
		finished := false
		select {
		case <-done:
			finished = true
		default:
		}
		cs, err := ls.ListenChanges(context.Background(), cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			if finished {
				return reads
			}
			select { // poll again soon, at once when the writers finish
			case <-done:
			case <-time.After(pollGap):
			}
			continue
		}
		r := cursorRead{After: cursor}
		for _, ch := range cs {
			r.Seqs = append(r.Seqs, ch.Seq)
		}
		reads = append(reads, r)
		cursor = r.Seqs[len(r.Seqs)-1]
	}
	t.Fatal("the writers did not finish in time")
	return nil
}

// listenStoreOf is listenStore for a bare driver.
func listenStoreOf(t *testing.T, d driver.Driver) driver.ListenStore {
	t.Helper()
	return listenStore(t, &Harness{Driver: d})
}

// testClockAcross: a backend that gives the database's time gives the same
// clock to every handle: readings taken one after another, alternating
// handles, never go back.
func testClockAcross(t *testing.T, a, b driver.Driver) {
	ca, okA := a.(driver.Clock)
	cb, okB := b.(driver.Clock)
	if !okA || !okB {
		t.Skip("backend does not implement driver.Clock")
	}
	var last time.Time
	for i := range 50 {
		c := ca
		if i%2 == 1 {
			c = cb
		}
		now, err := c.Now(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if now.Before(last) {
			t.Fatalf("reading %d: %v is before the previous reading %v", i, now, last)
		}
		last = now
	}
}
