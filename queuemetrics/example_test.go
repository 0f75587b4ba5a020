package queuemetrics_test

import (
	"context"
	"fmt"
	_ "github.com/queue-sqlite/queuesqlite/driver/sqlite" // the SQLite backend of Open
	"log"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queuemetrics"
)

// New installs the metrics middleware on the queue and returns a collector
// for the application's registry (serve it with promhttp.HandlerFor).
func Example() {
	dir, _ := os.MkdirTemp("", "queue-metrics-*")
	defer os.RemoveAll(dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	c, err := queuemetrics.New(q, nil)
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	ctx := context.Background()
	for range 3 {
		q.Send(ctx, queuesqlite.NewMessage("email", "hi"), nil) // no worker runs yet: they wait
	}
	n, _ := testutil.GatherAndCount(reg, "queuesqlite_messages_sent_total", "queuesqlite_queue_depth")
	fmt.Println("series:", n)
	problems, _ := testutil.GatherAndLint(reg)
	fmt.Println("lint problems:", len(problems))
	// Output:
	// series: 2
	// lint problems: 0
}
