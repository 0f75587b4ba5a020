// Package periodic enqueues the ticks of periodic (cron) jobs, for one
// queue run. It only enqueues while the run leads the queue's shared
// maintenance; each tick is enqueued through a function the queue gives,
// which makes the tick's message unique by (job, tick), so two runs that
// both believe they lead (the election allows that for a moment) store it
// once. The last tick enqueued per job is stored (Store), so that a new
// leader, after a hand-over or a restart, goes on from there.
//
// Missed ticks: when a look at the clock finds more than one tick due (no
// run led at the earlier ones: everything was down, or the leader stalled),
// the job is enqueued once, for the latest due tick, not once per missed
// tick; with Job.SkipMissed none of them is. A job with nothing stored
// counts its ticks from Job.Since.
//
// Time is the queue's clock (Config.Now): the loop looks at it when the
// next tick is due by that clock and at least every Config.Poll, so a
// stepped or fake clock is followed within a poll.
package periodic

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Job is one periodic job as the scheduler sees it.
type Job struct {
	Name     string
	Schedule Schedule
	// SkipMissed drops missed ticks instead of enqueuing once for them.
	SkipMissed bool
	// Since is when the job was registered (by the queue's clock): a job
	// with nothing stored counts its ticks from then (from now if zero or
	// later).
	Since time.Time
	// Enqueue stores the job's message for tick. Storing a tick twice must
	// store one message (the queue makes it unique by name and tick).
	Enqueue func(ctx context.Context, tick time.Time) error
}

// Store keeps, per job name, the last tick enqueued (or, for a job seen
// for the first time, the time from which its ticks count).
type Store interface {
	Last(ctx context.Context, name string) (t time.Time, ok bool, err error)
	SetLast(ctx context.Context, name string, t time.Time) error
}

// Config wires a Scheduler.
type Config struct {
	Now     func() time.Time // the queue's clock
	Leading func() bool      // whether the run leads now
	Poll    time.Duration    // the longest wait between two looks
	Store   Store
	Logger  *slog.Logger
}

// Scheduler runs the periodic jobs of one run. Its loop starts with the
// first Set that holds a job, so a run without periodic jobs costs nothing.
type Scheduler struct {
	cfg  Config
	jobs atomic.Pointer[[]Job]
	wake chan struct{}

	mu      sync.Mutex // serializes Set and Stop
	pass    sync.Mutex // held by a look at the jobs
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool

	states map[string]*state // the loop's own
}

// state is what the loop knows of one job.
type state struct {
	last  time.Time
	known bool // last was read from (or written to) the store this lead
}

// New returns a scheduler with no job and no loop.
func New(cfg Config) *Scheduler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{cfg: cfg, wake: make(chan struct{}, 1), states: map[string]*state{}}
}

// Set replaces the jobs. When it returns, no look at the jobs that began
// before it is still running: a job removed is enqueued no more.
func (s *Scheduler) Set(jobs []Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	js := append([]Job(nil), jobs...)
	s.jobs.Store(&js)
	if s.done == nil && len(js) > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel, s.done = cancel, make(chan struct{})
		go s.run(ctx)
	}
	s.pass.Lock() // wait for a look in flight
	s.pass.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stop ends the loop (an enqueue in flight is cancelled) and waits for it.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.done != nil {
		s.cancel()
		<-s.done
	}
}

func (s *Scheduler) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.wake:
		case <-ctx.Done():
			return
		}
		t.Reset(s.look(ctx))
	}
}

// look enqueues the due ticks (when leading) and returns how long to wait
// before the next look.
func (s *Scheduler) look(ctx context.Context) time.Duration {
	s.pass.Lock()
	defer s.pass.Unlock()
	wait := s.cfg.Poll
	if !s.cfg.Leading() {
		clear(s.states) // a later lead reads the store again
		return wait
	}
	jobs := *s.jobs.Load()
	s.forgetRemoved(jobs)
	for _, j := range jobs {
		if ctx.Err() != nil {
			return wait
		}
		if w, ok := s.check(ctx, j, s.cfg.Now()); ok {
			wait = min(wait, w)
		}
	}
	return wait
}

