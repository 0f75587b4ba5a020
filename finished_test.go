package queuesqlite_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// TestQueue_ListFinished lists cancelled messages of a sharded queue in the
// order they finished (the reverse of their send order), across shards,
// from a time on, filtered by destination, and refuses a status that is
// not a finished one.
func TestQueue_ListFinished(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	step := func() { mu.Lock(); now = now.Add(time.Second); mu.Unlock() }
	q, _ := setup(t, &queuesqlite.Config{Shards: 3, Clock: clock})
	ctx := t.Context()
	var ids []string
	for i := range 12 {
		dest := "job"
		if i%4 == 0 {
			dest = "other"
		}
		ids = append(ids, send(t, q, queuesqlite.NewMessage(dest, i), nil))
	}
	var cancelled []string // in cancel (finish) order
	var third time.Time
	for i := len(ids) - 1; i >= 0; i-- {
		step()
		if _, err := q.Cancel(ctx, ids[i]); err != nil {
			t.Fatal(err)
		}
		cancelled = append(cancelled, ids[i])
		if len(cancelled) == 3 {
			third = clock()
		}
	}
	tests := []struct {
		name string
		opts *queuesqlite.FinishedOpts
		want []string
	}{
		{"All", nil, cancelled},
		{"Since", &queuesqlite.FinishedOpts{Since: third}, cancelled[2:]},
		{"Limit", &queuesqlite.FinishedOpts{Since: third, Limit: 4}, cancelled[2:6]},
		{"Destination", &queuesqlite.FinishedOpts{Destination: "other"}, []string{ids[8], ids[4], ids[0]}},
		{"Completed", &queuesqlite.FinishedOpts{Statuses: []queuesqlite.Status{queuesqlite.StatusCompleted}}, nil},
	}
	for _, tt := range tests {
		ms, err := q.ListFinished(ctx, tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	_, err := q.ListFinished(ctx, &queuesqlite.FinishedOpts{Statuses: []queuesqlite.Status{queuesqlite.StatusPending}})
	if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Errorf("a pending status: %v, want ErrInvalidArgument", err)
	}
}
