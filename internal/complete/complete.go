// Package complete records the outcomes of attempts in batches. Workers hand
// over an outcome and go back to work; the completer folds whatever has
// accumulated into one storage call (a sharded store splits it by shard), so a busy queue writes many
// outcomes per transaction. Its buffer is bounded: when storage falls
// behind, workers wait instead of piling up unrecorded outcomes.
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
	Logger   *slog.Logger
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
}

// New starts a completer.
func New(cfg Config) *Completer {
	c := &Completer{cfg: cfg, in: make(chan *Item, cfg.Capacity), done: make(chan struct{})}
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

// record applies one batch, retrying storage errors.
func (c *Completer) record(batch []*Item) {
	cs := make([]*driver.Completion, len(batch))
	for i, it := range batch {
		cs[i] = &it.C
	}
	c.cfg.After(batch, c.apply(cs))
}

func (c *Completer) apply(cs []*driver.Completion) error {
	var err error
	for try := 1; try <= maxTries; try++ {
		ctx := *c.stop.Load()
		if err = c.cfg.Apply(c.storage, cs); err == nil {
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
