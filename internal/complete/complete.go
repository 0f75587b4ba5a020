// Package complete records the outcomes of attempts in batches. Workers hand
// over an outcome and go back to work; the completer folds whatever has
// accumulated into one storage call (a sharded store splits it by shard), so a busy queue writes many
// outcomes per transaction. Its buffer is bounded: when storage falls
// behind, workers wait instead of piling up unrecorded outcomes.
//
// Over a store that claims and completes in one commit
// (driver.ClaimCompleter), a batch is first offered to the next claim for
// up to FoldWait: a fetcher about to claim takes it (Take), passes its
// completions to that claim and hands back the claim's error (Settle). A
// batch nobody takes in time, or whose folded claim failed, is recorded
// alone as before, so no outcome waits longer than FoldWait for a claim and
// every outcome is recorded (or given up) exactly once, with After run once
// for its batch.
package complete

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// maxTries bounds how often one batch is retried after storage errors
// before its outcomes are given up (their leases then expire and the
// messages run again: at-least-once).
const maxTries = 20

// Item is one outcome to record.
type Item struct {
	C   driver.Completion
	Msg *queuetype.Message // the claimed message, updated for callbacks
}

// Config wires a Completer to the queue.
type Config struct {
	// Apply records outcomes, setting Applied on each.
	Apply func(ctx context.Context, cs []*driver.Completion) error
	// After runs once a batch is recorded (or given up: then Err is set).
	After    func(items []*Item, err error)
	MaxBatch int
	Capacity int
	// FoldWait, when above 0, is how long a batch waits for a claim to
	// take it (Take) before it is recorded alone; 0 never offers batches.
	FoldWait time.Duration
	// Get, when set, reads a message by id. After a batch that needed
	// more than one try (or whose folded claim failed), outcomes reported
	// as not applied are read back: one whose first try was stored but
	// whose answer was lost counts as applied, not as a lost lease.
	Get    func(ctx context.Context, id string) (*queuetype.Message, error)
	Logger *slog.Logger
}

// Completer batches outcomes.
type Completer struct {
	cfg    Config
	in     chan *Item
	mu     sync.RWMutex
	closed bool
	done   chan struct{}
	// stop is the context of Stop: once it ends, failing batches are given
	// up. Atomic, because run must never wait for mu (Add may hold it while
	// waiting for run to drain the buffer).
	stop     atomic.Pointer[context.Context]
	stopping atomic.Bool // the first Stop has published its context
	// storage is the context of storage calls: cancelled once the stop
	// context ends, so a call waiting for a lock held elsewhere gives up.
	storage     context.Context
	stopStorage context.CancelFunc
	// offers passes a batch to Take: run sends on it for up to FoldWait,
	// and a Take receives only while run waits there, so a batch is
	// either taken or recorded alone, never both.
	offers chan *Fold
	// folded and alone count the batches recorded with a claim and alone.
	folded, alone atomic.Int64
}

// Batches returns how many batches were recorded with a claim (folded)
// and how many alone.
func (c *Completer) Batches() (folded, alone int64) { return c.folded.Load(), c.alone.Load() }

// Fold is a batch taken by a claim (Take). Its taker must Settle it once.
type Fold struct {
	items   []*Item
	cs      []*driver.Completion
	settled chan error
}

// Completions are the outcomes to record with the claim; the claim sets
// Applied on each.
func (f *Fold) Completions() []*driver.Completion { return f.cs }

// New starts a completer.
func New(cfg Config) *Completer {
	c := &Completer{cfg: cfg, in: make(chan *Item, cfg.Capacity), done: make(chan struct{}), offers: make(chan *Fold)}
	bg := context.Background()
	c.stop.Store(&bg)
	c.storage, c.stopStorage = context.WithCancel(bg)
	go c.run()
	return c
}

// Add queues an outcome, waiting while the buffer is full. It reports false
// (and drops the item) after Stop.
func (c *Completer) Add(it *Item) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	c.in <- it
	return true
}

// Take returns the batch offered to the next claim, or nil when none is.
// The caller records its completions together with its claim and then
// calls Settle with the outcome, whatever it is.
func (c *Completer) Take() *Fold {
	select {
	case f := <-c.offers:
		return f
	default:
		return nil
	}
}

// Settle reports how the claim that took f ended: nil when its
// completions are recorded (Applied set on each), or the error that left
// them unrecorded (they are then recorded alone, with retries). Call it
// exactly once per Fold.
func (c *Completer) Settle(f *Fold, err error) { f.settled <- err }

// GiveUpAt sets the deadline of Stop ahead of it: once ctx ends, storage
// calls in progress are cut short and failing batches given up (their
// leases then expire). The first of GiveUpAt and Stop sets it.
func (c *Completer) GiveUpAt(ctx context.Context) {
	if c.stopping.CompareAndSwap(false, true) {
		c.stop.Store(&ctx)
		context.AfterFunc(ctx, c.stopStorage)
	}
}

