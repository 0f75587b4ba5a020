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

func testConcurrency(t *testing.T, open OpenFunc) {
	t.Run("ConcurrentInsertsAllLand", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		const senders, each = 16, 50
		var wg sync.WaitGroup
		errs := make(chan error, senders*each)
		for s := range senders {
			wg.Go(func() {
				for i := range each {
					m := newMsg(fmt.Sprintf("s%d-%d", s, i), "x", 1)
					errs <- d.Insert(context.Background(), driver.InsertParams{Messages: []*queuetype.Message{m}})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		st, _ := d.Stats(context.Background())
		if n := st.Counts["x"][queuetype.StatusPending]; n != senders*each {
			t.Fatalf("%d pending, want %d", n, senders*each)
		}
	})

	t.Run("ConcurrentClaimsNeverShare", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		const total = 400
		var ms []*queuetype.Message
		for i := range total {
			ms = append(ms, newMsg(fmt.Sprint("m", i), "x", queuetype.Priority(i%4)))
		}
		insert(t, d, ms...)
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for {
					got, err := d.Claim(context.Background(), driver.ClaimParams{Destinations: []string{"x"}, Max: 7,
						Owner: fmt.Sprint("w", w), Now: t0, LeaseUntil: t0.Add(time.Minute)})
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, m := range got {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != total {
			t.Fatalf("claimed %d distinct messages, want %d", len(seen), total)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("message %s claimed %d times", id, n)
			}
		}
	})

	t.Run("ClosedDriverRefuses", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		err := d.Insert(context.Background(), driver.InsertParams{Messages: []*queuetype.Message{newMsg("late", "x", 1)}})
		wantErr(t, "insert after close", err, queuetype.ErrClosed)
	})
}
