package queuesqlite

import (
	"context"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/complete"
	"github.com/queue-sqlite/queuesqlite/internal/exec"
	"github.com/queue-sqlite/queuesqlite/internal/fetch"
	"github.com/queue-sqlite/queuesqlite/internal/maintain"
	"github.com/queue-sqlite/queuesqlite/internal/notify"
)

// workerQueue is one named worker queue of a run: its own worker slots,
// fetcher and executor, claiming for the destinations of its handlers
// only, so that its work never waits for another queue's workers.
type workerQueue struct {
	name         string
	workers      int
	destinations []string // its handlers' names, sorted
	maxAttempts  []int    // their handlers' MaxAttempts, parallel to destinations
	// limits are their handlers' store-enforced limits, parallel to
	// destinations; nil when none has one.
	limits []driver.ClaimLimit
	// queueLimit is the queue's global concurrency (QueueConfig), over
	// all of destinations; zero when it has none.
	queueLimit driver.QueueLimit
	// claimable is what a claim asks for: the destinations not paused.
	// Nil until the run first read the pauses (a claim then reads them).
	claimable atomic.Pointer[claimSet]
	slots     *fetch.Slots
	fetcher   *fetch.Fetcher
	exec      *exec.Executor
	changes   *notify.Sub // new work for its destinations
	// refillArmed: a wake-up is set for when a rate-limited destination
	// has its next token.
	refillArmed atomic.Bool
}

// Bounds of the wake-up a rate-limited claim sets for its next token.
const (
	refillWakeMin = 5 * time.Millisecond
)

// afterLimitedClaim wakes w's fetcher again when a claim of limited
// destinations took fewer than asked: at the next token of a rate limit
// (a store-kept bucket fills with time, which no signal announces). A
// slot freed under a concurrency limit is signalled by the completion
// (see topics and wakeLimited).
func (w *workerQueue) afterLimitedClaim(set *claimSet, asked, got int, poll time.Duration) {
	if set.limits == nil || got >= asked {
		return
	}
	next := time.Duration(0)
	for _, l := range set.limits {
		if l.Rate > 0 {
			if d := l.Per / time.Duration(l.Rate); next == 0 || d < next {
				next = d
			}
		}
	}
	if next == 0 || !w.refillArmed.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(min(max(next, refillWakeMin), poll), func() {
		w.refillArmed.Store(false)
		w.fetcher.Wake()
	})
}

// topics are the change signals that should wake w's fetcher: new work for
// its destinations and, when the queue or one of them has a concurrency
// limit, finished messages anywhere (a slot may have come free).
func (w *workerQueue) topics() []driver.Topic {
	ts := workTopics(w.destinations)
	if w.queueLimit.Concurrency > 0 {
		return append(ts, driver.Topic{Kind: driver.TopicFinished})
	}
	for _, l := range w.limits {
		if l.Concurrency > 0 {
			return append(ts, driver.Topic{Kind: driver.TopicFinished})
		}
	}
	return ts
}

// claimSet is the destinations one claim asks for, with their handlers'
// MaxAttempts (parallel).
type claimSet struct {
	destinations []string
	maxAttempts  []int
	limits       []driver.ClaimLimit // nil: none limited
}