// forgetRemoved drops the states of jobs no longer set.
func (s *Scheduler) forgetRemoved(jobs []Job) {
	if len(s.states) <= len(jobs) {
		return
	}
	keep := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		keep[j.Name] = true
	}
	for name := range s.states {
		if !keep[name] {
			delete(s.states, name)
		}
	}
}

// check enqueues j's due tick, if any, and returns the wait until its next
// tick (false: it has none).
func (s *Scheduler) check(ctx context.Context, j Job, now time.Time) (time.Duration, bool) {
	st, err := s.stateOf(ctx, j, now)
	if err != nil {
		s.warn(ctx, "read the last tick of a periodic job", j.Name, err)
		return s.cfg.Poll, true
	}
	if next := j.Schedule.Next(st.last); next.IsZero() || next.After(now) {
		return next.Sub(now), !next.IsZero()
	}
	// Due. Another leader may have gone on since this one last read.
	if err := s.reread(ctx, j.Name, st); err != nil {
		s.warn(ctx, "read the last tick of a periodic job", j.Name, err)
		return s.cfg.Poll, true
	}
	tick, due := latestTick(j.Schedule, st.last, now)
	if !due {
		return s.untilNext(j, st, now)
	}
	if err := s.enqueue(ctx, j, st, tick); err != nil {
		s.warn(ctx, "enqueue a periodic job", j.Name, err)
		return s.cfg.Poll, true
	}
	return s.untilNext(j, st, now)
}

// enqueue stores tick's message (unless the ticks before it were missed
// and j skips missed ticks) and records tick as the last one.
func (s *Scheduler) enqueue(ctx context.Context, j Job, st *state, tick time.Time) error {
	first := j.Schedule.Next(st.last)
	missed := first.Before(tick)
	switch {
	case missed && j.SkipMissed:
		s.cfg.Logger.Info("periodic job missed ticks; skipping them", "job", j.Name,
			"first_missed", first, "last_missed", tick)
	case missed:
		s.cfg.Logger.Info("periodic job missed ticks; enqueuing it once for them", "job", j.Name,
			"first_missed", first, "tick", tick)
		fallthrough
	default:
		if err := j.Enqueue(ctx, tick); err != nil {
			return err
		}
	}
	if err := s.cfg.Store.SetLast(ctx, j.Name, tick); err != nil {
		// The next look enqueues tick again, which stores nothing new.
		s.warn(ctx, "record the last tick of a periodic job", j.Name, err)
	}
	st.last = tick
	return nil
}

// untilNext is the wait until j's next tick after st.last.
func (s *Scheduler) untilNext(j Job, st *state, now time.Time) (time.Duration, bool) {
	next := j.Schedule.Next(st.last)
	return next.Sub(now), !next.IsZero()
}

// stateOf returns what the loop knows of j, reading the store on the
// first look of a lead; a job never stored starts from j.Since.
func (s *Scheduler) stateOf(ctx context.Context, j Job, now time.Time) (*state, error) {
	if st := s.states[j.Name]; st != nil && st.known {
		return st, nil
	}
	last, ok, err := s.cfg.Store.Last(ctx, j.Name)
	if err != nil {
		return nil, err
	}
	if !ok {
		last = j.Since
		if last.IsZero() || last.After(now) {
			last = now
		}
		if err := s.cfg.Store.SetLast(ctx, j.Name, last); err != nil {
			return nil, err
		}
	}
	st := &state{last: last, known: true}
	s.states[j.Name] = st
	return st, nil
}

// reread takes the stored last tick when it is later than the one known.
func (s *Scheduler) reread(ctx context.Context, name string, st *state) error {
	last, ok, err := s.cfg.Store.Last(ctx, name)
	if err != nil {
		return err
	}
	if ok && last.After(st.last) {
		st.last = last
	}
	return nil
}

func (s *Scheduler) warn(ctx context.Context, what, name string, err error) {
	if ctx.Err() == nil {
		s.cfg.Logger.Warn(what, "job", name, "err", err)
	}
}
