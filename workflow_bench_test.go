package queuesqlite_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// BenchmarkDependencyHop: a chain of messages, each depending on the one
// before, run by one instance with the default maintenance interval (1 s),
// so a hop that waited for the interval would show. hop-p50-ms and
// hop-max-ms are the times from a parent's handler returning to its
// child's handler starting; the promoter is woken by the parent's
// completion, not by its timer.
func BenchmarkDependencyHop(b *testing.B) {
	for _, be := range backendtest.All(b) {
		b.Run(be.Name, func(b *testing.B) {
			const chain = 50
			q := be.NewStore(b).Open(b, &queuesqlite.Config{Workers: 4})
			var mu sync.Mutex
			started, ended := map[string]time.Time{}, map[string]time.Time{}
			if err := q.Handle("hop", func(_ context.Context, m *queuesqlite.Message) (any, error) {
				mu.Lock()
				started[m.ID] = time.Now()
				mu.Unlock()
				defer func() { mu.Lock(); ended[m.ID] = time.Now(); mu.Unlock() }()
				return nil, nil
			}, nil); err != nil {
				b.Fatal(err)
			}
			if err := q.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			var hops []time.Duration
			for i := 0; b.Loop(); i++ {
				ms := make([]*queuesqlite.Message, chain)
				for j := range ms {
					ms[j] = queuesqlite.NewMessage("hop", j)
					ms[j].ID = fmt.Sprintf("r%d-%d", i, j)
					if j > 0 {
						ms[j].DependsOn = []string{ms[j-1].ID}
					}
				}
				if _, err := q.SendBatch(context.Background(), ms, nil); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err := q.Wait(ctx, ms[chain-1].ID)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				mu.Lock()
				for j := 1; j < chain; j++ {
					hops = append(hops, started[ms[j].ID].Sub(ended[ms[j-1].ID]))
				}
				mu.Unlock()
			}
			slices.Sort(hops)
			b.ReportMetric(float64(hops[len(hops)/2].Microseconds())/1000, "hop-p50-ms")
			b.ReportMetric(float64(hops[len(hops)-1].Microseconds())/1000, "hop-max-ms")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*chain)/1000, "ms/msg")
		})
	}
}
