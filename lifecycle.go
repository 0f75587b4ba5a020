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
	"github.com/queue-sqlite/queuesqlite/internal/leader"
	"github.com/queue-sqlite/queuesqlite/internal/listen"
	"github.com/queue-sqlite/queuesqlite/internal/liveness"
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

// A running queue looks for destinations that no process seems to handle
// every unhandledCheckIntervals maintenance intervals (30 s by default; it
// counts messages, one scan per shard), and logs one whose ready messages
// made no progress for unhandledWarnIntervals (1 min by default).
const (
	unhandledCheckIntervals = 30
	unhandledWarnIntervals  = 60
)

// runState is one Start..Stop cycle of the workers.
type runState struct {
	owner        string         // lease owner: instance and start number
	destinations []string       // the handler names this run claims for, sorted
	workers      []*workerQueue // the worker queues with handlers here, by name
	completer    *complete.Completer
	foldWait     time.Duration // the completer's FoldWait: 0 when claims record no outcomes (fold.go)
	maint        *maintain.Maintainer
	owners       *liveness.Tracker  // which lease owners of the store are dead
	listen       *listen.Dispatcher // nil without listeners
	stopFetch    context.CancelFunc
	fetching     sync.WaitGroup // the fetchers' Run
	// listenChanges: listen data changed in another process.
	listenChanges *notify.Sub
	stopOnce      sync.Once
	stopped       chan struct{}
	pauses        pauseView // the pauses as this run last read them: pause.go

	// elector campaigns for the shared maintenance; set once the
	// maintainer has stored the owner's first beat.
	elector atomic.Pointer[leader.Elector]
}

// Start launches the workers: they claim messages for the registered
// handlers, run them and record the outcomes, and the background upkeep
// (lease heartbeat, rescue, promotion, expiry, cleanup) runs alongside.
// Of several processes on one queue, one elected leader runs the shared
// scans (rescue, expiry, cleanup); see Leader.
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
	r.workers = q.workerQueues()
	for _, w := range r.workers {
		r.destinations = append(r.destinations, w.destinations...)
	}
	slices.Sort(r.destinations)
	r.pauses.init()
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
	r.foldWait = q.foldWaitOf() // fold.go
	r.completer = complete.New(complete.Config{
		Apply:    q.applyCompletions,
		After:    func(items []*complete.Item, err error) { q.afterComplete(r, items, err) },
		MaxBatch: completeBatchMax, Capacity: 4 * r.totalWorkers(), Logger: q.logger,
		FoldWait: r.foldWait, Get: q.d.Get,
	})
	for _, w := range r.workers {
		q.wireWorkers(r, w) // workers.go
	}
	r.owners = liveness.New(q.d, r.owner, c.Lease)
	r.maint = maintain.Start(maintain.Config{
		Store: q.d, Now: q.now, Me: q.instance, Owner: r.owner, Lease: c.Lease, Owners: r.owners,
		Interval: c.MaintenanceInterval, CleanupEvery: c.CleanupInterval, Retention: q.retention(),
		Leased:    r.leased,
		LeaseLost: func(h maintain.Held) { q.leaseLost(r, h) },
		Finished: func(ms []*queuetype.Message) {
			for _, m := range ms {
				q.finished(m)
			}
		},
		Ready: r.wake, AfterCleanup: q.afterCleanup, Leading: r.leading,
		Served: r.destinations, Unhandled: q.unhandled,
		UnhandledEvery: unhandledCheckIntervals * c.MaintenanceInterval,
		UnhandledAfter: unhandledWarnIntervals * c.MaintenanceInterval,
		Logger:         q.logger,
	})
	q.startElector(r) // after the maintainer stored the owner's first beat
	// Periodic jobs (periodic.go): nothing runs without one.
	q.startPeriodic(r)
	fetchCtx, stopFetch := context.WithCancel(context.Background())
	r.stopFetch = stopFetch
	for _, w := range r.workers {
		w.changes = q.changes.Subscribe(w.topics()...)
		r.runFetcher(fetchCtx, w)
	}
	r.listenChanges = q.changes.Subscribe(driver.Topic{Kind: driver.TopicListen})
	q.startListeners(r)
	go func() {
		for {
			select {
			case <-r.listenChanges.C:
				if r.listen != nil {
					r.listen.Wake()
				}
			case <-fetchCtx.Done():
				return
			}
		}
	}()
}

// stopMargin is how long Stop goes on after its context ended: handlers and
// listeners get a short grace to return, then are abandoned, and outcomes
// are recorded. Storage calls still waiting then (for a lock held by
// another connection) give up, so Stop returns by ctx's end plus
// stopMargin (and a little scheduling), whatever handlers, listeners or
// other processes do.
const stopMargin = time.Second

