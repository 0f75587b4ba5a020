package queuesqlite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

var shardCounts = []int{1, 2, 4, 8}

// BenchmarkShardsSend32: Send throughput with 32 concurrent senders for 1,
// 2, 4 and 8 shards (each shard has its own writer).
func BenchmarkShardsSend32(b *testing.B) {
	for _, n := range shardCounts {
		b.Run(fmt.Sprint("shards=", n), func(b *testing.B) {
			q := benchQueue(b, &queuesqlite.Config{Shards: n})
			ctx := context.Background()
			m := queuesqlite.NewMessage("noop", map[string]int{"n": 1})
			b.SetParallelism(32 / max(1, runtimeProcs()))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := q.Send(ctx, m, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkShardsDrain: 20,000 pre-sent no-op messages drained by 100
// workers, for 1, 2, 4 and 8 shards.
func BenchmarkShardsDrain(b *testing.B) {
	const n = 20000
	for _, shards := range shardCounts {
		b.Run(fmt.Sprint("shards=", shards), func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				q := benchQueue(b, &queuesqlite.Config{Shards: shards, Workers: 100})
				var done atomic.Int64
				finished := make(chan struct{})
				var once sync.Once
				q.Handle("noop", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
					if done.Add(1) == n {
						once.Do(func() { close(finished) })
					}
					return nil, nil
				}, nil)
				batch := make([]*queuesqlite.Message, 1000)
				for i := range batch {
					batch[i] = queuesqlite.NewMessage("noop", i)
				}
				for range n / len(batch) {
					if _, err := q.SendBatch(context.Background(), batch, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				start := time.Now()
				q.Start(context.Background())
				<-finished
				total += time.Since(start)
				b.StopTimer()
				q.Stop(context.Background())
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*n)/total.Seconds(), "msgs/s")
		})
	}
}
