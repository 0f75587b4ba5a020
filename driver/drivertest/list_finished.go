package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// testListFinished checks that ListFinished lists finished messages in the
// order they finished (not their send order), from a time on, filtered by
// status and destination, and drops a message once it is requeued.
func testListFinished(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	t.Parallel()
	d := open(t).Driver
	fl, ok := d.(driver.FinishedLister)
	if !ok {
		t.Skip("backend does not implement driver.FinishedLister")
	}
	insert(t, d, newMsg("m0", "a", 1), newMsg("m1", "a", 1), newMsg("m2", "a", 1), newMsg("m3", "a", 1), newMsg("m4", "b", 1))
	for i, id := range []string{"m3", "m1", "m4", "m0"} {
		if _, err := d.Cancel(ctx, driver.ChangeParams{ID: id, Now: t0.Add(time.Duration(i+1) * time.Minute)}); err != nil {
			t.Fatalf("cancel %s: %v", id, err)
		}
	}
	list := func(p driver.FinishedListParams) []*driver.Message {
		t.Helper()
		ms, err := fl.ListFinished(ctx, p)
		if err != nil {
			t.Fatalf("list finished %+v: %v", p, err)
		}
		return ms
	}
	wantIDs(t, "all, in finish order", list(driver.FinishedListParams{}), "m3", "m1", "m4", "m0")
	wantIDs(t, "since minute 2", list(driver.FinishedListParams{Since: t0.Add(2 * time.Minute)}), "m1", "m4", "m0")
	wantIDs(t, "limit", list(driver.FinishedListParams{Limit: 2}), "m3", "m1")
	wantIDs(t, "destination", list(driver.FinishedListParams{Destination: "b"}), "m4")
	wantIDs(t, "completed only", list(driver.FinishedListParams{Statuses: []queuetype.Status{queuetype.StatusCompleted}}))
	if _, err := d.Requeue(ctx, driver.ChangeParams{ID: "m1", Now: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "after requeue of m1", list(driver.FinishedListParams{}), "m3", "m4", "m0")
}
