package queuesqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// Global limits are kept by the store, so they hold whatever the number of
// processes and workers: here at most one "charge" runs at a time, and at
// most 100 start per minute, though the queue has 8 workers.
func ExampleHandlerOpts_limits() {
	dir, _ := os.MkdirTemp("", "queue-limits-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Workers: 8})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	var running, most atomic.Int64
	charge := func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		n := running.Add(1)
		defer running.Add(-1)
		if n > most.Load() {
			most.Store(n)
		}
		return "charged", nil
	}
	err = q.Handle("charge", charge, &queuesqlite.HandlerOpts{
		GlobalConcurrency: 1,
		RateLimit:         100, RatePer: time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	q.Start(ctx)
	var ids []string
	for i := range 5 {
		id, _ := q.Send(ctx, queuesqlite.NewMessage("charge", i), nil)
		ids = append(ids, id)
	}
	for _, id := range ids {
		q.Wait(ctx, id)
	}
	fmt.Println("at most", most.Load(), "at once")
	// Output: at most 1 at once
}
