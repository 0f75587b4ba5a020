package drivertest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// depStore returns d's DependencyStore, skipping the test without one.
func depStore(t *testing.T, d driver.Driver) driver.DependencyStore {
	t.Helper()
	s, ok := d.(driver.DependencyStore)
	if !ok {
		t.Skip("the driver stores no dependencies")
	}
	return s
}

// child returns a message to dest that depends on parents.
func child(id, dest string, parents ...string) *queuetype.Message {
	m := newMsg(id, dest, queuetype.PriorityNormal)
	m.DependsOn = parents
	return m
}

// resolve runs ResolveDependencies at now as "me-1".
func resolve(t *testing.T, s driver.DependencyStore, now time.Time) driver.DependencyResult {
	t.Helper()
	res, err := s.ResolveDependencies(context.Background(), driver.MaintainParams{Now: now, Limit: 100, Me: "me-1"})
	if err != nil {
		t.Fatalf("resolve dependencies: %v", err)
	}
	return res
}

// finishAs claims the pending message id (alone in its destination) and
// records status for it at now.
func finishAs(t *testing.T, d driver.Driver, id string, status queuetype.Status, now time.Time) {
	t.Helper()
	m := get(t, d, id)
	ms := claim(t, d, 1, now, m.Destination)
	if len(ms) != 1 || ms[0].ID != id {
		t.Fatalf("claim %s: got %v", id, ids(ms))
	}
	c := completion(ms[0], status, now)
	if status == queuetype.StatusFailed {
		c.Error = "boom"
	}
	completeOne(t, d, c)
}

func wantWaiting(t *testing.T, s driver.DependencyStore, want int) {
	t.Helper()
	n, err := s.Waiting(context.Background())
	if err != nil || n != want {
		t.Fatalf("waiting: %d (%v), want %d", n, err, want)
	}
}

// wantEndedBy checks a child finished by its parent: status, LastError
// naming the parent, finished at now, no attempt counted.
func wantEndedBy(t *testing.T, d driver.Driver, id string, status queuetype.Status, lastError string, now time.Time) {
	t.Helper()
	m := wantStatus(t, d, id, status)
	if m.LastError != lastError || !m.FinishedAt.Equal(now) || m.Attempt != 0 {
		t.Fatalf("%s: last error %q finished %v attempt %d; want %q, %v, 0", id, m.LastError, m.FinishedAt, m.Attempt, lastError, now)
	}
}

// testDependencies checks driver.DependencyStore: children wait, are
// released when every parent completed, and fail or are cancelled with
// their parents, down the tree.
func testDependencies(t *testing.T, open OpenFunc) {
	t.Run("ChildWaitsForEveryParent", func(t *testing.T) { t.Parallel(); testChildWaits(t, open(t).Driver) })
	t.Run("DelayedChildKeepsItsRunAt", func(t *testing.T) { t.Parallel(); testDelayedChild(t, open(t).Driver) })
	t.Run("FailureCascades", func(t *testing.T) { t.Parallel(); testFailureCascades(t, open(t).Driver) })
	t.Run("CancelAndExpiryCascade", func(t *testing.T) { t.Parallel(); testCancelCascades(t, open(t).Driver) })
	t.Run("FailureWinsOverCancel", func(t *testing.T) { t.Parallel(); testFailureWins(t, open(t).Driver) })
	t.Run("ParentGoneCancels", func(t *testing.T) { t.Parallel(); testParentGone(t, open(t).Driver) })
	t.Run("FinishedParentAtInsert", func(t *testing.T) { t.Parallel(); testFinishedParent(t, open(t).Driver) })
	t.Run("MissingParentRefused", func(t *testing.T) { t.Parallel(); testMissingParent(t, open(t).Driver) })
	t.Run("CancelledChildStaysCancelled", func(t *testing.T) { t.Parallel(); testCancelledChild(t, open(t).Driver) })
	t.Run("CallbackOwner", func(t *testing.T) { t.Parallel(); testDepCallbackOwner(t, open(t).Driver) })
	t.Run("InsertTx", func(t *testing.T) { t.Parallel(); testDepInsertTx(t, open(t)) })
	t.Run("TwoHandles", func(t *testing.T) { t.Parallel(); testDepTwoHandles(t, open) })
	t.Run("TopicsAcross", func(t *testing.T) { t.Parallel(); testDepTopics(t, open) })
}

