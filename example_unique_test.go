package queuesqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/queue-sqlite/queuesqlite"
)

// A unique message is stored once while it is unfinished: a second send
// with the same key gets the first one's id and is told it was a
// duplicate. Once the first has finished, the key is free again.
func ExampleQueue_SendUnique() {
	dir, _ := os.MkdirTemp("", "queue-unique-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()

	report := func() *queuesqlite.Message {
		m := queuesqlite.NewMessage("report", map[string]string{"day": "2026-12-02"})
		m.Unique = &queuesqlite.UniqueOpts{Key: "daily-report/2026-12-02"}
		return m
	}
	first, _ := q.SendUnique(ctx, report(), nil)
	second, _ := q.SendUnique(ctx, report(), nil)
	fmt.Println(first.Duplicate, second.Duplicate, second.ID == first.ID)

	q.Handle("report", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "done", nil }, nil)
	q.Start(ctx)
	q.Wait(ctx, first.ID)
	third, _ := q.SendUnique(ctx, report(), nil)
	fmt.Println(third.Duplicate, third.ID == first.ID)
	// Output:
	// false true true
	// false false
}
