// Package maintain runs the queue's background upkeep, one goroutine per
// duty: the heartbeat (the owner's liveness beat and the renewal of running
// handlers' leases), the rescue of messages whose owner died (judged by
// package liveness, never by comparing wall clocks), the promotion of
// delayed and retrying messages when they come due (and the settling of
// messages waiting for dependencies, driver.DependencyStore), the expiry of
// messages that were not started in time, and the cleanup of old finished
// rows. Every duty is idempotent, so several
// processes sharing a queue may all run them; with Config.Leading the
// shared scans (rescue, expiry, cleanup, the unhandled-destination watch)
// run only while this process leads, while the heartbeat of its own
// handlers and the promotion of due messages run in every process.
package maintain

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/liveness"
	"github.com/queue-sqlite/queuesqlite/internal/notify"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// batchLimit bounds the rows one maintenance statement touches.
const batchLimit = 1000

// callShare is the share of a lease one heartbeat storage call may take:
// CallTimeout is Lease/callShare.
const callShare = 2

// CallTimeout bounds each storage call of the heartbeat (the owner's beat,
// the renewal of running handlers' leases) and the queue's other calls
// that must not outlive a lease (Queue.Leader): half a lease. A store that
// hangs (a half-open TCP connection to a database server, a lock held
// elsewhere) would otherwise block the call past the lease, and the
// heartbeat, waiting on it, would stop renewing; bounded, the call fails
// with context.DeadlineExceeded, is logged, and the next tick (every
// Lease/3) tries again.
func CallTimeout(lease time.Duration) time.Duration { return lease / callShare }

// Config wires a Maintainer to the queue.
type Config struct {
	// Store is the queue's store (one driver; a sharded store is one too).
	Store driver.Driver
	Now   func() time.Time
	Me    string // this instance's callback owner id
	Owner string // the lease owner of this run's workers
	// Lease is the workers' lease: the heartbeat runs every Lease/3, each
	// of its storage calls bounded by CallTimeout(Lease).
	Lease time.Duration
	// Interval is the cadence of rescue and expiry, and the longest the
	// promoter sleeps without looking.
	Interval     time.Duration
	CleanupEvery time.Duration
	Retention    map[queuetype.Status]time.Duration
	// Owners is the liveness tracker of the store's lease owners.
	Owners *liveness.Tracker
	// Leased returns the attempts this run's workers hold.
	Leased func() []Held
	// LeaseLost is told of each held attempt whose lease is gone.
	LeaseLost func(h Held)
	// Finished receives messages that maintenance moved to a terminal
	// status (expired, or failed after a rescue), for callbacks.
	Finished func(ms []*queuetype.Message)
	// Ready is told that messages became ready to claim.
	Ready func()
	// Served lists the destinations this process has handlers for. Every
	// UnhandledEvery (0 = never) the others are looked at: Unhandled is told,
	// once, of each whose ready messages have made no progress (unchanged
	// counts) for UnhandledAfter, so that no process seems to handle it.
	Served         []string
	UnhandledEvery time.Duration
	UnhandledAfter time.Duration
	Unhandled      func(destination string, pending int, stuckFor time.Duration)
	// AfterCleanup, if set, runs after each cleanup pass (the queue prunes
	// its id routes there).
	AfterCleanup func(ctx context.Context)
	// Leading, if set, says whether this process leads the shared
	// maintenance: rescue, expiry, cleanup (with AfterCleanup) and the
	// unhandled-destination watch skip their passes while it reports false.
	// Nil: this process always leads.
	Leading func() bool
	Logger  *slog.Logger
}

// Held is one attempt a worker runs under a lease.
type Held struct {
	Seq     int64
	Attempt int
}

// Maintainer runs the duties until Stop.
type Maintainer struct {
	cfg    Config
	wake   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	shared atomic.Int64 // shared passes run (see SharedPasses)
	// deps: messages with dependencies are in use (sent here, or seen
	// waiting in a shard), so a finished message wakes the promoter.
	deps atomic.Bool
}

// Start records the owner's first beat on every shard (before any claim, so
// the owner never holds a lease without a liveness row) and launches every
// duty. Every timer runs on the monotonic clock; Now only stamps stored
// times.
func Start(cfg Config) *Maintainer {
	ctx, cancel := context.WithCancel(context.Background())
	m := &Maintainer{cfg: cfg, wake: make(chan struct{}, 1), cancel: cancel}
	m.beat(ctx)
	m.every(ctx, cfg.Lease/3, m.heartbeat)
	m.every(ctx, cfg.Interval, m.rescueAndExpire)
	m.every(ctx, cfg.CleanupEvery, m.cleanup)
	m.wg.Go(func() { m.promoter(ctx) })
	if cfg.UnhandledEvery > 0 {
		m.wg.Go(func() { m.watchUnhandled(ctx) })
	}
	return m
}

