// Package fetch claims ready messages for the worker pool. It claims only as
// many as there are free worker slots (never a backlog into memory), keeps
// one claim in flight at a time so claims grow into batches while the
// storage is busy (or, over a store whose claims run side by side, up to
// Claimers while claims come back full), and sleeps until it is told there
// may be work: a local send, a change by another process, a promotion, or
// a slow fallback poll.
package fetch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/notify"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Slots counts free workers. A slot is held from the claim of a message
// until its handler returns.
type Slots struct{ c chan struct{} }

// NewSlots returns n free slots.
func NewSlots(n int) *Slots {
	s := &Slots{c: make(chan struct{}, n)}
	s.Release(n)
	return s
}

// Acquire waits for one free slot.
func (s *Slots) Acquire(ctx context.Context) error {
	select {
	case <-s.c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryAcquire takes up to max more free slots without waiting.
func (s *Slots) TryAcquire(max int) int {
	n := 0
	for n < max {
		select {
		case <-s.c:
			n++
		default:
			return n
		}
	}
	return n
}

// Gather takes up to max more slots, waiting at most d for the ones that are
// not free yet.
func (s *Slots) Gather(max int, d time.Duration) int {
	n := s.TryAcquire(max)
	if n == max || d <= 0 {
		return n
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for n < max {
		select {
		case <-s.c:
			n++
		case <-t.C:
			return n
		}
	}
	return n
}

// Release frees n slots.
func (s *Slots) Release(n int) {
	for range n {
		s.c <- struct{}{}
	}
}

// Free returns the number of free slots.
func (s *Slots) Free() int { return len(s.c) }

// Config wires a Fetcher to the queue.
type Config struct {
	Slots    *Slots
	MaxBatch int // most messages per claim
	// Claim leases up to n ready messages. Messages that come back with a
	// status other than processing (expired at claim time) are passed to
	// Other; the rest go to Deliver.
	Claim   func(ctx context.Context, n int) ([]*queuetype.Message, error)
	Deliver func(m *queuetype.Message) // takes over the slot of m
	Other   func(m *queuetype.Message)
	Poll    time.Duration // look for work this often even without a signal
	// MinBatch and Gather trade a little latency for fewer transactions
	// when workers are busy: with fewer than MinBatch free slots, the
	// fetcher waits up to Gather for more to free before it claims. With
	// enough free slots (an idle queue) it claims at once.
	MinBatch int
	Gather   time.Duration
	// Claimers is the most claims in flight at once (0 or 1: one). The
	// first claimer answers wakes and polls; each further one starts
	// claiming when a claim of the first comes back full (a deep backlog)
	// and stops when one of its own comes back short. Beyond two, a
	// fetcher runs one claimer per slotsPerClaimer slots (claimersFor).
	Claimers int
	Logger   *slog.Logger
}

// Fetcher claims messages while workers are free and work may exist.
type Fetcher struct {
	cfg  Config
	wake chan struct{}
	deep chan struct{} // a claim came back full: the helpers may claim too
}

// New returns a Fetcher; call Run to start it.
func New(cfg Config) *Fetcher {
	return &Fetcher{cfg: cfg, wake: make(chan struct{}, 1), deep: make(chan struct{}, 1)}
}

// Wake tells the fetcher that work may be ready. It never blocks.
func (f *Fetcher) Wake() { notify.Signal(f.wake) }

// slotsPerClaimer is how many worker slots each claimer beyond the second
// needs: a claim takes the slots free when it starts, so more claimers
// than this allows only split the same slots into smaller claims, each
// paying a statement and a commit. Over PostgreSQL (drains of 20k no-op
// jobs), 4 claims in flight against 2 drained 100 workers faster (+6% to
// +18%, medians) and 25 workers slower (-19%).
const slotsPerClaimer = 25

// claimersFor is how many claims a fetcher over slots worker slots keeps
// in flight, at most most: one per slotsPerClaimer slots, and two even
// over fewer (a second claim hides the first one's round trip).
func claimersFor(most, slots int) int {
	return max(1, min(most, max(2, slots/slotsPerClaimer)))
}

// Run claims and delivers until ctx ends. It returns once no claim of it
// is in flight.
func (f *Fetcher) Run(ctx context.Context) {
	var helpers sync.WaitGroup
	for range claimersFor(f.cfg.Claimers, cap(f.cfg.Slots.c)) - 1 {
		helpers.Go(func() { f.help(ctx) })
	}
	f.run(ctx)
	helpers.Wait()
}

// run is the first claimer: it claims when told there may be work, and
// again at once after a full claim.
func (f *Fetcher) run(ctx context.Context) {
	poll := time.NewTicker(f.cfg.Poll)
	defer poll.Stop()
	mayHaveWork := true
	failures := 0
	for {
		if !mayHaveWork {
			select {
			case <-f.wake:
			case <-poll.C:
			case <-ctx.Done():
				return
			}
		}
		n, err := f.claimOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, queuetype.ErrClosed):
			return
		case err != nil:
			failures++
			f.cfg.Logger.Warn("claim failed", "err", err, "failures", failures)
			if !sleep(ctx, backoff(failures)) {
				return
			}
			mayHaveWork = true
		default:
			failures = 0
			mayHaveWork = n // a full batch: there is probably more
			if n {
				notify.Signal(f.deep)
			}
		}
	}
}

// help is a further claimer: after a full claim of another, it claims
// alongside it until one of its own claims comes back short or fails (the
// first claimer logs and backs off from failures). Its full claims call
// in the next helper, so all of them are claiming after a few.
func (f *Fetcher) help(ctx context.Context) {
	for {
		select {
		case <-f.deep:
		case <-ctx.Done():
			return
		}
		for {
			full, err := f.claimOnce(ctx)
			if ctx.Err() != nil || errors.Is(err, queuetype.ErrClosed) {
				return
			}
			if err != nil || !full {
				break
			}
			notify.Signal(f.deep)
		}
	}
}

// claimOnce waits for a free slot, claims as many messages as there are
// free slots (up to MaxBatch) and hands them out. It reports whether the
// claim came back full.
func (f *Fetcher) claimOnce(ctx context.Context) (bool, error) {
	if err := f.cfg.Slots.Acquire(ctx); err != nil {
		return false, err
	}
	n := 1 + f.cfg.Slots.TryAcquire(f.cfg.MaxBatch-1)
	if n < f.cfg.MinBatch {
		n += f.cfg.Slots.Gather(f.cfg.MinBatch-n, f.cfg.Gather)
	}
	select { // a signal from before this claim is answered by it
	case <-f.wake:
	default:
	}
	ms, err := f.cfg.Claim(ctx, n)
	used := 0
	for _, m := range ms {
		if m.Status == queuetype.StatusProcessing {
			used++
			f.cfg.Deliver(m)
		} else {
			f.cfg.Other(m)
		}
	}
	f.cfg.Slots.Release(n - used)
	return len(ms) == n, err
}

func backoff(failures int) time.Duration {
	return min(10*time.Millisecond<<min(failures, 10), time.Second)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
