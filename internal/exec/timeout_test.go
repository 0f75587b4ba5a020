package exec_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/exec"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// A handler that ignores its timeout is given up after the grace: Done gets
// ErrTimeoutIgnored, the slot is released once (not again when the handler
// returns late), the job leaves InFlight, and a new goroutine serves the
// next job.
func TestExecutor_HandlerIgnoringItsTimeoutIsGivenUp(t *testing.T) {
	t.Parallel()
	r := newRecorder()
	block := make(chan struct{})
	var timedOut, late atomic.Int32
	lateDone := make(chan struct{})
	e := exec.New(exec.Config{
		Workers: 1,
		Handle: func(ctx context.Context, m *queuetype.Message) (any, error) {
			if m.ID == "stuck" {
				<-block // ignores ctx
			}
			return m.ID, nil
		},
		Done: r.Done, Abandon: r.Abandon, Release: func() { r.released.Add(1) },
		Timeout: func(m *queuetype.Message) (time.Duration, time.Duration) {
			if m.ID == "stuck" {
				return 10 * time.Millisecond, 10 * time.Millisecond
			}
			return 0, 0
		},
		TimedOut: func(*exec.Job) { timedOut.Add(1) },
		Late: func(*exec.Job) {
			late.Add(1)
			close(lateDone)
		},
	})
	e.Submit(msg("stuck"))
	// Giving up reports the outcome, then leaves InFlight, frees the slot
	// and calls TimedOut: wait for the last step, not the first.
	waitFor(t, "the stuck job to be given up", func() bool { return timedOut.Load() == 1 })
	if _, err, _ := r.outcome("stuck"); !errors.Is(err, exec.ErrTimeoutIgnored) {
		t.Fatalf("outcome error %v, want ErrTimeoutIgnored", err)
	}
	if d, _ := r.counts("stuck"); d != 1 || len(e.InFlight()) != 0 || r.released.Load() != 1 {
		t.Fatalf("done %d, in flight %d, released %d; want 1, 0, 1", d, len(e.InFlight()), r.released.Load())
	}
	e.Submit(msg("next")) // only a replacement goroutine can run it
	waitFor(t, "the next job to run", func() bool { d, _ := r.counts("next"); return d == 1 })
	close(block)
	waitChan(t, "the late return", lateDone)
	e.Stop(context.Background())
	if d, _ := r.counts("stuck"); d != 1 || r.released.Load() != 2 || late.Load() != 1 {
		t.Fatalf("stuck done %d, released %d, late %d; want 1, 2 (one per job), 1", d, r.released.Load(), late.Load())
	}
}
