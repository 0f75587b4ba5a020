package drivertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

func testAdmin(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	t.Run("Cancel", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("waiting", "x", 1), newMsg("running", "y", 1))
		claim(t, d, 1, t0, "y")
		m, err := d.Cancel(ctx, driver.ChangeParams{ID: "waiting", Now: t0})
		if err != nil || m.Status != queuetype.StatusCancelled || m.FinishedAt.IsZero() {
			t.Fatalf("cancel pending: %+v, %v", m, err)
		}
		_, err = d.Cancel(ctx, driver.ChangeParams{ID: "running", Now: t0})
		wantErr(t, "cancel running", err, queuetype.ErrInvalidState)
		_, err = d.Cancel(ctx, driver.ChangeParams{ID: "waiting", Now: t0})
		wantErr(t, "cancel twice", err, queuetype.ErrInvalidState)
		_, err = d.Cancel(ctx, driver.ChangeParams{ID: "ghost", Now: t0})
		wantErr(t, "cancel missing", err, queuetype.ErrNotFound)
	})

	t.Run("Requeue", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("dead", "x", 1), newMsg("ok", "y", 1))
		completeOne(t, d, completion(claim(t, d, 1, t0, "x")[0], queuetype.StatusFailed, t0))
		completeOne(t, d, completion(claim(t, d, 1, t0, "y")[0], queuetype.StatusCompleted, t0))
		m, err := d.Requeue(ctx, driver.ChangeParams{ID: "dead", Now: t0.Add(time.Minute)})
		if err != nil || m.Status != queuetype.StatusPending || m.Attempt != 0 || !m.FinishedAt.IsZero() {
			t.Fatalf("requeue failed: %+v, %v", m, err)
		}
		wantIDs(t, "claim requeued", claim(t, d, 5, t0.Add(time.Minute), "x"), "dead")
		_, err = d.Requeue(ctx, driver.ChangeParams{ID: "ok", Now: t0})
		wantErr(t, "requeue completed", err, queuetype.ErrInvalidState)
		_, err = d.Requeue(ctx, driver.ChangeParams{ID: "ghost", Now: t0})
		wantErr(t, "requeue missing", err, queuetype.ErrNotFound)
	})

	t.Run("ListFiltersAndPages", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		for i := range 5 {
			insert(t, d, keyed("k", newMsg(fmt.Sprint("a", i), "a", 1), newMsg(fmt.Sprint("b", i), "b", 1))...)
		}
		completeOne(t, d, completion(claim(t, d, 1, t0, "a")[0], queuetype.StatusFailed, t0))
		failed, err := d.List(ctx, driver.ListParams{Statuses: []queuetype.Status{queuetype.StatusFailed}})
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "failed", failed, "a0")
		page1, _ := d.List(ctx, driver.ListParams{Destination: "b", Limit: 3})
		wantIDs(t, "page 1", page1, "b0", "b1", "b2")
		page2, _ := d.List(ctx, driver.ListParams{Destination: "b", Limit: 3, AfterSeq: page1[2].Seq})
		wantIDs(t, "page 2", page2, "b3", "b4")
	})

	t.Run("Stats", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		a := newMsg("a", "a", 1)
		a.CreatedAt = t0.Add(-time.Hour)
		insert(t, d, a, newMsg("a2", "a", 1), newMsg("b", "b", 1))
		claim(t, d, 1, t0, "b")
		st, err := d.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Counts["a"][queuetype.StatusPending] != 2 || st.Counts["b"][queuetype.StatusProcessing] != 1 {
			t.Fatalf("counts %v", st.Counts)
		}
		if !st.OldestPending.Equal(t0.Add(-time.Hour)) {
			t.Fatalf("oldest pending %v", st.OldestPending)
		}
	})

	t.Run("Meta", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		if _, ok, err := d.Meta(ctx, "k"); ok || err != nil {
			t.Fatalf("meta before set: %v %v", ok, err)
		}
		for _, v := range []string{"1", "2"} {
			if err := d.SetMeta(ctx, "k", v); err != nil {
				t.Fatal(err)
			}
		}
		if v, ok, err := d.Meta(ctx, "k"); v != "2" || !ok || err != nil {
			t.Fatalf("meta: %q %v %v", v, ok, err)
		}
	})

	t.Run("CheckSoundStorage", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("a", "a", 1))
		if err := d.Check(ctx); err != nil {
			t.Fatalf("check of a sound shard: %v", err)
		}
	})
}
