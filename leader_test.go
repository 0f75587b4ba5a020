package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
)

func leaderInfo(t *testing.T, q *queuesqlite.Queue) queuesqlite.LeaderInfo {
	t.Helper()
	info, err := q.Leader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestLeader_OneOfTwoQueuesLeadsAndStopHandsOver(t *testing.T) {
	t.Parallel()
	for _, shards := range []int{1, 3} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			t.Parallel()
			testLeaderHandOver(t, shards)
		})
	}
}

// testLeaderHandOver: of two queues on one directory the first started
// leads and alone runs the shared maintenance; stopped, it resigns and the
// other takes over (a sharded queue holds one election, in its first shard).
func testLeaderHandOver(t *testing.T, shards int) {
	cfg := fast()
	cfg.Lease, cfg.Shards = time.Second, shards
	a, dir := setup(t, cfg)
	b, err := queuesqlite.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if info := leaderInfo(t, a); !info.Elected || info.Leader != "" || info.Self {
		t.Fatalf("before any start: %+v, want an empty seat", info)
	}
	start(t, a)
	start(t, b)

	ia, ib := leaderInfo(t, a), leaderInfo(t, b)
	if !ia.Self || ib.Self {
		t.Fatalf("self: a %v, b %v; want only a (it started first)", ia.Self, ib.Self)
	}
	if ia.Leader == "" || ia.Leader != ib.Leader || ia.Term != 1 {
		t.Fatalf("a sees %q (term %d), b sees %q; want one leader in term 1", ia.Leader, ia.Term, ib.Leader)
	}
	eventually(t, "the leader's shared maintenance passes", func() bool { return leaderInfo(t, a).SharedPasses >= 3 })
	if n := leaderInfo(t, b).SharedPasses; n != 0 {
		t.Fatalf("the follower ran %d shared maintenance passes", n)
	}

	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	eventually(t, "b to lead after a stopped", func() bool { return leaderInfo(t, b).Self })
	t.Logf("b leads %v after a stopped (lease %v)", time.Since(stopped).Round(time.Millisecond), cfg.Lease)
	ib = leaderInfo(t, b)
	if ib.Leader == ia.Leader || ib.Leader == "" || ib.Term != 2 {
		t.Fatalf("after the hand-over: %+v, want b's run in term 2", ib)
	}
	eventually(t, "b's shared maintenance passes", func() bool { return leaderInfo(t, b).SharedPasses > 0 })

	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if info := leaderInfo(t, a); info.Leader != "" {
		t.Fatalf("after every queue stopped, %q still leads", info.Leader)
	}
}

// TestLeader_PrunesTheChangeLogWithoutListeners: the change log is pruned
// by the maintenance leader's cleanup, even when the leader has no
// listeners and the listening process only follows.
func TestLeader_PrunesTheChangeLogWithoutListeners(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.CleanupInterval = 20 * time.Millisecond
	a, dir := setup(t, cfg)
	b, err := queuesqlite.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	log := newChangeLog()
	if err := b.Listen("k", log.fn, nil); err != nil {
		t.Fatal(err)
	}
	start(t, a)
	start(t, b)
	if !leaderInfo(t, a).Self || leaderInfo(t, b).Self {
		t.Fatal("a, started first, does not lead alone")
	}
	for i := range 10 {
		setData(t, a, "k", i)
	}
	for range 10 {
		log.next(t)
	}
	eventually(t, "the delivered changes pruned", func() bool {
		st, err := a.ListenStats(context.Background())
		return err == nil && st.FirstSeq == 0 && st.LastSeq == 0
	})
}

// hangingLeader is a real SQLite shard whose leader read hangs, as on a
// half-open connection: it waits for its context to end. It tells on
// entered how far away the call's deadline was (or that it had none, and
// then fails at once rather than hang for ever).
type hangingLeader struct {
	*sqlite.DB
	entered chan time.Duration
}

// noDeadline is what hangingLeader reports for a call without a deadline.
const noDeadline = time.Duration(-1)

func (h *hangingLeader) Leader(ctx context.Context, _ string) (driver.LeaderState, bool, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		h.entered <- noDeadline
		return driver.LeaderState{}, false, errors.New("unbounded leader read: it would hang for ever")
	}
	h.entered <- time.Until(deadline)
	<-ctx.Done()
	return driver.LeaderState{}, false, ctx.Err()
}

// Queue.Leader returns within half a lease, with a deadline error, when
// the store hangs, even for a caller whose context never ends.
func TestLeader_BoundedWhenTheStoreHangs(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "shard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &hangingLeader{DB: db, entered: make(chan time.Duration, 1)}
	cfg := fast()
	cfg.Lease = 100 * time.Millisecond
	q, err := queuesqlite.New(cfg, h)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	done := make(chan error, 1)
	go func() {
		_, err := q.Leader(context.Background())
		done <- err
	}()
	var left time.Duration
	select {
	case left = <-h.entered:
	case <-time.After(testDeadline):
		t.Fatal("Leader did not read the store")
	}
	if left == noDeadline || left > cfg.Lease/2 {
		t.Fatalf("the leader read's deadline was %v away (-1: none); want at most half the lease, %v", left, cfg.Lease/2)
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Leader with the store hanging: %v, want an error wrapping context.DeadlineExceeded", err)
		}
	case <-time.After(testDeadline):
		t.Fatal("Leader did not return while the store hangs")
	}
}
