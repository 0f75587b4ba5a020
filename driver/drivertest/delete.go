package drivertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// deleter returns d's Deleter, skipping the test without one.
func deleter(t *testing.T, d driver.Driver) driver.Deleter {
	t.Helper()
	del, ok := d.(driver.Deleter)
	if !ok {
		t.Skip("the driver does not delete messages")
	}
	return del
}

func deleteIDs(t *testing.T, del driver.Deleter, ids ...string) driver.DeleteResult {
	t.Helper()
	res, err := del.Delete(context.Background(), ids)
	if err != nil {
		t.Fatalf("delete %v: %v", ids, err)
	}
	return res
}

func wantGone(t *testing.T, d driver.Driver, id string) {
	t.Helper()
	_, err := d.Get(context.Background(), id)
	wantErr(t, "get "+id+" after delete", err, queuetype.ErrNotFound)
}

// testDelete checks driver.Deleter: any status but processing goes,
// running messages are reported and kept, unknown ids are neither, the
// deleted child's dependency rows go with it and a deleted parent cancels
// its children at the next resolve.
func testDelete(t *testing.T, open OpenFunc) {
	t.Run("EveryStatusButProcessing", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		del := deleter(t, d)
		insert(t, d, newMsg("pending", "a", 1), newMsg("running", "b", 1), newMsg("failed", "c", 1),
			newMsg("done", "e", 1), newMsg("cancelled", "f", 1))
		claim(t, d, 1, t0, "b")
		finishAs(t, d, "failed", queuetype.StatusFailed, t0)
		finishAs(t, d, "done", queuetype.StatusCompleted, t0)
		if _, err := d.Cancel(context.Background(), driver.ChangeParams{ID: "cancelled", Now: t0, Me: "me-1"}); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		res := deleteIDs(t, del, "pending", "running", "failed", "missing", "done", "cancelled")
		if got := fmt.Sprint(res.Deleted, res.Processing); got != "[pending failed done cancelled] [running]" {
			t.Fatalf("deleted, processing = %s; want [pending failed done cancelled] [running]", got)
		}
		for _, id := range res.Deleted {
			wantGone(t, d, id)
		}
		wantStatus(t, d, "running", queuetype.StatusProcessing)
		if res := deleteIDs(t, del, "pending"); len(res.Deleted)+len(res.Processing) != 0 {
			t.Fatalf("deleting again: %+v, want nothing", res)
		}
	})

	t.Run("DeletedChildDropsItsRows", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		del, s := deleter(t, d), depStore(t, d)
		insert(t, d, newMsg("p", "pa", 1), child("c", "kids", "p"))
		wantWaiting(t, s, 1)
		deleteIDs(t, del, "c")
		wantWaiting(t, s, 0)
		finishAs(t, d, "p", queuetype.StatusCompleted, t0)
		if res := resolve(t, s, t0); res.Released != 0 || len(res.Finished) != 0 {
			t.Fatalf("resolve after the child was deleted: %+v, want nothing", res)
		}
	})

	t.Run("DeletedParentCancelsChildren", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		del, s := deleter(t, d), depStore(t, d)
		insert(t, d, newMsg("p", "pa", 1), child("c", "kids", "p"), child("g", "kids", "c"))
		deleteIDs(t, del, "p")
		resolve(t, s, t0.Add(time.Minute))
		wantEndedBy(t, d, "c", queuetype.StatusCancelled, "dependency p is no longer stored", t0.Add(time.Minute))
		wantEndedBy(t, d, "g", queuetype.StatusCancelled, "dependency c cancelled", t0.Add(time.Minute))
	})

	t.Run("OtherHandleSeesIt", func(t *testing.T) {
		t.Parallel()
		h := open(t)
		if h.Reopen == nil {
			t.Skip("the backend cannot open a second handle")
		}
		del := deleter(t, h.Driver)
		other := h.Reopen(t)
		insert(t, h.Driver, newMsg("m", "a", 1))
		get(t, other, "m")
		deleteIDs(t, del, "m")
		wantGone(t, other, "m")
	})
}

