package queuesqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/queue-sqlite/queuesqlite"
)

// Named worker queues: each has its own workers, so a slow destination in
// one cannot hold the workers of another. Here "video" runs at most one
// message at a time while the default queue, with its two workers, serves
// "email".
func ExampleConfig_queues() {
	dir, _ := os.MkdirTemp("", "queue-queues-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{
		Workers: 2, // the default queue
		Queues:  map[string]queuesqlite.QueueConfig{"video": {MaxWorkers: 1}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	transcode := func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "transcoded", nil }
	email := func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "sent", nil }
	if err := q.Handle("transcode", transcode, &queuesqlite.HandlerOpts{Queue: "video"}); err != nil {
		log.Fatal(err)
	}
	if err := q.Handle("email", email, nil); err != nil { // the default queue
		log.Fatal(err)
	}
	err = q.Handle("thumbnail", transcode, &queuesqlite.HandlerOpts{Queue: "images"})
	fmt.Println(err)

	q.Start(ctx)
	v, _ := q.Send(ctx, queuesqlite.NewMessage("transcode", "clip.mp4"), nil)
	e, _ := q.Send(ctx, queuesqlite.NewMessage("email", "hi"), nil)
	for _, id := range []string{v, e} {
		m, _ := q.Wait(ctx, id)
		fmt.Println(m.Destination, m.Status, string(m.Result))
	}
	// Output:
	// invalid argument: handler "thumbnail" names queue "images", which Config.Queues does not configure (configured: [default video])
	// transcode completed "transcoded"
	// email completed "sent"
}

// A paused destination's messages wait, in every process on the queue,
// until it is resumed; the pause is stored, so it outlasts the process.
func ExampleQueue_PauseDestination() {
	dir, _ := os.MkdirTemp("", "queue-pause-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	ok := func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "done", nil }
	q.Handle("charge", ok, nil)
	q.Handle("receipt", ok, nil)
	q.Start(ctx)

	if err := q.PauseDestination(ctx, "charge"); err != nil {
		log.Fatal(err)
	}
	charge, _ := q.Send(ctx, queuesqlite.NewMessage("charge", 100), nil)
	receipt, _ := q.Send(ctx, queuesqlite.NewMessage("receipt", 100), nil)
	q.Wait(ctx, receipt) // other destinations go on
	m, _ := q.Get(ctx, charge)
	fmt.Println("charge while paused:", m.Status)
	paused, _ := q.Paused(ctx)
	for _, p := range paused {
		fmt.Println("paused:", p.Kind, p.Name)
	}

	q.ResumeDestination(ctx, "charge")
	m, _ = q.Wait(ctx, charge)
	fmt.Println("charge after resume:", m.Status)
	// Output:
	// charge while paused: pending
	// paused: destination charge
	// charge after resume: completed
}
