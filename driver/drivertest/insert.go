package drivertest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

func testInsert(t *testing.T, open OpenFunc) {
	t.Run("RoundTripsEveryField", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		m := newMsg("all-fields", "resize", queuetype.PriorityHigh)
		m.Source = "web"
		m.RunAt = t0.Add(time.Minute)
		m.Status = queuetype.StatusScheduled
		m.ExpireAt = t0.Add(time.Hour)
		m.Tags = []string{"a", "b c"}
		m.Metadata = []byte(`{"trace":"x1"}`)
		m.ShardKey = "user-7"
		m.MaxAttempts = 5
		insert(t, d, m)
		if m.Seq == 0 {
			t.Fatal("insert did not set Seq")
		}
		got := get(t, d, "all-fields")
		checks := []struct {
			name      string
			got, want any
		}{
			{"destination", got.Destination, "resize"},
			{"type", got.Type, queuetype.TypeTask},
			{"status", got.Status, queuetype.StatusScheduled},
			{"source", got.Source, "web"},
			{"priority", got.Priority, queuetype.PriorityHigh},
			{"created", got.CreatedAt, t0},
			{"run at", got.RunAt, t0.Add(time.Minute)},
			{"expire at", got.ExpireAt, t0.Add(time.Hour)},
			{"tags", got.Tags, []string{"a", "b c"}},
			{"shard key", got.ShardKey, "user-7"},
			{"max attempts", got.MaxAttempts, 5},
			{"attempt", got.Attempt, 0},
			{"seq", got.Seq, m.Seq},
			{"times are UTC", got.CreatedAt.Location(), time.UTC},
		}
		for _, c := range checks {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
			}
		}
		if !bytes.Equal(got.Content, m.Content) || !bytes.Equal(got.Metadata, m.Metadata) {
			t.Errorf("content/metadata: got %s / %s", got.Content, got.Metadata)
		}
	})

	t.Run("AbsentValuesStayAbsent", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("bare", "x", queuetype.PriorityLow))
		got := get(t, d, "bare")
		if !got.ExpireAt.IsZero() || !got.FinishedAt.IsZero() || got.Result != nil ||
			got.Metadata != nil || got.Tags != nil || got.LastError != "" || got.LeaseOwner != "" {
			t.Fatalf("absent values came back as %+v", got)
		}
	})

	t.Run("DuplicateIDFailsTheWholeBatch", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("dup", "x", 1))
		err := d.Insert(context.Background(), driver.InsertParams{Messages: []*queuetype.Message{
			newMsg("fresh", "x", 1), newMsg("dup", "x", 1),
		}})
		wantErr(t, "duplicate insert", err, queuetype.ErrDuplicate)
		_, err = d.Get(context.Background(), "fresh")
		wantErr(t, "get half of failed batch", err, queuetype.ErrNotFound)
	})

	// Bigger batches than one insert statement of a driver that writes
	// rows in chunks: a duplicate in a later statement, of a stored id or
	// of an earlier message of the batch, still stores none of the batch
	// (one ShardKey: a sharded store is all or none per shard).
	t.Run("DuplicateIDInALongBatchFailsTheWholeBatch", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("dup", "x", 1))
		for name, dupAt := range map[string]int{"stored": 100, "earlier in the batch": 140} {
			ms := make([]*queuetype.Message, 150)
			for i := range ms {
				ms[i] = newMsg(fmt.Sprintf("long-%d", i), "x", 1)
			}
			ms[dupAt].ID = map[string]string{"stored": "dup", "earlier in the batch": "long-3"}[name]
			keyed("long", ms...)
			err := d.Insert(context.Background(), driver.InsertParams{Messages: ms})
			wantErr(t, "batch with a duplicate id ("+name+")", err, queuetype.ErrDuplicate)
			for _, i := range []int{0, 3, 99, 101, 149} {
				_, err = d.Get(context.Background(), ms[i].ID)
				wantErr(t, fmt.Sprintf("get message %d of a failed batch (%s)", i, name), err, queuetype.ErrNotFound)
			}
		}
	})

	t.Run("GetMissing", func(t *testing.T) {
		t.Parallel()
		_, err := open(t).Driver.Get(context.Background(), "nope")
		wantErr(t, "get missing", err, queuetype.ErrNotFound)
	})

	t.Run("InsertTxFollowsTheTransaction", func(t *testing.T) {
		t.Parallel()
		h := open(t)
		ctx := context.Background()
		for _, commit := range []bool{true, false} {
			tx, err := h.BeginTx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			id := map[bool]string{true: "committed", false: "rolled-back"}[commit]
			if err := h.Driver.InsertTx(ctx, tx, driver.InsertParams{Messages: []*queuetype.Message{newMsg(id, "x", 1)}}); err != nil {
				t.Fatal(err)
			}
			if commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		wantStatus(t, h.Driver, "committed", queuetype.StatusPending)
		_, err := h.Driver.Get(ctx, "rolled-back")
		wantErr(t, "get rolled back", err, queuetype.ErrNotFound)
	})
}