func testChildWaits(t *testing.T, d driver.Driver) {
	s := depStore(t, d)
	c := child("c", "kids", "a", "b")
	insert(t, d, newMsg("a", "pa", 1), newMsg("b", "pb", 1), c)
	if c.Status != queuetype.StatusScheduled || !c.RunAt.Equal(driver.WaitingRunAt) {
		t.Fatalf("inserted child: status %s run at %v, want scheduled at WaitingRunAt", c.Status, c.RunAt)
	}
	got := wantStatus(t, d, "c", queuetype.StatusScheduled)
	if !got.RunAt.Equal(driver.WaitingRunAt) {
		t.Fatalf("stored child run at %v, want %v", got.RunAt, driver.WaitingRunAt)
	}
	wantWaiting(t, s, 1)
	later := t0.Add(24 * time.Hour)
	if n, err := d.Promote(context.Background(), driver.MaintainParams{Now: later, Limit: 100}); err != nil || n != 0 {
		t.Fatalf("promote: %d %v, want nothing promoted", n, err)
	}
	if due, ok, err := d.NextDue(context.Background()); err != nil || (ok && due.Before(driver.WaitingRunAt)) {
		t.Fatalf("next due %v %v %v: a waiting child is never due", due, ok, err)
	}
	if ms := claim(t, d, 10, later, "kids"); len(ms) != 0 {
		t.Fatalf("claimed a waiting child: %v", ids(ms))
	}
	finishAs(t, d, "a", queuetype.StatusCompleted, t0)
	if res := resolve(t, s, t0); res.Released != 0 || len(res.Finished) != 0 {
		t.Fatalf("one parent of two completed: %+v, want nothing released", res)
	}
	wantStatus(t, d, "c", queuetype.StatusScheduled)
	finishAs(t, d, "b", queuetype.StatusCompleted, t0.Add(time.Second))
	if res := resolve(t, s, t0.Add(2*time.Second)); res.Released != 1 || len(res.Finished) != 0 {
		t.Fatalf("both parents completed: %+v, want one released", res)
	}
	if m := wantStatus(t, d, "c", queuetype.StatusPending); !m.RunAt.Equal(t0) {
		t.Fatalf("released child run at %v, want its own %v", m.RunAt, t0)
	}
	wantWaiting(t, s, 0)
	wantIDs(t, "claim the released child", claim(t, d, 10, t0.Add(3*time.Second), "kids"), "c")
	if res := resolve(t, s, t0.Add(4*time.Second)); res.Released != 0 || len(res.Finished) != 0 {
		t.Fatalf("a second pass: %+v, want nothing", res)
	}
}

func testDelayedChild(t *testing.T, d driver.Driver) {
	s := depStore(t, d)
	c := child("c", "kids", "a")
	c.Status, c.RunAt = queuetype.StatusScheduled, t0.Add(time.Hour)
	insert(t, d, newMsg("a", "pa", 1), c)
	finishAs(t, d, "a", queuetype.StatusCompleted, t0)
	if res := resolve(t, s, t0); res.Released != 1 {
		t.Fatalf("resolve: %+v, want one released", res)
	}
	if m := wantStatus(t, d, "c", queuetype.StatusScheduled); !m.RunAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("released delayed child run at %v, want %v", m.RunAt, t0.Add(time.Hour))
	}
	if due, ok, err := d.NextDue(context.Background()); err != nil || !ok || !due.Equal(t0.Add(time.Hour)) {
		t.Fatalf("next due %v %v %v, want the child's run time", due, ok, err)
	}
	if n, err := d.Promote(context.Background(), driver.MaintainParams{Now: t0.Add(time.Hour), Limit: 100}); err != nil || n != 1 {
		t.Fatalf("promote at its run time: %d %v", n, err)
	}
}

