package queuesqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// A periodic job sends a message at each tick of its schedule. Every
// process registers it; the leader sends each tick once. The queue's
// clock is moved by hand here so the example need not wait for the hour.
func ExampleQueue_AddPeriodic() {
	dir, _ := os.MkdirTemp("", "queue-periodic-*")
	defer os.RemoveAll(dir)
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 9, 59, 30, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Clock: clock, MaintenanceInterval: 50 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()

	ran := make(chan string)
	q.Handle("report", func(_ context.Context, m *queuesqlite.Message) (any, error) {
		ran <- fmt.Sprintf("%s report for the tick of %s", m.Content, m.RunAt.Format(time.TimeOnly))
		return nil, nil
	}, nil)
	err = q.AddPeriodic(queuesqlite.PeriodicJob{Name: "hourly-sales", Schedule: "@hourly",
		Message: queuesqlite.NewMessage("report", "sales")})
	if err != nil {
		log.Fatal(err)
	}
	jobs, _ := q.Periodic(ctx)
	fmt.Println(jobs[0].Job.Name, "next at", jobs[0].Next.Format(time.TimeOnly))

	q.Start(ctx)
	mu.Lock()
	now = now.Add(time.Minute) // 10:00:30: the 10:00 tick is due
	mu.Unlock()
	fmt.Println(<-ran)

	err = q.AddPeriodic(queuesqlite.PeriodicJob{Name: "bad", Schedule: "61 * * * *",
		Message: queuesqlite.NewMessage("report", "x")})
	fmt.Println(err)
	// Output:
	// hourly-sales next at 10:00:00
	// "sales" report for the tick of 10:00:00
	// invalid argument: periodic job "bad": bad cron expression "61 * * * *": end of range (61) above maximum (59): 61
}
