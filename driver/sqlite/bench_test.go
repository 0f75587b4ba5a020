package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/drivertest"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// benchRefill is how many messages a benchmark stores (untimed) whenever it
// runs out of work.
const benchRefill = 10000

// benchShard is a real SQLite file with the default options and a supply of
// messages for the Claim and Complete benchmarks.
type benchShard struct {
	db   *sqlite.DB
	next int // ids handed out so far
}

func newBenchShard(b *testing.B) *benchShard {
	b.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return &benchShard{db: db}
}

// insert stores n pending messages in batches of 1000.
func (s *benchShard) insert(b *testing.B, n int) {
	b.Helper()
	now := time.Now().UTC()
	for n > 0 {
		ms := make([]*queuetype.Message, min(n, 1000))
		for i := range ms {
			s.next++
			ms[i] = &queuetype.Message{ID: fmt.Sprint("m-", s.next), Type: queuetype.TypeTask,
				Status: queuetype.StatusPending, Destination: "noop", Source: queuetype.SourceDefault,
				Content: []byte(`{"t":1}`), Priority: queuetype.PriorityNormal,
				CreatedAt: now, UpdatedAt: now, RunAt: now, MaxAttempts: 4}
		}
		if err := s.db.Insert(context.Background(), driver.InsertParams{Messages: ms}); err != nil {
			b.Fatal(err)
		}
		n -= len(ms)
	}
}

// claim leases up to max ready messages, as the queue's fetcher does.
func (s *benchShard) claim(b *testing.B, max int) []*queuetype.Message {
	now := time.Now().UTC()
	ms, err := s.db.Claim(context.Background(), driver.ClaimParams{Destinations: []string{"noop"}, Max: max,
		Owner: "bench", Now: now, LeaseUntil: now.Add(30 * time.Second), Me: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return ms
}

// complete records the messages as completed, as the queue's completer does.
func (s *benchShard) complete(b *testing.B, ms []*queuetype.Message) {
	now := time.Now().UTC()
	cs := make([]*driver.Completion, len(ms))
	for i, m := range ms {
		cs[i] = &driver.Completion{Seq: m.Seq, Attempt: m.Attempt, Owner: m.LeaseOwner, Now: now, Me: "bench",
			Status: queuetype.StatusCompleted}
	}
	if err := s.db.Complete(context.Background(), cs); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkClaim claims batches of 1 and 100 from a file with at least a
// batch of pending messages (refilled untimed). One op is one claim;
// allocs/op divided by the batch size is allocations per message.
func BenchmarkClaim(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			s := newBenchShard(b)
			pending := 0
			b.ReportAllocs()
			for b.Loop() {
				if pending < batch {
					b.StopTimer()
					s.insert(b, benchRefill)
					pending += benchRefill
					b.StartTimer()
				}
				pending -= len(s.claim(b, batch))
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkComplete records completions in batches of 1 and 100 for
// messages claimed beforehand (untimed). One op is one Complete call.
func BenchmarkComplete(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			s := newBenchShard(b)
			var claimed []*queuetype.Message
			b.ReportAllocs()
			for b.Loop() {
				if len(claimed) < batch {
					b.StopTimer()
					s.insert(b, benchRefill)
					claimed = s.claim(b, benchRefill)
					b.StartTimer()
				}
				s.complete(b, claimed[:batch])
				claimed = claimed[batch:]
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkResolveDependencies times the release of one child whose parent
// just completed, beside many children still waiting (drivertest.BenchmarkResolve).
func BenchmarkResolveDependencies(b *testing.B) {
	for _, waiting := range []int{1000, 20000} {
		b.Run(fmt.Sprint("waiting=", waiting), func(b *testing.B) {
			drivertest.BenchmarkResolve(b, newBenchShard(b).db, waiting, nil)
		})
	}
}