// Stop stops claiming, lets running handlers (and listeners) finish until
// ctx is done, then cancels them (cause ErrStopping) and returns their
// messages to pending without counting the attempt; a handler already past
// its Timeout is charged instead. Handlers and listeners that still run a
// short grace later are abandoned (logged, counted in Abandoned). Outcomes
// are recorded before Stop returns, unless storage stays locked by another
// connection past stopMargin after ctx ends (those messages' leases then
// expire and they run again). Stop is idempotent, and concurrent calls wait
// for the same stop.
func (q *Queue) Stop(ctx context.Context) error {
	r := q.run.Load()
	if r == nil {
		return nil
	}
	r.stopOnce.Do(func() {
		hard, cancel := afterEnd(ctx, stopMargin)
		defer cancel()
		q.stopPeriodic() // periodic.go: no tick is sent past here
		r.completer.GiveUpAt(hard)
		r.stopFetch()
		r.fetching.Wait()
		var wg sync.WaitGroup
		if r.listen != nil {
			wg.Go(func() { r.listen.Stop(ctx, hard) })
		}
		for _, w := range r.workers {
			wg.Go(func() { w.exec.Stop(ctx) })
		}
		wg.Wait()
		r.completer.Stop(hard)
		r.elector.Load().Stop(hard)
		r.maint.Stop(hard)
		for _, w := range r.workers {
			w.changes.Close()
		}
		r.listenChanges.Close()
		q.run.CompareAndSwap(r, nil)
		close(r.stopped)
	})
	<-r.stopped
	return nil
}

// afterEnd returns a context that ends d after ctx ends.
func afterEnd(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	hard, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(d, cancel)
		context.AfterFunc(hard, func() { t.Stop() })
	})
	return hard, func() { stop(); cancel() }
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

// unhandled logs, once per destination for the life of the queue, that
// messages wait for a destination no handler here serves and no other
// process seems to work on (unless the destination is paused by name).
func (q *Queue) unhandled(dest string, pending int, stuckFor time.Duration) {
	if r := q.run.Load(); r != nil && r.pauses.destinationPaused(dest) {
		return // paused: waiting is what it should do
	}
	if _, logged := q.unhandledLogged.LoadOrStore(dest, true); logged {
		return
	}
	q.logger.Warn("messages wait for a destination that no process handles", "destination", dest,
		"pending", pending, "no_progress_for", stuckFor.Round(time.Second),
		"hint", "register a handler for it (Handle) in a worker process; Stats().Unhandled lists such destinations")
}

// leaseLost cancels the handler of an attempt whose lease is gone (not a
// later attempt of the same message this run may have claimed since).
func (q *Queue) leaseLost(r *runState, h maintain.Held) {
	for _, w := range r.workers {
		for _, j := range w.exec.InFlight() {
			if j.Msg.Seq == h.Seq && j.Msg.Attempt == h.Attempt {
				q.logger.Warn("lease lost; cancelling handler", "id", j.Msg.ID, "attempt", j.Msg.Attempt)
				w.exec.Cancel(j, ErrLeaseLost)
			}
		}
	}
}

// timedOut logs and counts a handler given up for ignoring its timeout.
func (q *Queue) timedOut(j *exec.Job) {
	q.abandoned.handlersTimedOut.Add(1)
	q.abandoned.running.Add(1)
	q.logger.Warn("handler ignored its timeout; abandoned it and freed its worker", "id", j.Msg.ID,
		"destination", j.Msg.Destination, "attempt", j.Msg.Attempt, "running", j.Ran().Round(time.Millisecond))
}

// abandonedAtStop logs and counts a handler still running when Stop gave up.
func (q *Queue) abandonedAtStop(j *exec.Job) {
	q.abandoned.handlersAtStop.Add(1)
	q.abandoned.running.Add(1)
	q.logger.Warn("handler still running at the stop deadline; abandoned it and released its message",
		"id", j.Msg.ID, "destination", j.Msg.Destination, "attempt", j.Msg.Attempt)
}

// lateHandler logs an abandoned handler that returned at last.
func (q *Queue) lateHandler(j *exec.Job) {
	q.abandoned.running.Add(-1)
	q.logger.Warn("abandoned handler returned; its outcome is discarded", "id", j.Msg.ID,
		"attempt", j.Msg.Attempt, "running", j.Ran().Round(time.Millisecond))
}

// applyCompletions records outcomes in the store (a sharded store splits
// them by the shard their seqs carry).
func (q *Queue) applyCompletions(ctx context.Context, cs []*driver.Completion) error {
	return q.d.Complete(ctx, cs)
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
		r.wakeLimited(it.Msg.Destination)
		switch s := it.C.Status; {
		case s.Terminal():
			q.finished(finishedCopy(it.Msg, &it.C))
			r.maint.MessageFinished() // its dependants, if dependencies are in use
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

// workTopics names the change signals of new work for destinations.
func workTopics(destinations []string) []driver.Topic {
	ts := make([]driver.Topic, len(destinations))
	for i, d := range destinations {
		ts[i] = driver.Topic{Kind: driver.TopicWork, Key: d}
	}
	return ts
}
