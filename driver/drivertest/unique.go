package drivertest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// RunUnique checks the unique keys of a backend that implements
// driver.UniqueInserter: a key held by a stored message refuses another
// message (which is not stored, and learns the holder's id) while the
// holder is in one of its blocking states, and stops blocking once the
// holder leaves them.
func RunUnique(t *testing.T, open OpenFunc) {
	t.Run("DuplicatesAreNotStored", func(t *testing.T) { testUniqueDuplicates(t, open) })
	t.Run("ReleasedOutsideItsStates", func(t *testing.T) { testUniqueRelease(t, open) })
	t.Run("ConcurrentInserts", func(t *testing.T) { testUniqueConcurrent(t, open) })
}

// unfinished is the state mask of the default blocking states.
const unfinished = 1<<queuetype.StatusPending | 1<<queuetype.StatusScheduled |
	1<<queuetype.StatusProcessing | 1<<queuetype.StatusRetrying

func uniqueInserter(t *testing.T, h *Harness) driver.UniqueInserter {
	t.Helper()
	u, ok := h.Driver.(driver.UniqueInserter)
	if !ok {
		t.Fatal("the driver does not implement driver.UniqueInserter")
	}
	return u
}

func insertUnique(t *testing.T, u driver.UniqueInserter, keys []driver.UniqueKey, ms ...*queuetype.Message) []string {
	t.Helper()
	existing, err := u.InsertUnique(context.Background(), driver.InsertParams{Messages: ms}, keys)
	if err != nil {
		t.Fatalf("insert unique: %v", err)
	}
	if len(existing) != len(ms) {
		t.Fatalf("insert unique returned %d results for %d messages", len(existing), len(ms))
	}
	return existing
}

func testUniqueDuplicates(t *testing.T, open OpenFunc) {
	h := open(t)
	u := uniqueInserter(t, h)
	k := driver.UniqueKey{Key: "k", States: unfinished}
	got := insertUnique(t, u, []driver.UniqueKey{k, {}, k},
		newMsg("a", "d", queuetype.PriorityNormal), newMsg("b", "d", queuetype.PriorityNormal), newMsg("c", "d", queuetype.PriorityNormal))
	if fmt.Sprint(got) != fmt.Sprint([]string{"", "", "a"}) {
		t.Fatalf("first batch: existing %q, want c a duplicate of a", got)
	}
	got = insertUnique(t, u, []driver.UniqueKey{k, {Key: "other", States: unfinished}},
		newMsg("e", "d", queuetype.PriorityNormal), newMsg("f", "d", queuetype.PriorityNormal))
	if fmt.Sprint(got) != fmt.Sprint([]string{"a", ""}) {
		t.Fatalf("second batch: existing %q, want e a duplicate of a", got)
	}
	for _, id := range []string{"c", "e"} {
		if _, err := h.Driver.Get(context.Background(), id); err == nil {
			t.Errorf("duplicate %s was stored", id)
		}
	}
	for _, id := range []string{"a", "b", "f"} {
		get(t, h.Driver, id)
	}
}

func testUniqueRelease(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	h := open(t)
	u := uniqueInserter(t, h)
	free := driver.UniqueKey{Key: "free", States: unfinished}
	kept := driver.UniqueKey{Key: "kept", States: unfinished | 1<<queuetype.StatusCompleted}
	cancelled := driver.UniqueKey{Key: "cancelled", States: unfinished}
	insertUnique(t, u, []driver.UniqueKey{free, kept, cancelled},
		newMsg("free", "d", queuetype.PriorityNormal), newMsg("kept", "d", queuetype.PriorityNormal), newMsg("cancelled", "e", queuetype.PriorityNormal))
	if _, err := h.Driver.Cancel(ctx, driver.ChangeParams{ID: "cancelled", Now: t0, Me: "me-1"}); err != nil {
		t.Fatal(err)
	}
	claimed := claim(t, h.Driver, 10, t0, "d")
	// Still processing: both keys block.
	if got := insertUnique(t, u, []driver.UniqueKey{free, kept}, newMsg("free2", "d", 1), newMsg("kept2", "d", 1)); got[0] != "free" || got[1] != "kept" {
		t.Fatalf("while processing: existing %q, want both blocked", got)
	}
	var cs []*driver.Completion
	for _, m := range claimed {
		cs = append(cs, &driver.Completion{Seq: m.Seq, Attempt: m.Attempt, Owner: m.LeaseOwner, Status: queuetype.StatusCompleted,
			Result: []byte(`1`), Now: t0, Me: "me-1"})
	}
	if err := h.Driver.Complete(ctx, cs); err != nil {
		t.Fatal(err)
	}
	got := insertUnique(t, u, []driver.UniqueKey{free, kept, cancelled},
		newMsg("free3", "d", 1), newMsg("kept3", "d", 1), newMsg("cancelled3", "e", 1))
	if fmt.Sprint(got) != fmt.Sprint([]string{"", "kept", ""}) {
		t.Fatalf("after completion and cancel: existing %q, want only kept blocked", got)
	}
}

func testUniqueConcurrent(t *testing.T, open OpenFunc) {
	h := open(t)
	u := uniqueInserter(t, h)
	const senders = 16
	var wg sync.WaitGroup
	results := make([]string, senders)
	errs := make([]error, senders)
	for i := range senders {
		wg.Go(func() {
			id := fmt.Sprint("m", i)
			existing, err := u.InsertUnique(context.Background(), driver.InsertParams{Messages: []*queuetype.Message{
				newMsg(id, "d", queuetype.PriorityNormal)}}, []driver.UniqueKey{{Key: "same", States: unfinished}})
			errs[i] = err
			if err == nil {
				results[i] = existing[0]
				if results[i] == "" {
					results[i] = id
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("sender %d: %v", i, err)
		}
	}
	for i, r := range results {
		if r != results[0] {
			t.Fatalf("sender %d got %s, sender 0 got %s: want one holder", i, r, results[0])
		}
	}
}
