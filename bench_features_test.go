package queuesqlite_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// drainFeature is a job feature switched on for a drain of 20,000 no-op
// messages: its config, its handlers (nil: "noop" with no options) and
// its messages (nil: to "noop").
type drainFeature struct {
	cfg   func(*queuesqlite.Config)
	setup func(*testing.B, *queuesqlite.Queue)
	msg   func(i int) *queuesqlite.Message
}

// drainFeatureN is the size of a feature benchmark's drain; its batches
// of drainBatch are sent whole (a chain of dependencies never crosses one).
const (
	drainFeatureN = 20000
	drainBatch    = 1000
	drainChain    = 10 // messages per chain in BenchmarkDrain20k_Dependencies
)

// drainWith drains 20,000 messages with f (the zero f: as
// BenchmarkDrain20k) and returns the time from Start to the last callback.
func drainWith(b *testing.B, f drainFeature) time.Duration {
	ctx := context.Background()
	b.StopTimer()
	defer b.StartTimer()
	cfg := &queuesqlite.Config{Workers: 100}
	if f.cfg != nil {
		f.cfg(cfg)
	}
	q := benchQueue(b, cfg)
	defer q.Close()
	if f.setup != nil {
		f.setup(b, q)
	} else if err := q.Handle("noop", noop, nil); err != nil {
		b.Fatal(err)
	}
	msg := f.msg
	if msg == nil {
		msg = func(i int) *queuesqlite.Message { return queuesqlite.NewMessage("noop", map[string]int{"n": i}) }
	}
	var done atomic.Int64
	finished := make(chan struct{})
	cb := func(*queuesqlite.Message) {
		if done.Add(1) == drainFeatureN {
			close(finished)
		}
	}
	for start := 0; start < drainFeatureN; start += drainBatch {
		batch := make([]*queuesqlite.Message, drainBatch)
		for i := range batch {
			batch[i] = msg(start + i)
		}
		if _, err := q.SendBatch(ctx, batch, cb); err != nil {
			b.Fatal(err)
		}
	}
	b.StartTimer()
	start := time.Now()
	if err := q.Start(ctx); err != nil {
		b.Fatal(err)
	}
	<-finished
	elapsed := time.Since(start)
	b.StopTimer()
	if err := q.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	return elapsed
}

// benchFeature drains once without and once with f per iteration, the
// order alternating so both arms see the same load, and reports both
// rates and their ratio (feature over plain; below 1: the feature costs).
func benchFeature(b *testing.B, f drainFeature) {
	var plain, on time.Duration
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			plain += drainWith(b, drainFeature{})
			on += drainWith(b, f)
		} else {
			on += drainWith(b, f)
			plain += drainWith(b, drainFeature{})
		}
		i++
	}
	b.ReportMetric(float64(b.N*drainFeatureN)/plain.Seconds(), "plain-msgs/s")
	b.ReportMetric(float64(b.N*drainFeatureN)/on.Seconds(), "feature-msgs/s")
	b.ReportMetric(plain.Seconds()/on.Seconds(), "ratio")
}

// handleNoop registers the no-op handler under name with opts.
func handleNoop(b *testing.B, q *queuesqlite.Queue, name string, opts *queuesqlite.HandlerOpts) {
	b.Helper()
	if err := q.Handle(name, noop, opts); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDrain20k_Queues: two named worker queues of 50 workers, each
// with one destination, half of the messages each.
func BenchmarkDrain20k_Queues(b *testing.B) {
	benchFeature(b, drainFeature{
		cfg: func(c *queuesqlite.Config) {
			c.Workers = 0
			c.Queues = map[string]queuesqlite.QueueConfig{"a": {MaxWorkers: 50}, "b": {MaxWorkers: 50}}
		},
		setup: func(b *testing.B, q *queuesqlite.Queue) {
			handleNoop(b, q, "noop", &queuesqlite.HandlerOpts{Queue: "a"})
			handleNoop(b, q, "noop2", &queuesqlite.HandlerOpts{Queue: "b"})
		},
		msg: func(i int) *queuesqlite.Message {
			return queuesqlite.NewMessage([]string{"noop", "noop2"}[i%2], map[string]int{"n": i})
		},
	})
}

// BenchmarkDrain20k_GlobalLimit: a per-destination global concurrency
// limit that never binds (1000, above the 100 workers).
func BenchmarkDrain20k_GlobalLimit(b *testing.B) {
	benchFeature(b, drainFeature{setup: func(b *testing.B, q *queuesqlite.Queue) {
		handleNoop(b, q, "noop", &queuesqlite.HandlerOpts{GlobalConcurrency: 1000})
	}})
}

// BenchmarkDrain20k_QueueLimit: a worker queue's global concurrency limit
// that never binds (1000, above its 100 workers).
func BenchmarkDrain20k_QueueLimit(b *testing.B) {
	benchFeature(b, drainFeature{
		cfg: func(c *queuesqlite.Config) {
			c.Workers = 0
			c.Queues = map[string]queuesqlite.QueueConfig{"a": {MaxWorkers: 100, GlobalConcurrency: 1000}}
		},
		setup: func(b *testing.B, q *queuesqlite.Queue) {
			handleNoop(b, q, "noop", &queuesqlite.HandlerOpts{Queue: "a"})
		},
	})
}

// BenchmarkDrain20k_RateLimit: a rate limit that never binds (a million
// starts per second).
func BenchmarkDrain20k_RateLimit(b *testing.B) {
	benchFeature(b, drainFeature{setup: func(b *testing.B, q *queuesqlite.Queue) {
		handleNoop(b, q, "noop", &queuesqlite.HandlerOpts{RateLimit: 1_000_000, RatePer: time.Second})
	}})
}

// BenchmarkDrain20k_Unique: every message carries its own unique key.
func BenchmarkDrain20k_Unique(b *testing.B) {
	benchFeature(b, drainFeature{msg: func(i int) *queuesqlite.Message {
		m := queuesqlite.NewMessage("noop", map[string]int{"n": i})
		m.Unique = &queuesqlite.UniqueOpts{Key: fmt.Sprint("key-", i)}
		return m
	}})
}

// BenchmarkDrain20k_Dependencies: the messages are 2,000 chains of 10,
// each message depending on the one before it in its chain.
func BenchmarkDrain20k_Dependencies(b *testing.B) {
	benchFeature(b, drainFeature{msg: func(i int) *queuesqlite.Message {
		m := queuesqlite.NewMessage("noop", map[string]int{"n": i})
		m.ID = fmt.Sprint("chain-", i)
		if i%drainChain != 0 {
			m.DependsOn = []string{fmt.Sprint("chain-", i-1)}
		}
		return m
	}})
}

// BenchmarkDrain20k_Middleware: one no-op handler middleware and one
// no-op send middleware.
func BenchmarkDrain20k_Middleware(b *testing.B) {
	benchFeature(b, drainFeature{setup: func(b *testing.B, q *queuesqlite.Queue) {
		handleNoop(b, q, "noop", nil)
		pass := func(next queuesqlite.HandlerFunc) queuesqlite.HandlerFunc {
			return func(ctx context.Context, m *queuesqlite.Message) (any, error) { return next(ctx, m) }
		}
		passSend := func(next queuesqlite.SendFunc) queuesqlite.SendFunc { return next }
		if err := q.UseHandler(pass); err != nil {
			b.Fatal(err)
		}
		if err := q.UseSend(passSend); err != nil {
			b.Fatal(err)
		}
	}})
}
