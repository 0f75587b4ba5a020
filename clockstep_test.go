package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// steppedClock is a wall clock that a test can step, as an NTP correction or
// an operator would step the system clock. The queue's timers never see it:
// they run on the monotonic clock.
type steppedClock struct{ offset atomic.Int64 }

func (c *steppedClock) now() time.Time        { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *steppedClock) step(by time.Duration) { c.offset.Add(int64(by)) }

// A step of the wall clock by +-1h while handlers run (with MaxAttempts 1,
// so a single rescue would fail a message) re-runs and fails nothing: rescue
// follows the owner's heartbeat counter, not lease times.
func TestClockStep_HealthyHandlersNeitherRerunNorFail(t *testing.T) {
	t.Parallel()
	for _, step := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(fmt.Sprint(step), func(t *testing.T) {
			t.Parallel()
			const n = 8
			clk := &steppedClock{}
			cfg := fast()
			cfg.Workers, cfg.Lease, cfg.Clock = n, 300*time.Millisecond, clk.now
			q, _ := setup(t, cfg)
			release := make(chan struct{})
			var mu sync.Mutex
			runs, lost := map[string]int{}, 0
			started := make(chan struct{}, n)
			q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
				mu.Lock()
				runs[m.ID]++
				mu.Unlock()
				started <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
					mu.Lock()
					lost++
					mu.Unlock()
					return nil, context.Cause(ctx)
				}
				return "ok", nil
			}, &queuesqlite.HandlerOpts{MaxAttempts: 1})
			start(t, q)
			ids := make([]string, n)
			for i := range ids {
				ids[i] = send(t, q, queuesqlite.NewMessage("job", i), nil)
			}
			for range n {
				select {
				case <-started:
				case <-time.After(testDeadline):
					t.Fatal("handlers did not start")
				}
			}
			clk.step(step)
			// Let three heartbeats renew the leases under the stepped clock
			// (a whole lease, many rescue passes), unless a lease is lost.
			renewals := renewalsAfterStep(t, q, ids[0], clk.now(), 3)
			close(release)
			for _, id := range ids {
				m := wait(t, q, id)
				if m.Status != queuesqlite.StatusCompleted || m.Attempt != 1 {
					t.Errorf("%s: %s attempt %d (%s), want completed as attempt 1", id, m.Status, m.Attempt, m.LastError)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for id, r := range runs {
				if r != 1 {
					t.Errorf("%s ran %d times", id, r)
				}
			}
			if lost != 0 || renewals < 3 {
				t.Errorf("%d handlers lost their lease, %d renewals seen after the step", lost, renewals)
			}
		})
	}
}

// renewalsAfterStep waits until the lease of id has been renewed want times
// since the step (its expiry moves with the stepped clock) and returns the
// renewals seen; it returns early if the message stops processing.
func renewalsAfterStep(t *testing.T, q *queuesqlite.Queue, id string, steppedAt time.Time, want int) int {
	t.Helper()
	var last time.Time
	seen := 0
	eventually(t, "lease renewals under the stepped clock", func() bool {
		m, err := q.Get(context.Background(), id)
		if err != nil && !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Fatal(err)
		}
		if m == nil || m.Status != queuesqlite.StatusProcessing {
			return true
		}
		stepped := m.LeaseExpiry.After(steppedAt) && m.LeaseExpiry.Before(steppedAt.Add(30*time.Minute))
		if stepped && !m.LeaseExpiry.Equal(last) {
			last = m.LeaseExpiry
			seen++
		}
		return seen >= want
	})
	return seen
}

// An attempt whose message was rescued and claimed again by the same owner
// (this process froze past its lease, then went on) learns that it lost its
// lease: renewal matches the attempt, not only the owner.
func TestQueue_OldAttemptLearnsItLostTheLeaseToItsOwnOwner(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Lease = 90 * time.Millisecond // heartbeat every 30ms
	q, dir := setup(t, cfg)
	causes := make(chan error, 1)
	started := make(chan *queuesqlite.Message, 1)
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		started <- m
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return "stale result", nil
	}, nil)
	start(t, q)
	id := send(t, q, queuesqlite.NewMessage("job", nil), nil)
	first := <-started
	// As after a rescue and a new claim by the same owner: attempt 2, same lease owner.
	db := dbtest.Open(t, dbtest.ShardFiles(t, dir)[0])
	if _, err := db.Exec(`UPDATE messages SET attempt = attempt + 1 WHERE id = ? AND lease_owner = ?`, id, first.LeaseOwner); err != nil {
		t.Fatal(err)
	}
	select {
	case cause := <-causes:
		if !errors.Is(cause, queuesqlite.ErrLeaseLost) {
			t.Fatalf("handler context cause %v, want ErrLeaseLost", cause)
		}
	case <-time.After(testDeadline):
		t.Fatal("attempt 1 was never told that attempt 2 holds the lease")
	}
	eventually(t, "the stale outcome to be refused", func() bool {
		m, err := q.Get(context.Background(), id)
		return err == nil && m.Status == queuesqlite.StatusProcessing && m.Attempt == 2 && m.Result == nil
	})
	// Leave the row consistent for the invariant check.
	db.Exec(`UPDATE messages SET status = `+dbtest.SQLList(queuesqlite.StatusPending)+`, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?`, id)
}
