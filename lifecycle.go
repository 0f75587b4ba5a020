package queuesqlite

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/complete"
	"github.com/queue-sqlite/queuesqlite/internal/exec"
	"github.com/queue-sqlite/queuesqlite/internal/fetch"
	"github.com/queue-sqlite/queuesqlite/internal/listen"
	"github.com/queue-sqlite/queuesqlite/internal/maintain"
	"github.com/queue-sqlite/queuesqlite/internal/notify"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// completeBatchMax bounds the outcomes recorded in one storage call.
const completeBatchMax = 1000

// claimGather is how long the fetcher of a busy queue waits for a quarter
// of the workers to be free before it claims, so that claims (and their
// transactions) come in batches rather than one message at a time.
const claimGather = time.Millisecond

// runState is one Start..Stop cycle of the workers.
type runState struct {
	owner        string   // lease owner: instance and start number
	destinations []string // the handler names this run claims for
	fetcher      *fetch.Fetcher
	exec         *exec.Executor
	completer    *complete.Completer
	maint        *maintain.Maintainer
	listen       *listen.Dispatcher // nil without listeners
	stopFetch    context.CancelFunc
	fetchDone    chan struct{}
	changes      *notify.Sub
	stopOnce     sync.Once
	stopped      chan struct{}
	turn         atomic.Uint64 // rotates which shard is claimed from first among equals
}

// Start launches the workers: they claim messages for the registered
// handlers, run them and record the outcomes, and the background upkeep
// (lease heartbeat, rescue, promotion, expiry, cleanup) runs alongside.
// Start returns at once. If ctx is cancelled the queue stops as by
// Stop with an expired context. A stopped queue can be started again.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.checkOpen(); err != nil {
		return err
	}
	if q.run.Load() != nil {
		return fmt.Errorf("start: %w", ErrStarted)
	}
	q.starts++
	r := &runState{owner: fmt.Sprintf("%s/%d", q.instance, q.starts), stopped: make(chan struct{})}
	for name := range q.handlerMap() {
		r.destinations = append(r.destinations, name)
	}
	slices.Sort(r.destinations)
	q.wire(r)
	q.run.Store(r)
	go func() {
		select {
		case <-ctx.Done():
			expired, cancel := context.WithCancel(context.Background())
			cancel()
			_ = q.Stop(expired)
		case <-r.stopped:
		}
	}()
	return nil
}

// wire builds and starts the components of one run.
func (q *Queue) wire(r *runState) {
	c := q.cfg
	slots := fetch.NewSlots(c.Workers)
	r.completer = complete.New(complete.Config{
		Apply:    q.applyCompletions,
		After:    func(items []*complete.Item, err error) { q.afterComplete(r, items, err) },
		MaxBatch: completeBatchMax, Capacity: 4 * c.Workers, Logger: q.logger,
	})
	r.exec = exec.New(exec.Config{
		Workers: c.Workers,
		Handle:  q.invoke,
		Done: func(j *exec.Job, result any, err error) {
			r.completer.Add(&complete.Item{Shard: j.Msg.Shard, C: q.outcome(j, result, err), Msg: j.Msg})
		},
		Abandon: func(j *exec.Job) {
			r.completer.Add(&complete.Item{Shard: j.Msg.Shard, C: q.released(j.Msg), Msg: j.Msg})
		},
		Release: func() { slots.Release(1) },
	})
	r.fetcher = fetch.New(fetch.Config{
		Slots: slots, MaxBatch: c.ClaimBatch, Poll: c.MaintenanceInterval, Logger: q.logger,
		MinBatch: min(c.ClaimBatch, c.Workers/4), Gather: claimGather,
		Claim:   func(ctx context.Context, n int) ([]*Message, error) { return q.claim(ctx, r, n) },
		Deliver: r.exec.Submit,
		Other:   q.finished,
	})
	r.maint = maintain.Start(maintain.Config{
		Shards: q.shards, Now: q.now, Me: q.instance, Owner: r.owner, Lease: c.Lease,
		Interval: c.MaintenanceInterval, CleanupEvery: c.CleanupInterval, Retention: q.retention(),
		Leased:    func() map[int][]int64 { return leased(r.exec) },
		LeaseLost: func(shard int, seq int64) { q.leaseLost(r, shard, seq) },
		Finished: func(_ int, ms []*queuetype.Message) {
			for _, m := range ms {
				q.finished(m)
			}
		},
		Ready:  r.fetcher.Wake,
		Logger: q.logger,
	})
	fetchCtx, stopFetch := context.WithCancel(context.Background())
	r.stopFetch, r.fetchDone = stopFetch, make(chan struct{})
	r.changes = q.changes.Subscribe()
	go func() {
		defer close(r.fetchDone)
		r.fetcher.Run(fetchCtx)
	}()
	q.startListeners(r)
	go func() {
		for {
			select {
			case <-r.changes.C:
				r.fetcher.Wake()
				if r.listen != nil {
					r.listen.Wake()
				}
			case <-fetchCtx.Done():
				return
			}
		}
	}()
}

