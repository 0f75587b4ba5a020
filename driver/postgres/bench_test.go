package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/postgres"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// statsWait bounds the wait for the server's table statistics, which
// backends flush about once a second.
const statsWait = 10 * time.Second

// tableStats reads the messages table's update counters once they count
// at least minUpdates.
func tableStats(b *testing.B, db *postgres.DB, minUpdates int64) (upd, hot, dead int64) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(statsWait)
	for {
		err := db.Pool().QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd, n_dead_tup FROM pg_stat_user_tables
			WHERE schemaname = $1 AND relname = 'messages'`, db.Schema()).Scan(&upd, &hot, &dead)
		if err != nil {
			b.Fatal(err)
		}
		if upd >= minUpdates || time.Now().After(deadline) {
			return upd, hot, dead
		}
		time.Sleep(100 * time.Millisecond) // statistics arrive asynchronously; nothing to wait on
	}
}

func pending(n int, dest string) []*queuetype.Message {
	now := time.Now().UTC()
	ms := make([]*queuetype.Message, n)
	for i := range ms {
		ms[i] = &queuetype.Message{ID: fmt.Sprint("b", i), Type: queuetype.TypeTask, Status: queuetype.StatusPending,
			Destination: dest, Source: queuetype.SourceDefault, Content: []byte(`{"n":1}`),
			Priority: queuetype.PriorityNormal, CreatedAt: now, UpdatedAt: now, RunAt: now, MaxAttempts: 3}
	}
	return ms
}

// BenchmarkLeaseRenewal renews 500 leases per op and reports the share of
// those updates PostgreSQL made as HOT updates (no index touched): the
// lease column is in no index, so it should be close to 1.
func BenchmarkLeaseRenewal(b *testing.B) {
	db := openSchema(b, pgtest.Schema(b), nil)
	ctx := context.Background()
	const n = 500
	if err := db.Insert(ctx, driver.InsertParams{Messages: pending(n, "x")}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	ms, err := db.Claim(ctx, driver.ClaimParams{Destinations: []string{"x"}, Max: n, Owner: "o", Now: now,
		LeaseUntil: now.Add(time.Minute), Me: "me"})
	if err != nil || len(ms) != n {
		b.Fatalf("claim: %d %v", len(ms), err)
	}
	seqs, attempts := make([]int64, n), make([]int, n)
	for i, m := range ms {
		seqs[i], attempts[i] = m.Seq, m.Attempt
	}
	upd0, hot0, _ := tableStats(b, db, n)
	b.ResetTimer()
	for i := range b.N {
		held, err := db.ExtendLeases(ctx, driver.LeaseParams{Owner: "o", Seqs: seqs, Attempts: attempts,
			Until: now.Add(time.Duration(i) * time.Second)})
		if err != nil || len(held) != n {
			b.Fatalf("renew: %d %v", len(held), err)
		}
	}
	b.StopTimer()
	upd, hot, _ := tableStats(b, db, upd0+int64(b.N*n))
	if upd > upd0 {
		b.ReportMetric(float64(hot-hot0)/float64(upd-upd0), "hot/update")
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "renewals/s")
}

// BenchmarkClaimComplete claims and completes batches of 100 and reports
// the dead tuples the messages table holds afterwards per message.
func BenchmarkClaimComplete(b *testing.B) {
	db := openSchema(b, pgtest.Schema(b), nil)
	ctx := context.Background()
	const batch = 100
	total := b.N * batch
	for sent := 0; sent < total; sent += 5000 {
		ms := pending(min(5000, total-sent), "x")
		for i, m := range ms {
			m.ID = fmt.Sprint("m", sent+i)
		}
		if err := db.Insert(ctx, driver.InsertParams{Messages: ms}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		now := time.Now()
		ms, err := db.Claim(ctx, driver.ClaimParams{Destinations: []string{"x"}, Max: batch, Owner: "o", Now: now,
			LeaseUntil: now.Add(time.Minute), Me: "me"})
		if err != nil || len(ms) != batch {
			b.Fatalf("claim: %d %v", len(ms), err)
		}
		cs := make([]*driver.Completion, len(ms))
		for i, m := range ms {
			cs[i] = &driver.Completion{Seq: m.Seq, Attempt: m.Attempt, Owner: "o", Status: queuetype.StatusCompleted,
				Result: []byte(`1`), Now: now, Me: "me"}
		}
		if err := db.Complete(ctx, cs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_, _, dead := tableStats(b, db, int64(2*total))
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(dead)/float64(total), "dead/msg")
}

// BenchmarkQueueTransaction runs Elect, one of the queue's own
// transactions (BEGIN, an advisory lock, two updates, a read, COMMIT),
// with the idle-in-transaction timeout set in BEGIN's round trip and
// without it: compare the two as a ratio within one run.
func BenchmarkQueueTransaction(b *testing.B) {
	for _, c := range []struct {
		name     string
		idleInTx time.Duration
	}{{"IdleInTxTimeout", 0}, {"ServerSetting", -1}} {
		b.Run(c.name, func(b *testing.B) {
			db := openSchema(b, pgtest.Schema(b), &postgres.Options{IdleInTxTimeout: c.idleInTx, PollOnly: true})
			ctx := context.Background()
			if err := db.BeatOwner(ctx, driver.OwnerParams{Owner: "o", Lease: time.Minute, Now: time.Now()}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := db.Elect(ctx, driver.ElectParams{Name: "bench", Owner: "o", Now: time.Now()}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
