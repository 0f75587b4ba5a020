package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// TestQueue_ListPage pages through a sharded queue with filters: every
// matching message is seen exactly once, in send time order, and nothing
// else is.
func TestQueue_ListPage(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, &queuesqlite.Config{Shards: 3})
	ctx := t.Context()
	var red []string
	for i := range 40 {
		m := queuesqlite.NewMessage("job", map[string]int{"i": i})
		if i%3 != 0 {
			m.Tags = []string{"red"}
		}
		if i%5 == 0 {
			m.Destination = "other"
		}
		id, err := q.Send(ctx, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 && i%5 != 0 {
			red = append(red, id)
		}
	}
	opts := &queuesqlite.ListOpts{Tag: "red", Destination: "job", Limit: 4}
	var got []string
	var last time.Time
	shards := map[int]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > len(red) {
			t.Fatalf("paging does not end: %d pages", pages)
		}
		page, err := q.ListPage(ctx, opts, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) > opts.Limit {
			t.Fatalf("page of %d, limit %d", len(page.Messages), opts.Limit)
		}
		for _, m := range page.Messages {
			if m.CreatedAt.Before(last) {
				t.Fatalf("message %s sent at %v listed after one sent at %v", m.ID, m.CreatedAt, last)
			}
			last = m.CreatedAt
			shards[m.Shard] = true
			got = append(got, m.ID)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if !slices.Equal(got, red) {
		t.Fatalf("listed %v\nwant %v", got, red)
	}
	if len(shards) < 2 {
		t.Fatalf("all listed messages came from shards %v; the test needs several", shards)
	}
}

// TestQueue_ListPageTimeRange keeps only messages sent inside the range.
func TestQueue_ListPageTimeRange(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)
	clock := now
	q, _ := setup(t, &queuesqlite.Config{Shards: 2, Clock: func() time.Time { return clock }})
	var ids []string
	for i := range 6 {
		clock = now.Add(time.Duration(i) * time.Minute)
		id, err := q.Send(t.Context(), queuesqlite.NewMessage("job", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	page, err := q.ListPage(t.Context(), &queuesqlite.ListOpts{
		CreatedFrom: now.Add(time.Minute), CreatedBefore: now.Add(4 * time.Minute)}, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range page.Messages {
		got = append(got, m.ID)
	}
	if !slices.Equal(got, ids[1:4]) || page.Next != "" {
		t.Fatalf("range listed %v (next %q), want %v", got, page.Next, ids[1:4])
	}
}

// TestQueue_ListPageBadInput refuses cursors it did not make and limits
// out of range, with ErrInvalidArgument.
func TestQueue_ListPageBadInput(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, &queuesqlite.Config{Shards: 2})
	for _, id := range []string{"a", "b", "c"} {
		m := queuesqlite.NewMessage("job", 1)
		m.ID = id
		if _, err := q.Send(t.Context(), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	page, err := q.ListPage(t.Context(), &queuesqlite.ListOpts{Limit: 1}, "")
	if err != nil || page.Next == "" {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	for _, c := range []string{"not base64!", "MQ", "LTEuMA", "YS5i"} { // "1" (one shard), "-1.0", "a.b"
		if _, err := q.ListPage(t.Context(), nil, c); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("cursor %q: %v, want ErrInvalidArgument", c, err)
		}
	}
	for _, limit := range []int{-1, queuesqlite.ListPageMax + 1} {
		if _, err := q.ListPage(t.Context(), &queuesqlite.ListOpts{Limit: limit}, ""); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("limit %d: %v, want ErrInvalidArgument", limit, err)
		}
	}
}

// TestQueue_ListenChanges reads the change log in order, from a position.
func TestQueue_ListenChanges(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	ctx := t.Context()
	if err := q.Listen("k", func(context.Context, *queuesqlite.Change) error { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil { // creates the listener group, so changes are logged
		t.Fatal(err)
	}
	eventually(t, "listener group", func() bool {
		st, err := q.ListenStats(ctx)
		return err == nil && len(st.Groups) == 1
	})
	for i := range 5 {
		if _, err := q.SetListenData(ctx, "k", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := q.ListenChanges(ctx, 0, 0)
	if err != nil || len(all) != 5 {
		t.Fatalf("changes: %d, %v", len(all), err)
	}
	rest, err := q.ListenChanges(ctx, all[1].Seq, 2)
	if err != nil || len(rest) != 2 || rest[0].Seq != all[2].Seq || rest[1].New.String() != "3" {
		t.Fatalf("changes after %d: %+v, %v", all[1].Seq, rest, err)
	}
	if _, err := q.ListenChanges(ctx, -1, 0); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Fatalf("negative after: %v", err)
	}
}