func testFailureCascades(t *testing.T, d driver.Driver) {
	s := depStore(t, d)
	insert(t, d, newMsg("a", "pa", 1), child("b", "kids", "a"), child("c", "grandkids", "b"), newMsg("x", "px", 1))
	insert(t, d, child("d", "kids", "x")) // another family, untouched
	finishAs(t, d, "a", queuetype.StatusFailed, t0)
	now := t0.Add(time.Second)
	res := resolve(t, s, now)
	if res.Released != 0 || len(res.Finished) != 2 {
		t.Fatalf("resolve: released %d finished %v, want child and grandchild failed", res.Released, ids(res.Finished))
	}
	wantEndedBy(t, d, "b", queuetype.StatusFailed, "dependency a failed", now)
	wantEndedBy(t, d, "c", queuetype.StatusFailed, "dependency b failed", now)
	for _, m := range res.Finished {
		if m.Status != queuetype.StatusFailed || !strings.HasPrefix(m.LastError, "dependency ") {
			t.Fatalf("reported %s as %s %q", m.ID, m.Status, m.LastError)
		}
	}
	wantStatus(t, d, "d", queuetype.StatusScheduled)
	wantWaiting(t, s, 1)
}

func testCancelCascades(t *testing.T, d driver.Driver) {
	s := depStore(t, d)
	ctx := context.Background()
	e := newMsg("e", "pe", 1)
	e.ExpireAt = t0.Add(time.Minute)
	insert(t, d, newMsg("a", "pa", 1), e, child("b", "kids", "a"), child("c", "kids", "b"), child("f", "kids", "e"))
	if _, err := d.Cancel(ctx, driver.ChangeParams{ID: "a", Now: t0, Me: "me-1"}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := d.Expire(ctx, driver.MaintainParams{Now: t0.Add(time.Hour), Limit: 100, Me: "me-1"}); err != nil {
		t.Fatalf("expire: %v", err)
	}
	now := t0.Add(2 * time.Hour)
	if res := resolve(t, s, now); len(res.Finished) != 3 {
		t.Fatalf("resolve finished %v, want b, c and f", ids(res.Finished))
	}
	wantEndedBy(t, d, "b", queuetype.StatusCancelled, "dependency a cancelled", now)
	wantEndedBy(t, d, "c", queuetype.StatusCancelled, "dependency b cancelled", now)
	wantEndedBy(t, d, "f", queuetype.StatusCancelled, "dependency e expired", now)
	wantWaiting(t, s, 0)
}

func testFailureWins(t *testing.T, d driver.Driver) {
	s := depStore(t, d)
	insert(t, d, keyed("fam", newMsg("x", "px", 1), newMsg("y", "py", 1), child("c", "kids", "x", "y"))...)
	if _, err := d.Cancel(context.Background(), driver.ChangeParams{ID: "x", Now: t0, Me: "me-1"}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	finishAs(t, d, "y", queuetype.StatusFailed, t0)
	resolve(t, s, t0)
	wantEndedBy(t, d, "c", queuetype.StatusFailed, "dependency y failed", t0)
}

func testParentGone(t *testing.T, d driver.Driver) {
	s := depStore(t, d)
	ctx := context.Background()
	insert(t, d, newMsg("a", "pa", 1), child("c", "kids", "a"))
	if _, err := d.Cancel(ctx, driver.ChangeParams{ID: "a", Now: t0, Me: "me-1"}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	before := map[queuetype.Status]time.Time{queuetype.StatusCancelled: t0.Add(time.Hour)}
	if res, err := d.Cleanup(ctx, driver.CleanupParams{Before: before}); err != nil || res.Deleted != 1 {
		t.Fatalf("cleanup: %+v %v, want the parent deleted", res, err)
	}
	resolve(t, s, t0.Add(time.Hour))
	wantEndedBy(t, d, "c", queuetype.StatusCancelled, "dependency a is no longer stored", t0.Add(time.Hour))
}

func testFinishedParent(t *testing.T, d driver.Driver) {
	s := depStore(t, d)
	insert(t, d, newMsg("ok", "pa", 1), newMsg("bad", "pb", 1))
	finishAs(t, d, "ok", queuetype.StatusCompleted, t0)
	finishAs(t, d, "bad", queuetype.StatusFailed, t0)
	insert(t, d, child("c1", "kids", "ok"), child("c2", "kids", "bad"))
	if res := resolve(t, s, t0); res.Released != 1 || len(res.Finished) != 1 {
		t.Fatalf("resolve: %+v, want one released, one failed", res)
	}
	wantStatus(t, d, "c1", queuetype.StatusPending)
	wantEndedBy(t, d, "c2", queuetype.StatusFailed, "dependency bad failed", t0)
}

func testMissingParent(t *testing.T, d driver.Driver) {
	s := depStore(t, d)
	ctx := context.Background()
	for name, batch := range map[string][]*queuetype.Message{
		"alone":         {child("c", "kids", "nope")},
		"in a batch":    {newMsg("p", "pa", 1), child("c", "kids", "p"), child("c2", "kids", "p", "nope")},
		"later in it":   {child("c", "kids", "p"), newMsg("p", "pa", 1)},
		"in a big one ": {newMsg("p", "pa", 1), newMsg("q", "pa", 1), child("c", "kids", "nope", "p")},
	} {
		err := d.Insert(ctx, driver.InsertParams{Messages: batch})
		wantErr(t, name, err, queuetype.ErrInvalidArgument)
		if want := map[bool]string{true: "nope", false: `"p"`}[name != "later in it"]; !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: error %q does not name the parent %s", name, err, want)
		}
		for _, m := range batch {
			if _, err := d.Get(ctx, m.ID); err == nil {
				t.Fatalf("%s: message %s was stored", name, m.ID)
			}
		}
	}
	wantWaiting(t, s, 0)
}

func testCancelledChild(t *testing.T, d driver.Driver) {
	s := depStore(t, d)
	insert(t, d, newMsg("a", "pa", 1), child("c", "kids", "a"), child("g", "kids", "c"))
	if _, err := d.Cancel(context.Background(), driver.ChangeParams{ID: "c", Now: t0, Me: "me-1"}); err != nil {
		t.Fatalf("cancel a waiting child: %v", err)
	}
	wantWaiting(t, s, 1) // g; c no longer waits, though its parent has not finished
	if res := resolve(t, s, t0); len(res.Finished) != 1 || res.Finished[0].ID != "g" {
		t.Fatalf("resolve after the cancel finished %v, want g", ids(res.Finished))
	}
	finishAs(t, d, "a", queuetype.StatusCompleted, t0)
	res := resolve(t, s, t0)
	if res.Released != 0 {
		t.Fatalf("resolve released %d, want the cancelled child left cancelled", res.Released)
	}
	wantStatus(t, d, "c", queuetype.StatusCancelled)
	wantEndedBy(t, d, "g", queuetype.StatusCancelled, "dependency c cancelled", t0)
	wantWaiting(t, s, 0)
}

func testDepCallbackOwner(t *testing.T, d driver.Driver) {
	s := depStore(t, d)
	ctx := context.Background()
	p := driver.InsertParams{Messages: []*queuetype.Message{newMsg("a", "pa", 1), child("mine", "kids", "a"),
		child("theirs", "kids", "a")}, CallbackOwners: []string{"", "me-1", "other"}}
	if err := d.Insert(ctx, p); err != nil {
		t.Fatalf("insert: %v", err)
	}
	finishAs(t, d, "a", queuetype.StatusFailed, t0)
	if res := resolve(t, s, t0); len(res.Finished) != 2 {
		t.Fatalf("resolve finished %v, want both children", ids(res.Finished))
	}
	for owner, want := range map[string][]string{"me-1": nil, "other": {"theirs"}} {
		ms, err := d.Finished(ctx, owner, 10)
		if err != nil {
			t.Fatalf("finished: %v", err)
		}
		if got := ids(ms); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("Finished(%s) = %v, want %v (the resolver's own callbacks are cleared)", owner, got, want)
		}
	}
}

func testDepInsertTx(t *testing.T, h *Harness) {
	s := depStore(t, h.Driver)
	ctx := context.Background()
	for _, commit := range []bool{false, true} {
		tx, err := h.BeginTx(ctx)
		if err != nil {
			t.Fatalf("begin: %v", err)
		}
		err = h.Driver.InsertTx(ctx, tx, driver.InsertParams{Messages: []*queuetype.Message{newMsg("a", "pa", 1), child("c", "kids", "a")}})
		if err != nil {
			t.Fatalf("insert in tx: %v", err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatalf("end tx: %v", err)
		}
	}
	wantStatus(t, h.Driver, "c", queuetype.StatusScheduled)
	wantWaiting(t, s, 1)
	tx, err := h.BeginTx(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback()
	err = h.Driver.InsertTx(ctx, tx, driver.InsertParams{Messages: []*queuetype.Message{child("c2", "kids", "nope")}})
	wantErr(t, "insert in tx with a missing parent", err, queuetype.ErrInvalidArgument)
}

// testDepTwoHandles: children sent through one handle are settled by the
// other, and two handles resolving at once release each child once.
func testDepTwoHandles(t *testing.T, open OpenFunc) {
	h, b := twoHandles(t, open)
	a := h.Driver
	sa, sb := depStore(t, a), depStore(t, b)
	const n = 20
	ms := []*queuetype.Message{newMsg("root", "pa", 1)}
	for i := range n {
		ms = append(ms, child("c"+string(rune('a'+i)), "kids", "root"))
	}
	insert(t, a, ms...)
	finishAs(t, b, "root", queuetype.StatusCompleted, t0)
	var wg sync.WaitGroup
	released := make([]int, 2)
	for i, s := range []driver.DependencyStore{sa, sb} {
		wg.Go(func() { released[i] = resolve(t, s, t0).Released })
	}
	wg.Wait()
	if released[0]+released[1] != n {
		t.Fatalf("released %v, want %d in all", released, n)
	}
	if got := claim(t, b, 2*n, t0, "kids"); len(got) != n {
		t.Fatalf("claimed %d children through the other handle, want %d", len(got), n)
	}
	wantWaiting(t, sa, 0)
}

// testDepTopics: a release through one handle gives the other a work
// signal for the child's destination, a cascade a finished signal.
func testDepTopics(t *testing.T, open OpenFunc) {
	h, b := twoHandles(t, open)
	a := h.Driver
	s := depStore(t, a)
	insert(t, a, newMsg("p", "pa", 1), child("c", "kids", "p"), newMsg("q", "pq", 1), child("d", "kids2", "q"))
	finishAs(t, a, "p", queuetype.StatusCompleted, t0)
	log := watchTopics(t, b)
	resolve(t, s, t0)
	log.waitFor(t, driver.Topic{Kind: driver.TopicWork, Key: "kids"})
	finishAs(t, a, "q", queuetype.StatusFailed, t0)
	log.waitFor(t, driver.Topic{Kind: driver.TopicFinished})
	resolve(t, s, t0)
	log.waitFor(t, driver.Topic{Kind: driver.TopicFinished})
	wantStatus(t, b, "d", queuetype.StatusFailed)
}
