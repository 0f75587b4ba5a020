// Package maintain runs the queue's background upkeep, one goroutine per
// duty: the lease heartbeat for running handlers, the rescue of messages
// whose worker died, the promotion of delayed and retrying messages when
// they come due, the expiry of messages that were not started in time, and
// the cleanup of old finished rows. Every duty is idempotent, so several
// processes sharing a queue may all run them.
package maintain

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/notify"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// batchLimit bounds the rows one maintenance statement touches.
const batchLimit = 1000

// Config wires a Maintainer to the queue.
type Config struct {
	Shards []driver.Driver
	Now    func() time.Time
	Me     string // this instance's callback owner id
	Owner  string // the lease owner of this run's workers
	Lease  time.Duration
	// Interval is the cadence of rescue and expiry, and the longest the
	// promoter sleeps without looking.
	Interval     time.Duration
	CleanupEvery time.Duration
	Retention    map[queuetype.Status]time.Duration
	// Leased returns, per shard, the seqs this run's workers hold.
	Leased func() map[int][]int64
	// LeaseLost is told of each held message whose lease is gone.
	LeaseLost func(shard int, seq int64)
	// Finished receives messages that maintenance moved to a terminal
	// status (expired, or failed after a rescue), for callbacks.
	Finished func(shard int, ms []*queuetype.Message)
	// Ready is told that messages became ready to claim.
	Ready func()
	// AfterCleanup, if set, runs after each cleanup pass (the queue prunes
	// its id routes there).
	AfterCleanup func(ctx context.Context)
	Logger       *slog.Logger
}

// Maintainer runs the duties until Stop.
type Maintainer struct {
	cfg    Config
	wake   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start launches every duty.
func Start(cfg Config) *Maintainer {
	ctx, cancel := context.WithCancel(context.Background())
	m := &Maintainer{cfg: cfg, wake: make(chan struct{}, 1), cancel: cancel}
	m.every(ctx, cfg.Lease/3, m.heartbeat)
	m.every(ctx, cfg.Interval, m.rescueAndExpire)
	m.every(ctx, cfg.CleanupEvery, m.cleanup)
	m.wg.Go(func() { m.promoter(ctx) })
	return m
}

// WakePromoter makes the promoter look again now (a message was scheduled
// earlier than what it waits for).
func (m *Maintainer) WakePromoter() { notify.Signal(m.wake) }

// Stop ends every duty and waits for them.
func (m *Maintainer) Stop() {
	m.cancel()
	m.wg.Wait()
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

// heartbeat renews the leases of running handlers and reports lost ones.
func (m *Maintainer) heartbeat(ctx context.Context) {
	until := m.cfg.Now().Add(m.cfg.Lease)
	for shard, seqs := range m.cfg.Leased() {
		held, err := m.cfg.Shards[shard].ExtendLeases(ctx, driver.LeaseParams{Owner: m.cfg.Owner, Seqs: seqs, Until: until})
		if err != nil {
			m.cfg.Logger.Warn("lease heartbeat failed", "shard", shard, "err", err)
			continue
		}
		still := make(map[int64]bool, len(held))
		for _, s := range held {
			still[s] = true
		}
		for _, s := range seqs {
			if !still[s] {
				m.cfg.LeaseLost(shard, s)
			}
		}
	}
}

// rescueAndExpire returns dead workers' messages and expires stale ones.
func (m *Maintainer) rescueAndExpire(ctx context.Context) {
	for shard, d := range m.cfg.Shards {
		p := driver.MaintainParams{Now: m.cfg.Now(), Limit: batchLimit, Me: m.cfg.Me}
		rescued, err := d.Rescue(ctx, p)
		if err != nil {
			m.cfg.Logger.Warn("rescue failed", "shard", shard, "err", err)
		} else if len(rescued) > 0 {
			m.cfg.Logger.Info("rescued messages from expired leases", "shard", shard, "n", len(rescued))
			m.report(shard, rescued)
			m.cfg.Ready()
		}
		expired, err := d.Expire(ctx, p)
		if err != nil {
			m.cfg.Logger.Warn("expiry failed", "shard", shard, "err", err)
		} else if len(expired) > 0 {
			m.report(shard, expired)
		}
	}
}

func (m *Maintainer) report(shard int, ms []*queuetype.Message) {
	var done []*queuetype.Message
	for _, msg := range ms {
		if msg.Status.Terminal() {
			done = append(done, msg)
		}
	}
	if len(done) > 0 {
		m.cfg.Finished(shard, done)
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

// promote promotes what is due on every shard and returns how long to sleep.
func (m *Maintainer) promote(ctx context.Context) time.Duration {
	wait := m.cfg.Interval
	for shard, d := range m.cfg.Shards {
		n, err := d.Promote(ctx, driver.MaintainParams{Now: m.cfg.Now(), Limit: batchLimit})
		if err != nil {
			m.cfg.Logger.Warn("promotion failed", "shard", shard, "err", err)
			continue
		}
		if n > 0 {
			m.cfg.Ready()
		}
		if n == batchLimit {
			wait = 0
		}
		if due, ok, err := d.NextDue(ctx); err == nil && ok {
			wait = min(wait, max(due.Sub(m.cfg.Now()), 0))
		}
	}
	return wait
}

// cleanup deletes finished rows past their retention and gives space back.
func (m *Maintainer) cleanup(ctx context.Context) {
	now := m.cfg.Now()
	before := make(map[queuetype.Status]time.Time, len(m.cfg.Retention))
	for status, keep := range m.cfg.Retention {
		before[status] = now.Add(-keep)
	}
	for shard, d := range m.cfg.Shards {
		res, err := d.Cleanup(ctx, driver.CleanupParams{Before: before})
		if err != nil {
			m.cfg.Logger.Warn("cleanup failed", "shard", shard, "err", err)
			continue
		}
		if res.Deleted > 0 {
			m.cfg.Logger.Info("cleaned up finished messages", "shard", shard, "deleted", res.Deleted, "bytes_freed", res.BytesFreed)
		}
	}
	if m.cfg.AfterCleanup != nil {
		m.cfg.AfterCleanup(ctx)
	}
}
