package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"

	"github.com/queue-sqlite/queuesqlite"
)

// Dependencies: "render" and "thumbs" wait for "fetch", and "publish"
// waits for both. Each step starts once every step it depends on has
// completed, on whichever worker (or process) claims it.
func ExampleMessage_dependsOn() {
	dir, _ := os.MkdirTemp("", "queue-deps-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	var mu sync.Mutex
	var order []string
	q.Handle("step", func(_ context.Context, m *queuesqlite.Message) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, m.ID)
		return nil, nil
	}, nil)
	step := func(id string, after ...string) *queuesqlite.Message {
		m := queuesqlite.NewMessage("step", id)
		m.ID, m.DependsOn = id, after
		return m
	}
	ctx := context.Background()
	// A batch may hold a step and its dependants: dependencies come first.
	_, err = q.SendBatch(ctx, []*queuesqlite.Message{
		step("fetch"), step("render", "fetch"), step("thumbs", "fetch"), step("publish", "render", "thumbs"),
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	q.Start(ctx)
	if _, err := q.Wait(ctx, "publish"); err != nil {
		log.Fatal(err)
	}
	mu.Lock()
	fmt.Println(order[0], "first,", order[3], "last")
	mu.Unlock()

	_, err = q.Send(ctx, step("orphan", "no-such-step"), nil)
	fmt.Println(errors.Is(err, queuesqlite.ErrInvalidArgument))
	// Output:
	// fetch first, publish last
	// true
}

// A failed dependency fails what waits for it, down the tree, without
// running it; its LastError names the dependency.
func ExampleMessage_dependsOnFailure() {
	dir, _ := os.MkdirTemp("", "queue-deps-fail-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	q.Handle("charge", func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, fmt.Errorf("card declined: %w", queuesqlite.ErrSkipRetry)
	}, nil)
	q.Handle("ship", func(context.Context, *queuesqlite.Message) (any, error) { return "shipped", nil }, nil)
	charge := queuesqlite.NewMessage("charge", 42)
	charge.ID = "charge-42"
	ship := queuesqlite.NewMessage("ship", 42)
	ship.ID, ship.DependsOn = "ship-42", []string{"charge-42"}
	ctx := context.Background()
	if _, err := q.SendBatch(ctx, []*queuesqlite.Message{charge, ship}, nil); err != nil {
		log.Fatal(err)
	}
	q.Start(ctx)
	m, err := q.Wait(ctx, "ship-42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Status, "-", m.LastError)
	// Output:
	// failed - dependency charge-42 failed
}

// A group is a batch with one callback: it fires once, in the sending
// process, when every member has finished, whatever each one's outcome.
// Its result is stored, so GroupResult reads it from any process.
func ExampleQueue_SendGroup() {
	dir, _ := os.MkdirTemp("", "queue-group-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	q.Handle("resize", func(_ context.Context, m *queuesqlite.Message) (any, error) {
		var name string
		m.Decode(&name)
		if name == "broken.png" {
			return nil, fmt.Errorf("not an image: %w", queuesqlite.ErrSkipRetry)
		}
		return "ok", nil
	}, nil)
	ctx := context.Background()
	var batch []*queuesqlite.Message
	for _, name := range []string{"a.png", "b.png", "broken.png"} {
		batch = append(batch, queuesqlite.NewMessage("resize", name))
	}
	done := make(chan *queuesqlite.GroupResult)
	g, err := q.SendGroup(ctx, batch, func(r *queuesqlite.GroupResult) { done <- r })
	if err != nil {
		log.Fatal(err)
	}
	q.Start(ctx)
	r := <-done
	fmt.Println("callback:", r.Counts[queuesqlite.StatusCompleted], "completed,", r.Counts[queuesqlite.StatusFailed], "failed")
	stored, err := q.GroupResult(ctx, g.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored:", stored.Finished, len(stored.MessageIDs), "members")
	// Output:
	// callback: 2 completed, 1 failed
	// stored: true 3 members
}
