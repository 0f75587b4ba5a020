package queuesqlite

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// PauseKind says what a Pause applies to.
type PauseKind string

// The kinds of pause.
const (
	// PauseKindDestination: the messages of one destination (handler name).
	PauseKindDestination PauseKind = "destination"
	// PauseKindQueue: the destinations of the handlers that a process put
	// in one worker queue (HandlerOpts.Queue), in every process.
	PauseKindQueue PauseKind = "queue"
)

// Pause is one recorded pause (Queue.Paused, Stats.Paused).
type Pause struct {
	Kind  PauseKind `json:"kind"`
	Name  string    `json:"name"`  // the destination or the worker queue
	Since time.Time `json:"since"` // when it was paused
}

// PauseDestination stops every process on the queue's store from starting
// messages sent to destination: they stay waiting (sends still store
// them) until ResumeDestination. Messages already claimed run to their end.
// The pause is stored (in the first shard), so it outlasts the processes
// and holds for ones that open the queue later. When it returns, this
// process claims none of the destination's messages any more (a claim
// under way has ended); other processes leave it out of every claim they
// begin after they see the change (within their PollInterval for SQLite)
// and in any case within one MaintenanceInterval. If ctx ends while a
// claim under way has not (a store locked by another process holds it
// up), the call fails saying so; the pause is stored all the same.
// Pausing what is paused changes nothing. A queue whose storage driver
// records no pauses (driver.Pauser) fails with ErrInvalidArgument.
func (q *Queue) PauseDestination(ctx context.Context, destination string) error {
	return q.setPaused(ctx, driver.PauseDestination, destination, true)
}

// ResumeDestination lifts a PauseDestination: every process starts the
// destination's waiting messages again. Resuming what is not paused is not
// an error. A pause of the worker queue the destination's handler is in
// still holds.
func (q *Queue) ResumeDestination(ctx context.Context, destination string) error {
	return q.setPaused(ctx, driver.PauseDestination, destination, false)
}

// PauseQueue pauses the named worker queue (see Config.Queues): in every
// process, the destinations of the handlers that process registered in
// that queue, as PauseDestination does for one. The queue need not be
// configured in this process.
func (q *Queue) PauseQueue(ctx context.Context, queue string) error {
	return q.setPaused(ctx, driver.PauseQueue, queue, true)
}

// ResumeQueue lifts a PauseQueue. Destinations paused by name stay paused.
func (q *Queue) ResumeQueue(ctx context.Context, queue string) error {
	return q.setPaused(ctx, driver.PauseQueue, queue, false)
}

// Paused returns every recorded pause, destinations first, each kind by
// name. A queue whose storage cannot record pauses has none. A started
// queue also follows what it read: when Paused returns, this process
// claims nothing of what it lists (claims under way have ended, unless
// ctx ended first), as after its own PauseDestination.
func (q *Queue) Paused(ctx context.Context) ([]Pause, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	if q.pauser == nil {
		return nil, nil
	}
	ps, drained, err := q.refreshPauses(ctx, q.run.Load(), false)
	if err != nil {
		return nil, err
	}
	if drained != nil {
		select { // the list stands either way; the wait is for the guarantee
		case <-drained:
		case <-ctx.Done():
		}
	}
	out := make([]Pause, 0, len(ps))
	for _, p := range ps {
		out = append(out, Pause{Kind: PauseKind(p.Kind.String()), Name: p.Name, Since: p.Since.UTC()})
	}
	return out, nil
}

// errNoPauser is the error of a pause over a driver that cannot store one.
var errNoPauser = fmt.Errorf("%w: the queue's storage driver records no pauses (driver.Pauser)", ErrInvalidArgument)

// setPaused stores a pause or resume and makes this process's next claims
// follow it.
func (q *Queue) setPaused(ctx context.Context, kind driver.PauseKind, name string, paused bool) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	if q.pauser == nil {
		return errNoPauser
	}
	if err := validPauseName(kind, name); err != nil {
		return err
	}
	err := q.pauser.SetPaused(ctx, driver.PauseParams{Kind: kind, Name: name, Paused: paused, Now: q.now()})
	if err != nil {
		return fmt.Errorf("%s %s %q: %w", pauseVerb(paused), kind, name, err)
	}
	q.pauseGen.Add(1) // every later claim reads the pauses again
	if r := q.run.Load(); r != nil {
		if err := q.followHere(ctx, r, paused); err != nil {
			return fmt.Errorf("%s %s %q: stored, but %w", pauseVerb(paused), kind, name, err)
		}
	}
	return nil
}

