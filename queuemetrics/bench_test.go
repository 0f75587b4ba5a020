package queuemetrics

import (
	"context"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// BenchmarkCollector_PerAttempt is the metrics' CPU cost of one attempt:
// the handler middleware around a no-op handler plus the outcome count.
func BenchmarkCollector_PerAttempt(b *testing.B) {
	c := newCollector(nil, nil)
	fn := c.HandlerMiddleware(func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil })
	m := queuesqlite.NewMessage("noop", 1)
	m.RunAt = time.Now()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		fn(ctx, m)
		c.observe(m, queuesqlite.StatusCompleted)
	}
}
