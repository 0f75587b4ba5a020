package queuesqlite_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// Cleanup deletes a group's record once the group finished longer ago than
// its retention (the longest of its members' statuses); GroupResult then
// says not found. A group still running, or finished more recently, is
// kept; one whose sender closed before it finished is counted again first.
func TestBackends_GroupCleanupDeletesFinishedGroupsPastRetention(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		ctx := context.Background()
		var offset atomic.Int64
		cfg := fastConfig()
		cfg.CleanupInterval = 24 * time.Hour // only the explicit Cleanup runs
		cfg.Clock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		cfg.Retention = queuesqlite.Retention{Completed: time.Hour, Failed: 7 * 24 * time.Hour}
		q := s.Open(t, cfg)
		if err := q.Handle("s", func(_ context.Context, m *queuesqlite.Message) (any, error) {
			if strings.HasPrefix(m.ID, "bad") {
				return nil, queuesqlite.ErrSkipRetry
			}
			return nil, nil
		}, nil); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{}, 2)
		fn := func(*queuesqlite.GroupResult) { done <- struct{}{} }
		okGroup, err := q.SendGroup(ctx, []*queuesqlite.Message{step("ok1", "s"), step("ok2", "s", "ok1")}, fn)
		if err != nil {
			t.Fatal(err)
		}
		badGroup, err := q.SendGroup(ctx, []*queuesqlite.Message{step("ok3", "s"), step("bad1", "s")}, fn)
		if err != nil {
			t.Fatal(err)
		}
		idle, err := q.SendGroup(ctx, []*queuesqlite.Message{step("idle1", "nobody")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		startQueue(t, q)
		for range 2 {
			select {
			case <-done:
			case <-time.After(backendDeadline):
				t.Fatal("a group did not finish")
			}
		}
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		// A group no running queue follows: its record says unfinished
		// until something counts it again (its member is cancelled here).
		late, err := q.SendGroup(ctx, []*queuesqlite.Message{step("late1", "s")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Cancel(ctx, "late1"); err != nil {
			t.Fatal(err)
		}
		cleanup := func(want int) {
			t.Helper()
			res, err := q.Cleanup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.GroupsDeleted != want {
				t.Fatalf("cleanup at +%v deleted %d groups, want %d", time.Duration(offset.Load()), res.GroupsDeleted, want)
			}
		}
		cleanup(0) // nothing is old enough yet
		offset.Store(int64(2 * time.Hour))
		cleanup(1) // the completed group only: a failed member keeps its group 7 days
		_, err = q.GroupResult(ctx, okGroup.ID)
		if !errors.Is(err, queuesqlite.ErrNotFound) || !strings.Contains(err.Error(), "cleaned up") {
			t.Fatalf("GroupResult of a cleaned-up group: %v, want ErrNotFound saying it may have been cleaned up", err)
		}
		for _, g := range []*queuesqlite.Group{badGroup, idle, late} {
			if _, err := q.GroupResult(ctx, g.ID); err != nil {
				t.Fatalf("a group not yet due was deleted: %v", err)
			}
		}
		offset.Store(int64(8 * 24 * time.Hour))
		cleanup(2) // the failed group, and the late one once counted (its member cancelled)
		if _, err := q.GroupResult(ctx, badGroup.ID); !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Fatalf("GroupResult of the failed group after 8 days: %v, want ErrNotFound", err)
		}
		if r, err := q.GroupResult(ctx, idle.ID); err != nil || r.Finished {
			t.Fatalf("the group still waiting: %+v, %v; want it kept, unfinished", r, err)
		}
	})
}