// Stop records what is queued, retrying storage errors until ctx ends, and
// then stops.
func (c *Completer) Stop(ctx context.Context) {
	// Publish ctx before taking mu: an Add blocked on a full buffer holds
	// the read lock until run drains it, so run must see ctx without mu to
	// give up failing batches once it ends.
	c.GiveUpAt(ctx)
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	c.mu.Unlock()
	<-c.done
	c.stopStorage()
}

func (c *Completer) run() {
	defer close(c.done)
	batch := make([]*Item, 0, c.cfg.MaxBatch)
	for first := range c.in {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < c.cfg.MaxBatch {
			select {
			case it, ok := <-c.in:
				if !ok {
					break drain
				}
				batch = append(batch, it)
			default:
				break drain
			}
		}
		c.record(batch)
	}
}

// record records one batch, folded into a claim if one takes it in time,
// else alone, and then runs After.
func (c *Completer) record(batch []*Item) {
	cs := make([]*driver.Completion, len(batch))
	for i, it := range batch {
		cs[i] = &it.C
	}
	folded, err := c.offer(batch, cs)
	if folded {
		c.folded.Add(1)
	} else {
		c.alone.Add(1)
		err = c.apply(batch, cs, err != nil)
	}
	c.cfg.After(batch, err)
}

// offer offers the batch to a claim for up to FoldWait (not once Stop has
// begun: the fetchers are stopping). It reports whether a claim recorded
// it, and the error of a claim that took it and failed.
func (c *Completer) offer(batch []*Item, cs []*driver.Completion) (bool, error) {
	if c.cfg.FoldWait <= 0 || c.stopping.Load() {
		return false, nil
	}
	f := &Fold{items: batch, cs: cs, settled: make(chan error, 1)}
	t := time.NewTimer(c.cfg.FoldWait)
	defer t.Stop()
	select {
	case c.offers <- f:
	case <-t.C:
		return false, nil
	}
	if err := <-f.settled; err != nil {
		c.cfg.Logger.Warn("recording outcomes with a claim failed; recording them alone", "n", len(cs), "err", err)
		return false, err
	}
	return true, nil
}

// apply records cs (the outcomes of batch) alone, retrying storage errors.
// doubt says an earlier try may have been stored without an answer.
func (c *Completer) apply(batch []*Item, cs []*driver.Completion, doubt bool) error {
	var err error
	for try := 1; try <= maxTries; try++ {
		ctx := *c.stop.Load()
		if err = c.cfg.Apply(c.storage, cs); err == nil {
			if doubt || try > 1 {
				c.reread(batch)
			}
			return nil
		}
		if errors.Is(err, queuetype.ErrClosed) || ctx.Err() != nil {
			break
		}
		c.cfg.Logger.Warn("recording outcomes failed; retrying", "n", len(cs), "try", try, "err", err)
		t := time.NewTimer(min(10*time.Millisecond<<min(try, 7), time.Second))
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	c.cfg.Logger.Error("giving up recording outcomes; their leases will expire and the messages run again",
		"n", len(cs), "err", err)
	return err
}

// reread reads back the outcomes of a retried batch that the last try
// found fenced off: an earlier try that was stored but lost its answer
// left the message as this outcome made it, and the outcome then counts
// as applied.
func (c *Completer) reread(batch []*Item) {
	if c.cfg.Get == nil {
		return
	}
	for _, it := range batch {
		if it.C.Applied {
			continue
		}
		m, err := c.cfg.Get(c.storage, it.Msg.ID)
		if err == nil && reflects(m, &it.C) {
			it.C.Applied = true
			c.cfg.Logger.Info("outcome was recorded by an earlier try whose answer was lost", "id", it.Msg.ID,
				"attempt", it.C.Attempt)
		}
	}
}

// storedTimeSlack is how far a stored update time may be from the
// completion's: what a backend's time precision can change.
const storedTimeSlack = time.Millisecond

// reflects reports whether m, as stored, is as the completion c left it:
// its status, attempt count, update time and error are c's, and no lease is
// held. A lost lease leaves something else (a rescue counts the attempt
// and writes its own error and time; a new claim leases the message).
func reflects(m *queuetype.Message, c *driver.Completion) bool {
	attempt := c.Attempt
	if c.Uncharge {
		attempt--
	}
	return m.Status == c.Status && m.Attempt == attempt && m.LeaseOwner == "" &&
		m.UpdatedAt.Sub(c.Now).Abs() < storedTimeSlack &&
		(c.Error == "" || m.LastError == c.Error)
}
