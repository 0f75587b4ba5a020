package queuesqlite_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

func benchQueue(b *testing.B, cfg *queuesqlite.Config) *queuesqlite.Queue {
	b.Helper()
	q, err := queuesqlite.Open(b.TempDir(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	return q
}

var noop = func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }

// BenchmarkSend: one goroutine, each Send returns after its commit.
func BenchmarkSend(b *testing.B) {
	q := benchQueue(b, nil)
	ctx := context.Background()
	m := queuesqlite.NewMessage("noop", map[string]int{"n": 1})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := q.Send(ctx, m, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSendParallel32: 32 goroutines sending; group commit folds them.
func BenchmarkSendParallel32(b *testing.B) {
	q := benchQueue(b, nil)
	ctx := context.Background()
	m := queuesqlite.NewMessage("noop", map[string]int{"n": 1})
	b.ReportAllocs()
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
}

// BenchmarkSendBatch1000: batches of 1000 messages, one transaction each.
func BenchmarkSendBatch1000(b *testing.B) {
	q := benchQueue(b, nil)
	ctx := context.Background()
	batch := make([]*queuesqlite.Message, 1000)
	for i := range batch {
		batch[i] = queuesqlite.NewMessage("noop", map[string]int{"n": i})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := q.SendBatch(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDrain20k: 20,000 pre-sent no-op messages, 100 workers, timed
// from Start until every completion callback fired (a callback fires once
// the outcome is committed). Allocations are per drain of 20,000.
func BenchmarkDrain20k(b *testing.B) {
	const n = 20000
	ctx := context.Background()
	var total time.Duration
	var txs int64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		q := benchQueue(b, &queuesqlite.Config{Workers: 100})
		if err := q.Handle("noop", noop, nil); err != nil {
			b.Fatal(err)
		}
		var done atomic.Int64
		finished := make(chan struct{})
		cb := func(*queuesqlite.Message) {
			if done.Add(1) == n {
				close(finished)
			}
		}
		presend(b, q, n, cb)
		b.StartTimer()
		start, tx0 := time.Now(), q.WriteTransactions()
		q.Start(ctx)
		<-finished
		total += time.Since(start)
		b.StopTimer()
		txs += q.WriteTransactions() - tx0
		q.Stop(ctx)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*n)/total.Seconds(), "msgs/s")
	b.ReportMetric(float64(txs)/float64(b.N*n), "tx/msg")
}

// presend stores n no-op messages in batches of 1000, each with cb.
func presend(b *testing.B, q *queuesqlite.Queue, n int, cb queuesqlite.Callback) {
	batch := make([]*queuesqlite.Message, 1000)
	for i := range batch {
		batch[i] = queuesqlite.NewMessage("noop", map[string]int{"n": i})
	}
	for range n / len(batch) {
		if _, err := q.SendBatch(context.Background(), batch, cb); err != nil {
			b.Fatal(err)
		}
	}
}