// testAttemptErrors checks the attempt history Get reads: every failed or
// retried attempt and every rescue adds an entry (attempt, time, error),
// releases and snoozes do not, the newest MaxAttemptErrors are kept and
// each text is cut at MaxAttemptErrorLength.
func testAttemptErrors(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	t.Run("EveryAttempt", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		m := newMsg("m", "x", 1)
		m.MaxAttempts = 10
		insert(t, d, m)
		if got := get(t, d, "m").Errors(); len(got) != 0 {
			t.Fatalf("errors of a new message: %v", got)
		}
		at := t0
		// attempt 1 fails and retries, attempt 2 is released (given back),
		// attempt 2 again is rescued, attempt 3 fails for good.
		c := completion(claim(t, d, 1, at, "x")[0], queuetype.StatusRetrying, at.Add(time.Second))
		c.Error, c.RunAt = "first", at
		completeOne(t, d, c)
		at = at.Add(time.Minute)
		if _, err := d.Promote(ctx, driver.MaintainParams{Now: at, Limit: 10}); err != nil {
			t.Fatal(err)
		}
		c = completion(claim(t, d, 1, at, "x")[0], queuetype.StatusPending, at)
		c.Error, c.Uncharge = "released at shutdown", true
		completeOne(t, d, c)
		claim(t, d, 1, at, "x")
		if _, err := d.Rescue(ctx, driver.MaintainParams{Now: at.Add(time.Second), Limit: 10, Dead: []string{"owner-1"}}); err != nil {
			t.Fatal(err)
		}
		c = completion(claim(t, d, 1, at, "x")[0], queuetype.StatusFailed, at.Add(2*time.Second))
		c.Error = "last"
		completeOne(t, d, c)
		got := get(t, d, "m")
		var b strings.Builder
		for _, e := range got.Errors() {
			fmt.Fprintf(&b, "%d@%v:%s;", e.Attempt, e.At.Sub(t0), e.Error)
		}
		want := "1@1s:first;2@1m1s:lease of owner-1 expired during attempt 2 (worker crashed, froze or lost the database);3@1m2s:last;"
		if b.String() != want {
			t.Fatalf("attempt history\n got %s\nwant %s", b.String(), want)
		}
		if got.LastError != "last" {
			t.Fatalf("last error %q, want %q", got.LastError, "last")
		}
	})

	t.Run("MovedWithTheMessage", func(t *testing.T) {
		t.Parallel()
		src, dst := open(t).Driver, open(t).Driver
		exp, ok1 := src.(driver.Exporter)
		imp, ok2 := dst.(driver.Importer)
		if !ok1 || !ok2 {
			t.Skip("the driver does not export or import messages")
		}
		insert(t, src, newMsg("m", "x", 1))
		c := completion(claim(t, src, 1, t0, "x")[0], queuetype.StatusFailed, t0.Add(time.Second))
		c.Error = "boom"
		completeOne(t, src, c)
		ms, err := exp.Export(ctx, 0, 10)
		if err != nil || len(ms) != 1 {
			t.Fatalf("export: %d messages, %v", len(ms), err)
		}
		if err := imp.Import(ctx, ms); err != nil {
			t.Fatalf("import: %v", err)
		}
		got := get(t, dst, "m").Errors()
		if len(got) != 1 || got[0].Attempt != 1 || got[0].Error != "boom" || !got[0].At.Equal(t0.Add(time.Second)) {
			t.Fatalf("attempt history after a move: %+v, want attempt 1 boom at +1s", got)
		}
		if err := imp.Import(ctx, ms); err != nil {
			t.Fatalf("importing the same message again: %v, want it skipped as equal", err)
		}
		other := ms[0].Clone()
		other.SetErrors([]queuetype.AttemptError{{Attempt: 1, At: t0, Error: "another"}})
		wantErr(t, "import of the id with another history", imp.Import(ctx, []*queuetype.Message{other}), queuetype.ErrDuplicate)
	})

	t.Run("NewestKeptAndCut", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		m := newMsg("m", "x", 1)
		m.MaxAttempts = queuetype.MaxAttemptErrors + 5
		insert(t, d, m)
		long := strings.Repeat("é", queuetype.MaxAttemptErrorLength+10)
		at := t0
		for i := 1; i <= m.MaxAttempts; i++ {
			c := completion(claim(t, d, 1, at, "x")[0], queuetype.StatusRetrying, at)
			c.Error, c.RunAt = fmt.Sprintf("error %d %s", i, long), at
			completeOne(t, d, c)
			at = at.Add(time.Second)
			if _, err := d.Promote(ctx, driver.MaintainParams{Now: at, Limit: 10}); err != nil {
				t.Fatal(err)
			}
		}
		errs := get(t, d, "m").Errors()
		if len(errs) != queuetype.MaxAttemptErrors {
			t.Fatalf("%d entries, want %d", len(errs), queuetype.MaxAttemptErrors)
		}
		first, last := errs[0], errs[len(errs)-1]
		if first.Attempt != 6 || last.Attempt != m.MaxAttempts || !strings.HasPrefix(first.Error, "error 6 é") {
			t.Fatalf("kept attempts %d..%d (%.10q), want 6..%d", first.Attempt, last.Attempt, first.Error, m.MaxAttempts)
		}
		if n := len([]rune(last.Error)); n != queuetype.MaxAttemptErrorLength {
			t.Fatalf("entry of %d characters, want it cut at %d", n, queuetype.MaxAttemptErrorLength)
		}
	})
}