// Stop stops claiming, lets running handlers finish until ctx is done, then
// cancels them (cause exec.ErrStopping) and returns their messages to
// pending without counting the attempt. Outcomes are recorded before Stop
// returns. Stop is idempotent, and concurrent calls wait for the same stop.
func (q *Queue) Stop(ctx context.Context) error {
	r := q.run.Load()
	if r == nil {
		return nil
	}
	r.stopOnce.Do(func() {
		r.stopFetch()
		<-r.fetchDone
		if r.listen != nil {
			r.listen.Stop(ctx)
		}
		r.exec.Stop(ctx)
		r.completer.Stop(ctx)
		r.maint.Stop()
		r.changes.Close()
		q.run.CompareAndSwap(r, nil)
		close(r.stopped)
	})
	<-r.stopped
	return nil
}

func (q *Queue) now() time.Time { return q.cfg.Clock().UTC() }

func (q *Queue) retention() map[queuetype.Status]time.Duration {
	return map[queuetype.Status]time.Duration{
		StatusCompleted: q.cfg.Retention.Completed,
		StatusFailed:    q.cfg.Retention.Failed,
		StatusExpired:   q.cfg.Retention.Expired,
		StatusCancelled: q.cfg.Retention.Cancelled,
	}
}

// leased groups the running jobs' seqs by shard, for the heartbeat.
func leased(e *exec.Executor) map[int][]int64 {
	out := map[int][]int64{}
	for _, j := range e.InFlight() {
		out[j.Msg.Shard] = append(out[j.Msg.Shard], j.Msg.Seq)
	}
	return out
}

// leaseLost cancels the handler of a message whose lease is gone.
func (q *Queue) leaseLost(r *runState, shard int, seq int64) {
	for _, j := range r.exec.InFlight() {
		if j.Msg.Shard == shard && j.Msg.Seq == seq {
			q.logger.Warn("lease lost; cancelling handler", "id", j.Msg.ID, "attempt", j.Msg.Attempt)
			r.exec.Cancel(j, ErrLeaseLost)
		}
	}
}

func (q *Queue) applyCompletions(ctx context.Context, shard int, cs []*driver.Completion) error {
	return q.shards[shard].Complete(ctx, cs)
}

// afterComplete runs once outcomes are recorded: callbacks and waiters for
// finished messages, and wake-ups for messages that will run again.
func (q *Queue) afterComplete(r *runState, items []*complete.Item, err error) {
	wakePromoter := false
	for _, it := range items {
		if !it.C.Applied {
			if err == nil {
				q.logger.Warn("outcome not recorded: lease lost", "id", it.Msg.ID, "attempt", it.C.Attempt,
					"err", ErrLeaseLost)
			}
			continue
		}
		q.processed.Add(1)
		q.observeOutcome(it) // OnOutcome: observe.go
		switch s := it.C.Status; {
		case s.Terminal():
			q.finished(finishedCopy(it.Msg, &it.C))
		case s == StatusRetrying || s == StatusScheduled:
			wakePromoter = true
		}
	}
	if wakePromoter {
		r.maint.WakePromoter()
	}
}

// finishedCopy is the message as it is after the completion c.
func finishedCopy(m *Message, c *driver.Completion) *Message {
	f := m.Clone()
	f.Status, f.UpdatedAt, f.FinishedAt = c.Status, c.Now, c.Now
	f.LeaseOwner, f.LeaseExpiry = "", time.Time{}
	if c.Result != nil {
		f.Result = c.Result
	}
	if c.Error != "" {
		f.LastError = c.Error
	}
	return f
}
