// Package exec runs handlers on a fixed pool of worker goroutines. It owns
// what can go wrong around a handler: it gives each attempt its own context
// (cancelled with a cause when the lease is lost or the queue stops),
// contains panics with their stack, tracks what is in flight for the lease
// heartbeat, and on a hard stop abandons handlers that ignore their context
// so their messages can be released.
package exec

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// ErrStopping is the cause of a handler context cancelled because the queue
// is stopping; the attempt is given back, not charged. It is the exported
// queuetype.ErrStopping (queuesqlite.ErrStopping).
var ErrStopping = queuetype.ErrStopping

// ErrTimeoutIgnored is the error of an attempt whose handler was still
// running a grace after its timeout: the executor gave up on it, freed its
// worker and failed the attempt (charged).
var ErrTimeoutIgnored = errors.New("handler ignored its timeout")

// stopGrace is how long handlers cancelled at the stop deadline get to
// return before they are abandoned.
const stopGrace = 200 * time.Millisecond

// PanicError is a handler panic turned into an error, with the stack.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v\n%s", e.Value, e.Stack) }

// Job is one attempt of one message.
type Job struct {
	Msg     *queuetype.Message
	ctx     context.Context
	cancel  context.CancelCauseFunc
	state   atomic.Int32  // jobRunning, then jobReturned, jobAbandoned or jobTimedOut (first wins)
	started time.Time     // when it was handed to a worker
	timeout time.Duration // the handler's timeout (0: none) and the grace after it
	grace   time.Duration
}

const (
	jobRunning int32 = iota
	jobReturned
	jobAbandoned // given up at shutdown: released uncharged
	jobTimedOut  // given up past its timeout and grace: failed, charged
)

// Abandoned reports whether the executor gave up on the job (at shutdown,
// or because its handler ignored its timeout); its outcome must then be
// discarded.
func (j *Job) Abandoned() bool { return j.state.Load() >= jobAbandoned }

// Ran returns how long the job's handler has been running.
func (j *Job) Ran() time.Duration { return time.Since(j.started) }

// overdue reports whether the job's handler has run past its timeout.
func (j *Job) overdue() bool { return j.timeout > 0 && j.Ran() >= j.timeout }

// Cause returns why the job's context was cancelled, or nil.
func (j *Job) Cause() error { return context.Cause(j.ctx) }

// Config wires an Executor to the queue.
type Config struct {
	Workers int
	// Handle runs the handler for m.
	Handle func(ctx context.Context, m *queuetype.Message) (any, error)
	// Done receives every attempt's outcome (err is a *PanicError after a
	// panic). It is not called for abandoned jobs.
	Done func(j *Job, result any, err error)
	// Abandon is called for each job still running after the stop grace
	// (unless it is past its timeout: then it goes to Done as below).
	Abandon func(j *Job)
	// Release frees the worker slot of a finished job.
	Release func()
	// Timeout gives a message's handler timeout and the grace after it
	// (timeout 0: none). A handler still running timeout+grace after it
	// started is given up: Done receives an error wrapping
	// ErrTimeoutIgnored, its worker slot is released, a new worker goroutine
	// takes its place, and TimedOut is called. Optional.
	Timeout func(m *queuetype.Message) (timeout, grace time.Duration)
	// TimedOut is called after a job was given up for ignoring its timeout.
	TimedOut func(j *Job)
	// Late is called when the handler of a job that was given up (at
	// shutdown or past its timeout) returns at last; its outcome is
	// discarded.
	Late func(j *Job)
}

// Executor runs jobs.
type Executor struct {
	cfg      Config
	jobs     chan *Job
	base     context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	inFlight map[*Job]struct{}
	idle     chan struct{} // signalled when a job finishes
}

// New starts an executor with cfg.Workers goroutines.
func New(cfg Config) *Executor {
	base, cancel := context.WithCancel(context.Background())
	e := &Executor{cfg: cfg, jobs: make(chan *Job, cfg.Workers), base: base, cancel: cancel,
		inFlight: map[*Job]struct{}{}, idle: make(chan struct{}, 1)}
	for range cfg.Workers {
		e.wg.Go(e.work)
	}
	return e
}