// followHere makes run r follow the stored pauses at once: after a pause
// it waits (within ctx) for the claims under way, which may take the
// paused messages; after a resume it wakes the fetchers instead.
func (q *Queue) followHere(ctx context.Context, r *runState, paused bool) error {
	_, drained, err := q.refreshPauses(ctx, r, false)
	if err != nil {
		return err
	}
	if !paused {
		r.wake()
		return nil
	}
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("a claim under way (which may take its messages) had not ended: %w", context.Cause(ctx))
	}
}

func validPauseName(kind driver.PauseKind, name string) error {
	if kind == driver.PauseQueue {
		return validQueueName(name)
	}
	if name == "" {
		return fmt.Errorf("%w: pause needs a destination name", ErrInvalidArgument)
	}
	return nil
}

func pauseVerb(paused bool) string {
	if paused {
		return "pause"
	}
	return "resume"
}

// pauseView is a run's cached copy of the stored pauses: each worker
// queue's claimable set. A claim reads the pauses again when a change
// signal (or a local pause) came since the last read, or when that read
// is half a MaintenanceInterval old, so every claim follows the pauses
// committed before the change it was woken for.
type pauseView struct {
	mu     sync.Mutex                 // one read at a time
	epoch  atomic.Pointer[claimEpoch] // the claims under the current sets
	gen    atomic.Uint64              // Queue.pauseGen at the last read; pauseUnread before one
	readAt atomic.Int64               // when the last read began, in ns since start
	start  time.Time                  // monotonic origin of readAt
	// dests holds the destinations paused by name at the last read.
	dests atomic.Pointer[map[string]bool]
}

// pauseUnread is pauseView.gen before the first read.
const pauseUnread = math.MaxUint64

func (v *pauseView) init() {
	v.epoch.Store(newClaimEpoch(true))
	v.gen.Store(pauseUnread)
	v.start = time.Now()
}

// destinationPaused reports whether dest was paused by name at the last
// read.
func (v *pauseView) destinationPaused(dest string) bool {
	m := v.dests.Load()
	return m != nil && (*m)[dest]
}

// fresh reports whether the last read still holds at generation gen.
func (v *pauseView) fresh(gen uint64, maxAge time.Duration) bool {
	return v.gen.Load() == gen && time.Since(v.start)-time.Duration(v.readAt.Load()) < maxAge
}

// followPauses reads the pauses again, before a claim, if they may have
// changed since the last read.
func (q *Queue) followPauses(ctx context.Context, r *runState) error {
	if q.pauser == nil || r.pauses.fresh(q.pauseGen.Load(), q.pauseMaxAge()) {
		return nil
	}
	return q.readPauses(ctx, r)
}

// pauseMaxAge is how long a read of the pauses serves claims without a
// change signal: half a MaintenanceInterval, so the fetcher's fallback
// poll (once an interval) always reads them again.
func (q *Queue) pauseMaxAge() time.Duration { return q.cfg.MaintenanceInterval / 2 }

// readPauses reads the stored pauses, before a claim, and recomputes
// every worker queue's claimable set. Concurrent claims share one read;
// none waits for the claims under way.
func (q *Queue) readPauses(ctx context.Context, r *runState) error {
	_, _, err := q.refreshPauses(ctx, r, true)
	return err
}

// refreshPauses reads the stored pauses and, when r is a run, makes its
// claims follow them; with onlyStale it reads nothing when the last read
// still holds. It returns the pauses and a channel closed once the claims
// that began under the previous pauses have ended (nil without a run).
func (q *Queue) refreshPauses(ctx context.Context, r *runState, onlyStale bool) ([]driver.PauseState, <-chan struct{}, error) {
	if r == nil {
		ps, err := q.pauser.Paused(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("read pauses: %w", err)
		}
		return ps, nil, nil
	}
	v := &r.pauses
	v.mu.Lock()
	defer v.mu.Unlock()
	gen := q.pauseGen.Load()
	if onlyStale && v.fresh(gen, q.pauseMaxAge()) {
		return nil, nil, nil // another worker queue's claim just read them
	}
	at := time.Since(v.start)
	ps, err := q.pauser.Paused(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read pauses: %w", err)
	}
	return ps, r.follow(ps, gen, at), nil
}

