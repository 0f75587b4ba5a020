package queuesqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/queue-sqlite/queuesqlite"
)

// Middleware wraps every send and every attempt; the error handler sees
// each failed attempt. Here a send middleware stamps the sender into the
// metadata, a handler middleware logs each attempt, and the error handler
// reports failures.
func Example_middleware() {
	dir, _ := os.MkdirTemp("", "queue-middleware-*")
	defer os.RemoveAll(dir)
	stampSender := func(next queuesqlite.SendFunc) queuesqlite.SendFunc {
		return func(ctx context.Context, ms []*queuesqlite.Message) error {
			for _, m := range ms {
				m.SetMetadata(map[string]string{"sender": "billing"})
			}
			return next(ctx, ms)
		}
	}
	logAttempts := func(next queuesqlite.HandlerFunc) queuesqlite.HandlerFunc {
		return func(ctx context.Context, m *queuesqlite.Message) (any, error) {
			var md map[string]string
			json.Unmarshal(m.Metadata, &md)
			fmt.Printf("attempt %d of %s from %s\n", m.Attempt, m.Destination, md["sender"])
			return next(ctx, m)
		}
	}
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{
		SendMiddleware:    []queuesqlite.SendMiddleware{stampSender},
		HandlerMiddleware: []queuesqlite.HandlerMiddleware{logAttempts},
		ErrorHandler: func(ctx context.Context, m *queuesqlite.Message, err error) {
			fmt.Printf("attempt %d failed: %v\n", m.Attempt, err)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	q.Handle("invoice", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		return nil, fmt.Errorf("printer offline: %w", queuesqlite.ErrSkipRetry)
	}, nil)
	ctx := context.Background()
	q.Start(ctx)
	id, _ := q.Send(ctx, queuesqlite.NewMessage("invoice", 42), nil)
	m, _ := q.Wait(ctx, id)
	fmt.Println(m.Status)
	// Output:
	// attempt 1 of invoice from billing
	// attempt 1 failed: printer offline: do not retry
	// failed
}