// Submit queues m. The caller holds a worker slot for it, so this never
// waits for long.
func (e *Executor) Submit(m *queuetype.Message) {
	ctx, cancel := context.WithCancelCause(e.base)
	j := &Job{Msg: m, ctx: ctx, cancel: cancel, started: time.Now()}
	if e.cfg.Timeout != nil {
		j.timeout, j.grace = e.cfg.Timeout(m)
	}
	e.mu.Lock()
	e.inFlight[j] = struct{}{}
	e.mu.Unlock()
	e.jobs <- j
}

func (e *Executor) work() {
	for j := range e.jobs {
		stopWatch := e.watch(j)
		result, err := e.call(j)
		stopWatch()
		if j.state.CompareAndSwap(jobRunning, jobReturned) {
			e.cfg.Done(j, result, err) // before finish: Stop must not see idle before the outcome is queued
			e.finish(j)
		} else if e.cfg.Late != nil {
			e.cfg.Late(j)
		}
		j.cancel(nil)
		if j.state.Load() == jobTimedOut {
			return // its slot was released and another goroutine took its place
		}
		e.cfg.Release()
	}
}

// watch gives the job up, when its handler has a timeout, once the timeout
// and its grace have passed. The returned func
// stops the watch.
func (e *Executor) watch(j *Job) func() {
	if j.timeout <= 0 {
		return func() {}
	}
	t := time.AfterFunc(j.timeout+max(j.grace, 0)-j.Ran(), func() { e.timedOut(j) })
	return func() { t.Stop() }
}

// timedOut gives up a job whose handler ignored its timeout: its outcome is
// a failed attempt, its lease is no longer renewed (it leaves InFlight), its
// slot is freed and a new goroutine replaces the stuck worker.
func (e *Executor) timedOut(j *Job) {
	if !j.state.CompareAndSwap(jobRunning, jobTimedOut) {
		return
	}
	j.cancel(ErrTimeoutIgnored)
	err := fmt.Errorf("%w: still running %v after its %v timeout; its goroutine was abandoned",
		ErrTimeoutIgnored, j.Ran().Round(time.Millisecond), j.timeout)
	e.cfg.Done(j, nil, err)
	e.finish(j)
	e.wg.Go(e.work)
	e.cfg.Release()
	if e.cfg.TimedOut != nil {
		e.cfg.TimedOut(j)
	}
}

// call runs the handler, turning a panic into a *PanicError.
func (e *Executor) call(j *Job) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, &PanicError{Value: r, Stack: string(debug.Stack())}
		}
	}()
	return e.cfg.Handle(j.ctx, j.Msg)
}

func (e *Executor) finish(j *Job) {
	e.mu.Lock()
	delete(e.inFlight, j)
	e.mu.Unlock()
	select {
	case e.idle <- struct{}{}:
	default:
	}
}

// InFlight returns the jobs currently running.
func (e *Executor) InFlight() []*Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Job, 0, len(e.inFlight))
	for j := range e.inFlight {
		out = append(out, j)
	}
	return out
}

// Cancel cancels a running job's context with cause (ErrLeaseLost when the
// heartbeat finds the lease gone).
func (e *Executor) Cancel(j *Job, cause error) { j.cancel(cause) }

// Stop lets running handlers finish until ctx ends, then cancels them with
// ErrStopping, waits a short grace and abandons (via Config.Abandon) those
// that still run. No new jobs may be submitted after Stop begins.
func (e *Executor) Stop(ctx context.Context) {
	close(e.jobs)
	if !e.waitIdle(ctx) {
		for _, j := range e.InFlight() {
			j.cancel(ErrStopping)
		}
		grace, cancel := context.WithTimeout(context.Background(), stopGrace)
		e.waitIdle(grace)
		cancel()
		for _, j := range e.InFlight() {
			if j.overdue() {
				e.timedOut(j) // past its timeout: charged, not given back
			} else if j.state.CompareAndSwap(jobRunning, jobAbandoned) {
				e.finish(j)
				e.cfg.Abandon(j)
			}
		}
		// The jobs left returned in time but may still be in Done: wait for
		// them, so every outcome is handed over before Stop returns.
		e.waitIdle(context.Background())
	}
	e.cancel()
}

// waitIdle waits until nothing is in flight; false if ctx ended first.
func (e *Executor) waitIdle(ctx context.Context) bool {
	for {
		e.mu.Lock()
		n := len(e.inFlight)
		e.mu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case <-e.idle:
		case <-ctx.Done():
			return false
		}
	}
}
