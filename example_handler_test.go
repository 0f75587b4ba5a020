package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// HandleJSON decodes the content into a Go type and stores the returned
// value as the JSON result.
func ExampleHandleJSON() {
	dir, _ := os.MkdirTemp("", "queue-json-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	type resize struct {
		URL   string `json:"url"`
		Width int    `json:"width"`
	}
	type thumbnail struct {
		Path string `json:"path"`
	}
	queuesqlite.HandleJSON(q, "resize", func(ctx context.Context, in resize) (thumbnail, error) {
		return thumbnail{Path: fmt.Sprintf("%s@%dw", in.URL, in.Width)}, nil
	}, nil)
	ctx := context.Background()
	q.Start(ctx)

	id, _ := q.Send(ctx, queuesqlite.NewMessage("resize", resize{URL: "a.jpg", Width: 320}), nil)
	m, _ := q.Wait(ctx, id)
	var out thumbnail
	m.DecodeResult(&out)
	fmt.Println(m.Status, out.Path)
	// Output: completed a.jpg@320w
}

// A handler says what should happen next through its error: a plain error
// is retried with backoff, ErrSkipRetry fails the message at once (it can
// be listed with ListFailed and requeued with Retry).
func ExampleErrSkipRetry() {
	dir, _ := os.MkdirTemp("", "queue-retry-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	q.Handle("charge", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		var in struct{ Amount int }
		m.Decode(&in)
		switch {
		case in.Amount < 0:
			return nil, fmt.Errorf("negative amount %d: %w", in.Amount, queuesqlite.ErrSkipRetry)
		case m.Attempt == 1:
			return nil, errors.New("gateway timeout") // retried after the backoff
		}
		return "charged", nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 3, Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	ctx := context.Background()
	q.Start(ctx)

	ok, _ := q.Send(ctx, queuesqlite.NewMessage("charge", map[string]int{"amount": 5}), nil)
	bad, _ := q.Send(ctx, queuesqlite.NewMessage("charge", map[string]int{"amount": -5}), nil)
	m1, _ := q.Wait(ctx, ok)
	m2, _ := q.Wait(ctx, bad)
	fmt.Println(m1.Status, m1.Attempt, string(m1.Result))
	fmt.Println(m2.Status, m2.Attempt, m2.LastError)
	failed, _ := q.ListFailed(ctx, "charge", 10)
	fmt.Println(len(failed), "dead letter")
	// Output:
	// completed 2 "charged"
	// failed 1 negative amount -5: do not retry
	// 1 dead letter
}

// Messages with a priority, a delay and an expiry. Higher priority runs
// first; a message whose expire time passes before it starts never runs.
func ExampleNewMessage() {
	dir, _ := os.MkdirTemp("", "queue-msg-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Workers: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	ran := make(chan string, 10)
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		ran <- m.Priority.String()
		return nil, nil
	}, nil)
	ctx := context.Background()

	for _, p := range []queuesqlite.Priority{queuesqlite.PriorityLow, queuesqlite.PriorityUrgent, queuesqlite.PriorityNormal} {
		m := queuesqlite.NewMessage("job", nil)
		m.Priority = p
		q.Send(ctx, m, nil)
	}
	stale := queuesqlite.NewMessage("job", nil)
	stale.TTL = time.Millisecond
	expired := make(chan queuesqlite.Status, 1)
	q.Send(ctx, stale, func(m *queuesqlite.Message) { expired <- m.Status })
	time.Sleep(5 * time.Millisecond) // the TTL passes before any worker starts

	q.Start(ctx)
	fmt.Println(<-ran, <-ran, <-ran)
	fmt.Println("stale message:", <-expired)
	// Output:
	// urgent normal low
	// stale message: expired
}
