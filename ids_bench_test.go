package queuesqlite_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// BenchmarkShardsSendKeyed32: Send throughput on 4 shards with 32 senders
// when every message has its own shard key, so about 3 in 4 are stored
// outside their id's home shard and first write an id route there.
func BenchmarkShardsSendKeyed32(b *testing.B) {
	q := benchQueue(b, &queuesqlite.Config{Shards: 4})
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(32 / max(1, runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := queuesqlite.NewMessage("noop", map[string]int{"n": 1})
			m.ShardKey = fmt.Sprint("k", next.Add(1))
			if _, err := q.Send(ctx, m, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
