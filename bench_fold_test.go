package queuesqlite_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// BenchmarkDrain20k_Fold: BenchmarkDrain20k on each backend, each
// iteration draining once with outcomes folded into the next claim's
// commit (the default) and once without, the order alternating. It
// reports both rates, their ratio (fold over plain: above 1, folding
// pays) and, where the store counts them, write transactions per message.
func BenchmarkDrain20k_Fold(b *testing.B) {
	for _, be := range backendtest.All(b) {
		if be.Name != "sqlite" && be.Name != "postgres" {
			continue // sharded SQLite does not fold; pgbouncer is postgres one hop further
		}
		b.Run(be.Name, func(b *testing.B) {
			var arms [2]foldArm // plain, folded
			i := 0
			for b.Loop() {
				for k := range 2 {
					fold := (k+i)%2 == 1
					arms[boolIndex(fold)].add(drainFold(b, be, fold))
				}
				i++
			}
			n := float64(b.N * drainFeatureN)
			b.ReportMetric(n/arms[0].elapsed.Seconds(), "plain-msgs/s")
			b.ReportMetric(n/arms[1].elapsed.Seconds(), "fold-msgs/s")
			b.ReportMetric(arms[0].elapsed.Seconds()/arms[1].elapsed.Seconds(), "ratio")
			if f := arms[1]; f.folded+f.alone > 0 {
				b.ReportMetric(float64(f.folded)/float64(f.folded+f.alone), "folded-share")
			}
			if arms[0].txs > 0 {
				b.ReportMetric(float64(arms[0].txs)/n, "plain-tx/msg")
				b.ReportMetric(float64(arms[1].txs)/n, "fold-tx/msg")
			}
		})
	}
}

// foldArm sums one arm's drains.
type foldArm struct {
	elapsed       time.Duration
	txs           int64
	folded, alone int64 // outcome batches recorded with a claim, alone
}

func (a *foldArm) add(r foldDrain) {
	a.elapsed, a.txs = a.elapsed+r.elapsed, a.txs+r.txs
	a.folded, a.alone = a.folded+r.folded, a.alone+r.alone
}

// foldDrain is what one drain measured.
type foldDrain struct {
	elapsed       time.Duration
	txs           int64
	folded, alone int64
}

func boolIndex(v bool) int {
	if v {
		return 1
	}
	return 0
}

// drainFold drains 20,000 no-op messages with 100 workers on a fresh store
// of be, folding outcomes into claims or not, and returns the time from
// Start to the last callback, the write transactions it committed and
// how its outcome batches were recorded.
func drainFold(b *testing.B, be backendtest.Backend, fold bool) foldDrain {
	ctx := context.Background()
	b.StopTimer()
	defer b.StartTimer()
	q := be.NewStore(b).Open(b, &queuesqlite.Config{Workers: 100})
	defer q.Close()
	q.SetFoldForTest(fold)
	if err := q.Handle("noop", noop, nil); err != nil {
		b.Fatal(err)
	}
	var done atomic.Int64
	finished := make(chan struct{})
	presend(b, q, drainFeatureN, func(*queuesqlite.Message) {
		if done.Add(1) == drainFeatureN {
			close(finished)
		}
	})
	b.StartTimer()
	start, tx0 := time.Now(), q.WriteTransactions()
	if err := q.Start(ctx); err != nil {
		b.Fatal(err)
	}
	<-finished
	r := foldDrain{elapsed: time.Since(start), txs: q.WriteTransactions() - tx0}
	b.StopTimer()
	r.folded, r.alone = q.FoldedBatchesForTest()
	if err := q.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	return r
}