// SharedPasses reports how many passes of the shared duties (rescue and
// expiry, cleanup, the unhandled watch) this maintainer has run, for
// telling which process does the shared work.
func (m *Maintainer) SharedPasses() int64 { return m.shared.Load() }

// leads reports whether the shared duties run now, and counts the pass
// when they do.
func (m *Maintainer) leads() bool {
	if m.cfg.Leading != nil && !m.cfg.Leading() {
		return false
	}
	m.shared.Add(1)
	return true
}

// WakePromoter makes the promoter look again now (a message was scheduled
// earlier than what it waits for).
func (m *Maintainer) WakePromoter() { notify.Signal(m.wake) }

// DependenciesSent tells the promoter that messages with dependencies were
// sent: it resolves them now (a parent may have finished already) and,
// from then on, whenever a message finishes here (MessageFinished).
func (m *Maintainer) DependenciesSent() {
	m.deps.Store(true)
	notify.Signal(m.wake)
}

// MessageFinished is told that this process finished a message: the
// promoter resolves its dependants at once when dependencies are in use
// (otherwise it does nothing; the promoter still looks every Interval).
func (m *Maintainer) MessageFinished() {
	if m.deps.Load() {
		notify.Signal(m.wake)
	}
}

// Stop ends every duty, waits for them and retires the owner, so anything it
// still leases is rescued at once by whoever looks next. Call it after the
// workers have given their messages back. Retiring gives up when ctx ends
// (or after a lease): an owner left unretired is judged dead by its beats.
func (m *Maintainer) Stop(ctx context.Context) {
	m.cancel()
	m.wg.Wait()
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Lease)
	defer cancel()
	if err := m.cfg.Store.RetireOwner(ctx, m.cfg.Owner); err != nil {
		m.cfg.Logger.Warn("retire lease owner", "err", err)
	}
}

func (m *Maintainer) every(ctx context.Context, d time.Duration, fn func(context.Context)) {
	m.wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fn(ctx)
			case <-ctx.Done():
				return
			}
		}
	})
}

// beat bumps the owner's liveness counter on every shard, within
// CallTimeout.
func (m *Maintainer) beat(ctx context.Context) {
	p := driver.OwnerParams{Owner: m.cfg.Owner, Lease: m.cfg.Lease, Now: m.cfg.Now()}
	call, cancel := m.bounded(ctx)
	defer cancel()
	if err := m.cfg.Store.BeatOwner(call, p); err != nil {
		m.warn(ctx, "owner heartbeat failed", "err", err)
	}
}

// bounded derives the context of one heartbeat storage call: it ends with
// ctx or after CallTimeout, whichever comes first.
func (m *Maintainer) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, CallTimeout(m.cfg.Lease))
}

// warn logs a duty's failure, unless the duty failed because the
// maintainer is stopping: Stop cancels the calls in flight, and what they
// return then (context canceled) is the stop, not a fault.
func (m *Maintainer) warn(ctx context.Context, msg string, args ...any) {
	if ctx.Err() != nil {
		return
	}
	m.cfg.Logger.Warn(msg, args...)
}

// heartbeat beats, then renews the leases of running handlers and reports
// lost ones. Each call is bounded by CallTimeout: one that fails (or hangs
// and is cut off) is logged, and the next tick tries again.
func (m *Maintainer) heartbeat(ctx context.Context) {
	m.beat(ctx)
	until := m.cfg.Now().Add(m.cfg.Lease)
	hs := m.cfg.Leased()
	if len(hs) == 0 {
		return
	}
	p := driver.LeaseParams{Owner: m.cfg.Owner, Until: until}
	for _, h := range hs {
		p.Seqs, p.Attempts = append(p.Seqs, h.Seq), append(p.Attempts, h.Attempt)
	}
	call, cancel := m.bounded(ctx)
	defer cancel()
	held, err := m.cfg.Store.ExtendLeases(call, p)
	if err != nil {
		m.warn(ctx, "lease heartbeat failed", "err", err)
		return
	}
	still := make(map[int64]bool, len(held))
	for _, s := range held {
		still[s] = true
	}
	for _, h := range hs {
		if !still[h.Seq] {
			m.cfg.LeaseLost(h)
		}
	}
}

// rescueAndExpire returns dead owners' messages and expires stale ones.
// A process that does not lead only watches the owners, so that it can
// judge them at once when it comes to lead.
func (m *Maintainer) rescueAndExpire(ctx context.Context) {
	if !m.leads() {
		m.watchOwners(ctx)
		return
	}
	p := driver.MaintainParams{Now: m.cfg.Now(), Limit: batchLimit, Me: m.cfg.Me}
	m.rescue(ctx, p)
	expired, err := m.cfg.Store.Expire(ctx, p)
	if err != nil {
		m.warn(ctx, "expiry failed", "err", err)
	} else if len(expired) > 0 {
		m.report(expired)
	}
}

