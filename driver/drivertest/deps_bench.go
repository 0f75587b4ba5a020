package drivertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Shape of BenchmarkResolve's store.
const (
	benchBlockers    = 10   // unfinished parents the waiting children wait for
	benchInsertBatch = 1000 // messages per insert while filling
)

// BenchmarkResolve measures ResolveDependencies on d (a driver.DependencyStore)
// holding waiting children whose parents have not finished, when one
// parent has just completed: each op completes a parent (untimed) and
// times the call that releases its one child. Its cost should not grow
// with waiting. filled, when not nil, runs once the store is filled (to
// refresh a server's table statistics, as its autovacuum would).
func BenchmarkResolve(b *testing.B, d driver.Driver, waiting int, filled func()) {
	ds, ok := d.(driver.DependencyStore)
	if !ok {
		b.Skip("backend does not store dependencies")
	}
	ctx := context.Background()
	now := time.Now().UTC()
	msg := func(id, dest string, deps ...string) *queuetype.Message {
		return &queuetype.Message{ID: id, Type: queuetype.TypeTask, Status: queuetype.StatusPending, Destination: dest,
			Source: queuetype.SourceDefault, Content: []byte(`{}`), Priority: queuetype.PriorityNormal,
			CreatedAt: now, UpdatedAt: now, RunAt: now, MaxAttempts: 3, DependsOn: deps}
	}
	var batch []*queuetype.Message
	flush := func() {
		if err := d.Insert(ctx, driver.InsertParams{Messages: batch}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range benchBlockers {
		batch = append(batch, msg(fmt.Sprint("blocker-", i), "blocker"))
	}
	flush()
	for i := range waiting {
		batch = append(batch, msg(fmt.Sprint("waiting-", i), "child", fmt.Sprint("blocker-", i%benchBlockers)))
		if len(batch) == benchInsertBatch {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	if filled != nil {
		filled()
	}
	p := driver.MaintainParams{Now: now, Limit: 1000, Me: "bench"}
	n := 0
	for b.Loop() {
		b.StopTimer()
		n++
		parent := fmt.Sprint("parent-", n)
		batch = append(batch, msg(parent, "parent"), msg(fmt.Sprint("child-", n), "child", parent))
		flush()
		ms, err := d.Claim(ctx, driver.ClaimParams{Destinations: []string{"parent"}, Max: 1, Owner: "bench",
			Now: now, LeaseUntil: now.Add(time.Minute), Me: "bench"})
		if err != nil || len(ms) != 1 {
			b.Fatalf("claim the parent: %d, %v", len(ms), err)
		}
		c := &driver.Completion{Seq: ms[0].Seq, Attempt: ms[0].Attempt, Owner: "bench", Now: now, Me: "bench",
			Status: queuetype.StatusCompleted}
		if err := d.Complete(ctx, []*driver.Completion{c}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := ds.ResolveDependencies(ctx, p)
		if err != nil || res.Released != 1 {
			b.Fatalf("resolve: released %d, %v; want the parent's one child", res.Released, err)
		}
	}
}