// follow stores every worker queue's claimable set under the pauses ps,
// read at generation gen and time at. It returns a channel closed once the
// claims that chose their set before have ended.
func (r *runState) follow(ps []driver.PauseState, gen uint64, at time.Duration) <-chan struct{} {
	dests, queues := map[string]bool{}, map[string]bool{}
	for _, p := range ps {
		switch p.Kind {
		case driver.PauseDestination:
			dests[p.Name] = true
		case driver.PauseQueue:
			queues[p.Name] = true
		}
	}
	v := &r.pauses
	for _, w := range r.workers {
		w.claimable.Store(w.unpaused(dests, queues[w.name]))
	}
	v.dests.Store(&dests)
	v.readAt.Store(int64(at))
	v.gen.Store(gen)
	next := newClaimEpoch(false)
	return v.epoch.Swap(next).retire(next) // after the sets: see claimEpoch
}

// claimEpoch counts the claims that began while one generation of
// claimable sets was current. A claim enters the current epoch, then loads
// its set; follow stores the new sets, then swaps in a new epoch and
// retires the old one. A claim that entered the old epoch after the swap
// loads a new set (stored before the swap), so once the old epoch's count
// is zero, no claim with that epoch's set is under way. An epoch drains
// (closes idle) only after the one before it drained too: a pause whose
// wait ended with its context leaves a claim under way in an older epoch,
// and the next pause must wait for that one as well.
type claimEpoch struct {
	mu       sync.Mutex
	n        int         // claims in it now
	retired  bool        // a newer epoch is current
	prevIdle bool        // every older epoch has drained
	next     *claimEpoch // the epoch that replaced it, once retired
	idle     chan struct{}
	closed   bool
}

// newClaimEpoch returns an epoch; prevIdle says no older epoch still has
// claims (true for a run's first).
func newClaimEpoch(prevIdle bool) *claimEpoch {
	return &claimEpoch{prevIdle: prevIdle, idle: make(chan struct{})}
}

// enterClaim enters the current epoch; call leave when the claim returns.
func (v *pauseView) enterClaim() *claimEpoch {
	e := v.epoch.Load()
	e.mu.Lock()
	e.n++
	e.mu.Unlock()
	return e
}

func (e *claimEpoch) leave() {
	e.mu.Lock()
	e.n--
	drained := e.closeIfIdle()
	e.mu.Unlock()
	if drained {
		e.next.olderDrained()
	}
}

// retire marks e as replaced by next and returns a channel closed once no
// claim is in e or in any epoch before it.
func (e *claimEpoch) retire(next *claimEpoch) <-chan struct{} {
	e.mu.Lock()
	e.retired, e.next = true, next
	drained := e.closeIfIdle()
	e.mu.Unlock()
	if drained {
		next.olderDrained()
	}
	return e.idle
}

// olderDrained tells e that every epoch before it has drained, and passes
// that on down the newer epochs that drain with it (one lock at a time).
func (e *claimEpoch) olderDrained() {
	for ; e != nil; e = e.next { // next is fixed once e is retired
		e.mu.Lock()
		e.prevIdle = true
		drained := e.closeIfIdle()
		e.mu.Unlock()
		if !drained {
			return
		}
	}
}

// closeIfIdle closes idle once e is retired, empty and its elders drained
// (call with e.mu held); it reports whether it closed it now.
func (e *claimEpoch) closeIfIdle() bool {
	if !e.retired || !e.prevIdle || e.n != 0 || e.closed {
		return false
	}
	e.closed = true
	close(e.idle)
	return true
}

// unpaused is w's claim set without the paused destinations (empty when
// the whole queue is paused).
func (w *workerQueue) unpaused(dests map[string]bool, queuePaused bool) *claimSet {
	if queuePaused {
		return &claimSet{}
	}
	if len(dests) == 0 {
		return &claimSet{destinations: w.destinations, maxAttempts: w.maxAttempts, limits: w.limits}
	}
	set := &claimSet{}
	for i, d := range w.destinations {
		if !dests[d] {
			set.destinations = append(set.destinations, d)
			set.maxAttempts = append(set.maxAttempts, w.maxAttempts[i])
			if w.limits != nil {
				set.limits = append(set.limits, w.limits[i])
			}
		}
	}
	return set
}
