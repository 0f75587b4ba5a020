package queuesqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"

	"github.com/queue-sqlite/queuesqlite"
)

// Listeners fire, in order, when listen data changes: here in the same
// process, but equally when another process sharing the directory sets the
// key, or after a restart for changes made while this process was down.
func ExampleQueue_Listen() {
	dir, _ := os.MkdirTemp("", "queue-listen-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	seen := make(chan string, 10)
	q.Listen("config", func(ctx context.Context, c *queuesqlite.Change) error {
		switch {
		case c.Old == nil:
			seen <- fmt.Sprintf("created: %s", c.New)
		case c.Deleted():
			seen <- fmt.Sprintf("deleted (was %s)", c.Old)
		default:
			seen <- fmt.Sprintf("changed: %s -> %s", c.Old, c.New)
		}
		return nil
	}, nil)
	ctx := context.Background()
	q.Start(ctx)

	q.SetListenData(ctx, "config", "dark_mode=true")
	q.SetListenData(ctx, "config", "dark_mode=true") // equal: no change, no call
	q.SetListenData(ctx, "config", "dark_mode=false")
	q.DeleteListenData(ctx, "config")
	for range 3 {
		fmt.Println(<-seen)
	}
	// Output:
	// created: dark_mode=true
	// changed: dark_mode=true -> dark_mode=false
	// deleted (was dark_mode=false)
}

// Sending messages and setting listen data can be one transaction: both
// happen or neither.
func ExampleQueue_InTx() {
	dir, _ := os.MkdirTemp("", "queue-intx-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()

	var id string
	err = q.InTx(ctx, func(tx *sql.Tx) error {
		ids, err := q.SendTx(ctx, tx, queuesqlite.NewMessage("rebuild_index", map[string]int{"version": 2}))
		if err != nil {
			return err
		}
		id = ids[0]
		_, err = q.SetListenDataTx(ctx, tx, "index_version", "2")
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	m, _ := q.Get(ctx, id)
	v, _ := q.GetListenData(ctx, "index_version")
	fmt.Println(m.Destination, m.Status, v.Value)
	// Output: rebuild_index pending 2
}
