package drivertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

func testMaintenance(t *testing.T, open OpenFunc) {
	t.Run("ExpireOnlyMessagesNotStarted", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		var ms []*queuetype.Message
		for i, status := range []queuetype.Status{queuetype.StatusPending, queuetype.StatusScheduled, queuetype.StatusPending} {
			m := newMsg(fmt.Sprint("m", i), "x", 1)
			m.Status, m.ExpireAt = status, t0.Add(time.Second)
			ms = append(ms, m)
		}
		ms[2].ExpireAt = t0.Add(time.Hour)
		insert(t, d, ms...)
		running := newMsg("running", "y", 1)
		running.ExpireAt = t0.Add(time.Second)
		insert(t, d, running)
		claim(t, d, 1, t0, "y")

		got, err := d.Expire(context.Background(), driver.MaintainParams{Now: t0.Add(time.Minute), Me: "me-1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("expired %v, want m0 and m1", ids(got))
		}
		wantStatus(t, d, "m0", queuetype.StatusExpired)
		wantStatus(t, d, "m1", queuetype.StatusExpired)
		wantStatus(t, d, "m2", queuetype.StatusPending)
		wantStatus(t, d, "running", queuetype.StatusProcessing)
	})

	t.Run("CleanupByStatusAndAge", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		finish := func(id string, status queuetype.Status, at time.Time) {
			insert(t, d, newMsg(id, id, 1))
			m := claim(t, d, 1, at, id)[0]
			completeOne(t, d, completion(m, status, at))
		}
		finish("old-done", queuetype.StatusCompleted, t0)
		finish("new-done", queuetype.StatusCompleted, t0.Add(2*time.Hour))
		finish("old-failed", queuetype.StatusFailed, t0)
		insert(t, d, newMsg("pending", "p", 1))
		res, err := d.Cleanup(context.Background(), driver.CleanupParams{
			Before:    map[queuetype.Status]time.Time{queuetype.StatusCompleted: t0.Add(time.Hour)},
			BatchSize: 1,
		})
		if err != nil || res.Deleted != 1 {
			t.Fatalf("cleanup: %+v, %v; want 1 deleted", res, err)
		}
		_, err = d.Get(context.Background(), "old-done")
		wantErr(t, "get cleaned", err, queuetype.ErrNotFound)
		for _, id := range []string{"new-done", "old-failed", "pending"} {
			get(t, d, id)
		}
	})
}