// rescue returns the messages of the owners the tracker judges dead.
func (m *Maintainer) rescue(ctx context.Context, p driver.MaintainParams) {
	v, err := m.cfg.Owners.Observe(ctx)
	if err != nil {
		m.warn(ctx, "read lease owners failed", "err", err)
		return
	}
	p.Dead, p.Ownerless = v.Dead, v.Ownerless
	rescued, err := m.cfg.Store.Rescue(ctx, p)
	if err != nil {
		m.warn(ctx, "rescue failed", "err", err)
	} else if len(rescued) > 0 {
		m.cfg.Logger.Info("rescued messages of dead lease owners", "n", len(rescued), "owners", v.Dead)
		m.report(rescued)
		m.cfg.Ready()
	}
}

// watchOwners reads the owners into the tracker without acting.
func (m *Maintainer) watchOwners(ctx context.Context) {
	if _, err := m.cfg.Owners.Observe(ctx); err != nil {
		m.warn(ctx, "read lease owners failed", "err", err)
	}
}

func (m *Maintainer) report(ms []*queuetype.Message) {
	var done []*queuetype.Message
	for _, msg := range ms {
		if msg.Status.Terminal() {
			done = append(done, msg)
		}
	}
	if len(done) > 0 {
		m.cfg.Finished(done)
		m.MessageFinished() // their dependants
	}
}

// promoter makes delayed and retrying messages ready when they come due,
// sleeping until the earliest run time (or Interval, or a wake).
func (m *Maintainer) promoter(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-m.wake:
		case <-ctx.Done():
			return
		}
		timer.Stop()
		timer.Reset(m.promote(ctx))
	}
}

// promote settles dependencies and promotes what is due, and returns how
// long to sleep.
func (m *Maintainer) promote(ctx context.Context) time.Duration {
	wait := m.cfg.Interval
	d := m.cfg.Store
	if !m.resolve(ctx, d) {
		wait = 0 // more to settle
	}
	n, err := d.Promote(ctx, driver.MaintainParams{Now: m.cfg.Now(), Limit: batchLimit})
	if err != nil {
		m.warn(ctx, "promotion failed", "err", err)
		return wait
	}
	if n > 0 {
		m.cfg.Ready()
	}
	if n >= batchLimit {
		wait = 0 // a sharded store may promote a batch per shard
	}
	if due, ok, err := d.NextDue(ctx); err == nil && ok {
		wait = min(wait, max(due.Sub(m.cfg.Now()), 0))
	}
	return wait
}

// resolve releases, fails or cancels the shard's messages waiting for
// dependencies that have finished, and reports false when it may have
// left some for another pass.
func (m *Maintainer) resolve(ctx context.Context, d driver.Driver) bool {
	s, ok := d.(driver.DependencyStore)
	if !ok {
		return true
	}
	waiting, err := s.Waiting(ctx)
	if err != nil {
		m.warn(ctx, "count messages waiting for dependencies", "err", err)
		return true
	}
	if waiting == 0 {
		return true
	}
	m.deps.Store(true)
	res, err := s.ResolveDependencies(ctx, driver.MaintainParams{Now: m.cfg.Now(), Limit: batchLimit, Me: m.cfg.Me})
	if err != nil {
		m.warn(ctx, "resolve dependencies failed", "err", err)
		return true
	}
	if len(res.Finished) > 0 {
		m.cfg.Finished(res.Finished)
	}
	if res.Released > 0 {
		m.cfg.Ready()
	}
	return res.Released+len(res.Finished) < batchLimit
}

// cleanup deletes finished rows past their retention and gives space back.
func (m *Maintainer) cleanup(ctx context.Context) {
	if !m.leads() {
		return
	}
	now := m.cfg.Now()
	before := make(map[queuetype.Status]time.Time, len(m.cfg.Retention))
	for status, keep := range m.cfg.Retention {
		before[status] = now.Add(-keep)
	}
	res, err := m.cfg.Store.Cleanup(ctx, driver.CleanupParams{Before: before, Now: now})
	if err != nil {
		m.warn(ctx, "cleanup failed", "err", err)
	}
	if res.Deleted > 0 {
		m.cfg.Logger.Info("cleaned up finished messages", "deleted", res.Deleted, "bytes_freed", res.BytesFreed)
	}
	if res.RoutesPruned > 0 {
		m.cfg.Logger.Info("pruned id routes of messages that are gone", "routes", res.RoutesPruned)
	}
	if m.cfg.AfterCleanup != nil {
		m.cfg.AfterCleanup(ctx)
	}
}