// workerQueues groups the registered handlers by worker queue, sorted by
// queue name. With no handler at all the run still has the default queue
// (which claims nothing), as before named queues.
func (q *Queue) workerQueues() []*workerQueue {
	handlers := q.handlerMap()
	names := make([]string, 0, len(handlers))
	for name := range handlers {
		names = append(names, name)
	}
	slices.Sort(names)
	byQueue := map[string]*workerQueue{}
	var out []*workerQueue
	add := func(queue string) *workerQueue {
		w := byQueue[queue]
		if w == nil {
			n, _ := q.cfg.queueWorkers(queue)
			w = &workerQueue{name: queue, workers: n}
			byQueue[queue] = w
			out = append(out, w)
		}
		return w
	}
	for _, name := range names {
		w := add(handlers[name].opts.Queue)
		w.destinations = append(w.destinations, name)
		w.maxAttempts = append(w.maxAttempts, handlers[name].opts.MaxAttempts)
		w.limits = append(w.limits, handlers[name].opts.limit())
	}
	for _, w := range out {
		if !slices.ContainsFunc(w.limits, func(l driver.ClaimLimit) bool { return !l.IsZero() }) {
			w.limits = nil
		}
		if n := q.cfg.Queues[w.name].GlobalConcurrency; n > 0 {
			w.queueLimit = driver.QueueLimit{Name: w.name, Concurrency: n, Destinations: w.destinations}
		}
	}
	if len(out) == 0 {
		add(QueueDefault)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// wireWorkers builds one worker queue's slots, executor and fetcher.
func (q *Queue) wireWorkers(r *runState, w *workerQueue) {
	c := q.cfg
	w.slots = fetch.NewSlots(w.workers)
	w.exec = exec.New(exec.Config{
		Workers: w.workers,
		Handle:  q.invoke,
		Done: func(j *exec.Job, result any, err error) {
			r.completer.Add(&complete.Item{C: q.outcome(j, result, err), Msg: j.Msg})
		},
		Abandon: func(j *exec.Job) {
			q.abandonedAtStop(j)
			r.completer.Add(&complete.Item{C: q.released(j.Msg), Msg: j.Msg})
		},
		Release:  func() { w.slots.Release(1) },
		Timeout:  q.timeouts,
		TimedOut: q.timedOut,
		Late:     q.lateHandler,
	})
	w.fetcher = fetch.New(fetch.Config{
		Slots: w.slots, MaxBatch: c.ClaimBatch, Poll: c.MaintenanceInterval, Logger: q.logger,
		MinBatch: min(c.ClaimBatch, w.workers/4), Gather: claimGather, Claimers: q.claimers(),
		Claim:   func(ctx context.Context, n int) ([]*Message, error) { return q.claim(ctx, r, w, n) },
		Deliver: w.exec.Submit,
		Other:   q.finished,
	})
	if q.pauser == nil { // nothing can be paused: the claim set never changes
		w.claimable.Store(&claimSet{destinations: w.destinations, maxAttempts: w.maxAttempts, limits: w.limits})
	}
}

// claimers is how many claims a worker queue keeps in flight while its
// backlog is deep: what the store can run side by side, else one.
func (q *Queue) claimers() int {
	if cc, ok := q.d.(driver.ConcurrentClaimer); ok {
		return cc.ClaimsInFlight()
	}
	return 1
}

// runFetcher runs w's fetcher until ctx ends, waking it on new work for its
// destinations.
func (r *runState) runFetcher(ctx context.Context, w *workerQueue) {
	r.fetching.Go(func() { w.fetcher.Run(ctx) })
	go func() {
		for {
			select {
			case <-w.changes.C:
				w.fetcher.Wake()
			case <-ctx.Done():
				return
			}
		}
	}()
}

// wakeLimited wakes the fetcher of the worker queue serving dest when dest
// or its queue has a concurrency limit: one of its messages just ended
// here, so a slot may be free.
func (r *runState) wakeLimited(dest string) {
	for _, w := range r.workers {
		if w.limits == nil && w.queueLimit.Concurrency <= 0 {
			continue
		}
		i := slices.Index(w.destinations, dest)
		if i >= 0 && (w.queueLimit.Concurrency > 0 || w.limits[i].Concurrency > 0) {
			w.fetcher.Wake()
		}
	}
}

// wake tells every worker queue's fetcher that work may be ready.
func (r *runState) wake() {
	for _, w := range r.workers {
		w.fetcher.Wake()
	}
}

// totalWorkers is the number of workers of every worker queue.
func (r *runState) totalWorkers() int {
	n := 0
	for _, w := range r.workers {
		n += w.workers
	}
	return n
}

// inFlight returns the jobs running in every worker queue.
func (r *runState) inFlight() []*exec.Job {
	var out []*exec.Job
	for _, w := range r.workers {
		out = append(out, w.exec.InFlight()...)
	}
	return out
}

// leased returns the running jobs' attempts, for the heartbeat (a
// sharded store splits them by the shard their seqs carry).
func (r *runState) leased() []maintain.Held {
	var hs []maintain.Held
	for _, j := range r.inFlight() {
		hs = append(hs, maintain.Held{Seq: j.Msg.Seq, Attempt: j.Msg.Attempt})
	}
	return hs
}

// queueNames lists the configured worker queues, sorted, for error texts.
func (q *Queue) queueNames() []string {
	names := []string{}
	if _, ok := q.cfg.Queues[QueueDefault]; !ok {
		names = append(names, QueueDefault)
	}
	for name := range q.cfg.Queues {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
