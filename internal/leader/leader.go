// Package leader campaigns, for one queue run, for the seat of a leader
// election held by the storage (driver.Elector), so that the maintenance
// shared by every process on one store runs in one of them. The seat names
// the run's lease owner and is kept as long as that owner beats: a
// candidate takes it over only once the owner is judged dead by package
// liveness (its beat counter stood still for a lease on the candidate's
// monotonic clock), or retired, or when the holder resigns. No wall clock
// decides a hand-over.
package leader

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/liveness"
)

// Config wires an Elector.
type Config struct {
	// Store holds the election; nil means this run always leads (a
	// storage without elections).
	Store driver.Elector
	Name  string // the election
	Owner string // this run's lease owner, which must beat while it leads
	// Lease is the owner's lease: the elector campaigns every Lease/3, and
	// a leader whose campaigns all fail for a lease stops leading.
	Lease time.Duration
	// Owners judges which owners of the election's shard are dead.
	Owners interface {
		Observe(ctx context.Context) (liveness.Verdict, error)
	}
	Now    func() time.Time // stamps the stored hand-over time only
	Logger *slog.Logger
}

// Elector campaigns until Stop.
type Elector struct {
	cfg     Config
	leading atomic.Bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu        sync.Mutex
	seat      driver.LeaderState // as last seen
	confirmed time.Time          // monotonic: the last campaign that kept or won the seat
}

// Start campaigns once (so a lone process leads from the start) and then
// every Lease/3 until Stop.
func Start(ctx context.Context, cfg Config) *Elector {
	runCtx, cancel := context.WithCancel(context.Background())
	e := &Elector{cfg: cfg, cancel: cancel}
	if cfg.Store == nil {
		e.leading.Store(true)
		return e
	}
	e.campaign(ctx)
	e.wg.Go(func() { e.run(runCtx) })
	return e
}

// Leading reports whether this run leads now.
func (e *Elector) Leading() bool { return e.leading.Load() }

// Seat reports the holder of the seat as last seen by a campaign.
func (e *Elector) Seat() driver.LeaderState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seat
}

// Stop ends the campaigns and, when this run leads, resigns so that another
// process takes the seat at its next campaign. Resigning gives up when ctx
// ends: the seat then passes once the owner is judged dead or retired.
func (e *Elector) Stop(ctx context.Context) {
	e.cancel()
	e.wg.Wait()
	was := e.leading.Swap(false)
	if e.cfg.Store == nil || !was {
		return
	}
	if err := e.cfg.Store.Resign(ctx, e.cfg.Name, e.cfg.Owner); err != nil {
		e.cfg.Logger.Warn("resign the maintenance leadership", "err", err)
		return
	}
	e.cfg.Logger.Info("resigned the maintenance leadership", "owner", e.cfg.Owner)
}

func (e *Elector) run(ctx context.Context) {
	t := time.NewTicker(e.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			e.campaign(ctx)
		case <-ctx.Done():
			return
		}
	}
}

// campaignTimeoutShare is the part of a lease one campaign may take: a
// store that does not answer (a host cut off the database, whose calls
// would otherwise wait for TCP to give up) fails the campaign, so a leader
// that cannot confirm its seat stops leading after a lease, as others may
// judge it dead by then.
const campaignTimeoutShare = 2

// campaign asks for the seat with the owners judged dead now, and updates
// Leading from the answer.
func (e *Elector) campaign(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Lease/campaignTimeoutShare)
	defer cancel()
	var dead []string
	if v, err := e.cfg.Owners.Observe(ctx); err == nil {
		dead = v.Dead
	} else if ctx.Err() == nil {
		e.cfg.Logger.Warn("read lease owners for the leader election", "err", err)
	}
	seat, err := e.cfg.Store.Elect(ctx, driver.ElectParams{Name: e.cfg.Name, Owner: e.cfg.Owner, Dead: dead, Now: e.cfg.Now()})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			e.cfg.Logger.Warn("leader election failed", "err", err)
		}
		e.unconfirmed()
		return
	}
	e.mu.Lock()
	e.seat = seat
	won := seat.Owner == e.cfg.Owner
	if won {
		e.confirmed = time.Now()
	}
	e.mu.Unlock()
	e.set(won, seat)
}

// unconfirmed drops the leadership when no campaign has kept it for a
// lease: others may judge this owner dead by then.
func (e *Elector) unconfirmed() {
	e.mu.Lock()
	stale := time.Since(e.confirmed) >= e.cfg.Lease
	seat := e.seat
	e.mu.Unlock()
	if stale {
		e.set(false, seat)
	}
}

func (e *Elector) set(leading bool, seat driver.LeaderState) {
	if e.leading.Swap(leading) == leading {
		return
	}
	if leading {
		e.cfg.Logger.Info("this process leads the shared maintenance", "owner", e.cfg.Owner, "term", seat.Term)
	} else {
		e.cfg.Logger.Info("this process no longer leads the shared maintenance", "owner", e.cfg.Owner, "leader", seat.Owner)
	}
}
