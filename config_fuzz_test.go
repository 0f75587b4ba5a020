package queuesqlite_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// configValid says, from Config's documentation, whether Open must accept
// c: no negative number, a known Synchronous level, a renewable lease,
// intervals of at least a millisecond, and pools and shard counts within
// their maximums.
func configValid(c *queuesqlite.Config) bool {
	for _, n := range []int{c.Workers, c.CallbackWorkers, c.Shards, c.MaxAttempts, c.ClaimBatch, c.ListenKeep} {
		if n < 0 {
			return false
		}
	}
	for _, d := range []time.Duration{c.Lease, c.PollInterval, c.MaintenanceInterval, c.CleanupInterval, c.StopTimeout,
		c.Retention.Completed, c.Retention.Failed, c.Retention.Expired, c.Retention.Cancelled, c.ListenRetention} {
		if d < 0 {
			return false
		}
	}
	for _, d := range []time.Duration{c.PollInterval, c.MaintenanceInterval, c.CleanupInterval} {
		if d > 0 && d < time.Millisecond {
			return false
		}
	}
	switch {
	case c.Synchronous != "" && c.Synchronous != queuesqlite.SyncNormal && c.Synchronous != queuesqlite.SyncFull,
		c.Lease > 0 && c.Lease < 30*time.Millisecond,
		c.Workers > queuesqlite.WorkersMax, c.CallbackWorkers > queuesqlite.CallbackWorkersMax,
		c.Shards > queuesqlite.ShardsMax:
		return false
	}
	return true
}

// FuzzConfig opens (and, when valid, runs) a queue with fuzzed Config
// values: Open never panics, refuses every invalid value with an error
// wrapping ErrInvalidArgument that names the field, and a queue it accepts
// runs a message.
func FuzzConfig(f *testing.F) {
	f.Add(0, 0, 0, 0, 0, int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), "", "")
	f.Add(4, 2, 2, 3, 10, int64(time.Second), int64(time.Millisecond), int64(10*time.Millisecond), int64(time.Minute), int64(time.Second), int64(time.Hour), "FULL", "g")
	f.Add(-1, 0, 0, 0, 0, int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), "", "")
	f.Add(0, 0, -4, 0, 0, int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), "", "")
	f.Add(0, 0, 0, 0, 0, int64(0), int64(0), int64(0), int64(0), int64(0), int64(-1), "", "")
	f.Add(0, 0, 0, 0, 0, int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), "normal", "")
	f.Add(0, 0, 0, 0, 0, int64(time.Millisecond), int64(0), int64(0), int64(0), int64(0), int64(0), "", "")
	f.Add(math.MaxInt, 0, 0, 0, 0, int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), "", "")
	f.Add(0, math.MaxInt, 0, 0, 0, int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), "", "")
	f.Add(0, 0, math.MaxInt32, 0, 0, int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), "", "")
	f.Add(0, 0, 0, math.MaxInt, math.MaxInt, int64(math.MaxInt64), int64(0), int64(0), int64(0), int64(0), int64(math.MaxInt64), "", "")
	f.Add(0, 0, 0, 0, 0, int64(0), int64(1), int64(1), int64(1), int64(1), int64(0), "", "")
	f.Fuzz(func(t *testing.T, workers, callbackWorkers, shards, maxAttempts, claimBatch int,
		lease, poll, maintenance, cleanup, stop, retention int64, synchronous, group string) {
		cfg := &queuesqlite.Config{
			Workers: workers, CallbackWorkers: callbackWorkers, Shards: shards, MaxAttempts: maxAttempts,
			ClaimBatch: claimBatch, Lease: time.Duration(lease), PollInterval: time.Duration(poll),
			MaintenanceInterval: time.Duration(maintenance), CleanupInterval: time.Duration(cleanup),
			StopTimeout: time.Duration(stop), Synchronous: synchronous, ListenGroup: group,
			Retention: queuesqlite.Retention{Completed: time.Duration(retention), Failed: time.Duration(retention)},
		}
		dir := t.TempDir()
		q, err := queuesqlite.Open(dir, cfg)
		if !configValid(cfg) {
			if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), "Config.") {
				t.Fatalf("Open(%+v) = %v; want an error wrapping ErrInvalidArgument that names the field", *cfg, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Open(%+v): %v", *cfg, err)
		}
		defer dbtest.CheckInvariants(t, dir)
		defer q.Close()
		runOne(t, q)
	})
}

// runOne runs one message through q.
func runOne(t *testing.T, q *queuesqlite.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	if err := q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "done", nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := q.Send(ctx, queuesqlite.NewMessage("job", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := q.Wait(ctx, id)
	if err != nil || m.Status != queuesqlite.StatusCompleted {
		t.Fatalf("message ended %v, %v", m, err)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
