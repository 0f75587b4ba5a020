package queuesqlite_test

import (
	"context"
	"fmt"
	_ "github.com/queue-sqlite/queuesqlite/driver/sqlite" // the SQLite backend of Open
	"log"
	"os"

	"github.com/queue-sqlite/queuesqlite"
)

// A handler registered under a name runs the messages sent to that name;
// the callback fires in the sender once the message has finished.
func Example() {
	dir, _ := os.MkdirTemp("", "queue-example-*")
	defer os.RemoveAll(dir)

	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Workers: 4, CallbackWorkers: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	q.Handle("process_image", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		var in struct{ URL string }
		if err := m.Decode(&in); err != nil {
			return nil, err
		}
		return map[string]any{"status": "success", "size": []int{100, 200}}, nil
	}, nil)
	ctx := context.Background()
	if err := q.Start(ctx); err != nil {
		log.Fatal(err)
	}

	done := make(chan *queuesqlite.Message, 1)
	_, err = q.Send(ctx, queuesqlite.NewMessage("process_image", map[string]any{"url": "https://example.com/a.jpg"}),
		func(m *queuesqlite.Message) { done <- m })
	if err != nil {
		log.Fatal(err)
	}
	m := <-done
	fmt.Println(m.Status, string(m.Result))

	if err := q.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: completed {"size":[100,200],"status":"success"}
}
