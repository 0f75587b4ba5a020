package queuesqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/queue-sqlite/queuesqlite"
)

// ResizeArgs is the content of a "resize" job: its Kind is the handler it
// goes to, so sender and handler cannot disagree on the name.
type ResizeArgs struct {
	URL   string `json:"url"`
	Width int    `json:"width"`
}

// Kind names the handler of ResizeArgs.
func (ResizeArgs) Kind() string { return "resize" }

// HandleJob registers a handler by the args type; it gets the decoded args
// and the message (id, attempt, metadata, tags). SendJob sends args to
// their Kind, with other fields from an optional template.
func ExampleHandleJob() {
	dir, _ := os.MkdirTemp("", "queue-typed-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	err = queuesqlite.HandleJob(q, func(ctx context.Context, j *queuesqlite.Job[ResizeArgs]) (any, error) {
		var meta struct{ Tenant string }
		if err := json.Unmarshal(j.Metadata, &meta); err != nil {
			return nil, err
		}
		return fmt.Sprintf("%s@%dw for %s (attempt %d)", j.Args.URL, j.Args.Width, meta.Tenant, j.Attempt), nil
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	q.Start(ctx)

	tmpl := (&queuesqlite.Message{Priority: queuesqlite.PriorityHigh}).SetMetadata(map[string]string{"tenant": "acme"})
	id, err := queuesqlite.SendJob(ctx, q, ResizeArgs{URL: "a.jpg", Width: 320}, tmpl, nil)
	if err != nil {
		log.Fatal(err)
	}
	m, _ := q.Wait(ctx, id)
	var out string
	m.DecodeResult(&out)
	fmt.Println(m.Destination, m.Status, out)
	// Output: resize completed a.jpg@320w for acme (attempt 1)
}
