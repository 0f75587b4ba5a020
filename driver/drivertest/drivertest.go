// Package drivertest is the conformance suite every storage backend must
// pass. A backend's own test calls Run with a function that opens a fresh,
// empty shard; the suite then checks every behaviour of driver.Driver that
// the queue relies on. Backend behaviour is tested here once, never in the
// backend's package.
package drivertest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Harness is what a backend gives the suite for one test.
type Harness struct {
	Driver driver.Driver
	// BeginTx starts an application transaction on the same database, for
	// InsertTx.
	BeginTx func(ctx context.Context) (*sql.Tx, error)
	// Reopen opens another handle on the same store as Driver (for SQLite,
	// a second Open of the same file), as a second instance of the queue on
	// another process or host would, and registers its cleanup with t. Nil
	// when the backend cannot: the multi-handle tests are then skipped.
	Reopen func(t *testing.T) driver.Driver
	// BeginNative, when set, starts a transaction of the backend's native
	// type (for PostgreSQL a pgx.Tx) on the same database; end commits it
	// (true) or rolls it back.
	BeginNative func(ctx context.Context) (tx driver.Tx, end func(commit bool) error, err error)
	// BeginForeign, when set, starts a transaction on a database that is
	// not the store's (for PostgreSQL another database on the server: a
	// transaction on the store's own database reaches its tables, so it is
	// not foreign). Nil: the suite uses a transaction of another fresh
	// store, as for SQLite, where every store is a file of its own.
	BeginForeign func(ctx context.Context) (*sql.Tx, error)
}

// OpenFunc opens a fresh, empty shard for one test and registers its cleanup
// with t.
type OpenFunc func(t *testing.T) *Harness

// t0 is the suite's clock: every time the suite passes is derived from it.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Run runs the whole suite.
func Run(t *testing.T, open OpenFunc) {
	t.Run("Insert", func(t *testing.T) { testInsert(t, open) })
	t.Run("Claim", func(t *testing.T) { testClaim(t, open) })
	t.Run("Complete", func(t *testing.T) { testComplete(t, open) })
	t.Run("ClaimComplete", func(t *testing.T) { testClaimComplete(t, open) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, open) })
	t.Run("Owners", func(t *testing.T) { testOwners(t, open) })
	t.Run("Maintenance", func(t *testing.T) { testMaintenance(t, open) })
	t.Run("Admin", func(t *testing.T) { testAdmin(t, open) })
	t.Run("Callbacks", func(t *testing.T) { testCallbacks(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Listen", func(t *testing.T) { testListen(t, open) })
	t.Run("ListFilters", func(t *testing.T) { testListFilters(t, open) })
	t.Run("ListFinished", func(t *testing.T) { testListFinished(t, open) })
	t.Run("MaxAttempts", func(t *testing.T) { testMaxAttempts(t, open) })
	t.Run("TwoHandles", func(t *testing.T) { testTwoHandles(t, open) })
	t.Run("Leader", func(t *testing.T) { testLeader(t, open) })
	t.Run("Tx", func(t *testing.T) { testTx(t, open) })
	t.Run("Topics", func(t *testing.T) { testTopics(t, open) })
	t.Run("Pause", func(t *testing.T) { testPause(t, open) })
	t.Run("Limits", func(t *testing.T) { testLimits(t, open) })
	t.Run("QueueLimits", func(t *testing.T) { testQueueLimits(t, open) })
	t.Run("Meta", func(t *testing.T) { testMeta(t, open) })
	t.Run("Dependencies", func(t *testing.T) { testDependencies(t, open) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open) })
	t.Run("AttemptErrors", func(t *testing.T) { testAttemptErrors(t, open) })
}

// newMsg returns a pending message ready to insert, created at t0 + seq ms.
func newMsg(id, dest string, prio queuetype.Priority) *queuetype.Message {
	return &queuetype.Message{
		ID: id, Type: queuetype.TypeTask, Status: queuetype.StatusPending,
		Destination: dest, Source: queuetype.SourceDefault,
		Content: []byte(`{"n":1}`), Priority: prio,
		CreatedAt: t0, UpdatedAt: t0, RunAt: t0, MaxAttempts: 3,
	}
}

// keyed gives messages one ShardKey: send order (and, with dependencies,
// co-location) is promised among messages of one shard key, so a sharded
// store (package shard) keeps the order these tests check.
func keyed(key string, ms ...*queuetype.Message) []*queuetype.Message {
	for _, m := range ms {
		m.ShardKey = key
	}
	return ms
}

func insert(t *testing.T, d driver.Driver, ms ...*queuetype.Message) {
	t.Helper()
	if err := d.Insert(context.Background(), driver.InsertParams{Messages: ms}); err != nil {
		t.Fatalf("insert: %v", err)
	}
}

func get(t *testing.T, d driver.Driver, id string) *queuetype.Message {
	t.Helper()
	m, err := d.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return m
}

func claim(t *testing.T, d driver.Driver, max int, now time.Time, dests ...string) []*queuetype.Message {
	t.Helper()
	ms, err := d.Claim(context.Background(), driver.ClaimParams{
		Destinations: dests, Max: max, Owner: "owner-1", Now: now,
		LeaseUntil: now.Add(30 * time.Second), Me: "me-1",
	})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return ms
}

func ids(ms []*queuetype.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func wantIDs(t *testing.T, what string, got []*queuetype.Message, want ...string) {
	t.Helper()
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, ids(got), want)
	}
}

func wantStatus(t *testing.T, d driver.Driver, id string, want queuetype.Status) *queuetype.Message {
	t.Helper()
	m := get(t, d, id)
	if m.Status != want {
		t.Fatalf("message %s: status %s, want %s", id, m.Status, want)
	}
	return m
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}
