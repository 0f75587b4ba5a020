// Package listen delivers listen-data changes to registered listener
// functions. One dispatcher per listener group holds the group's lease (so
// one process at a time delivers for a group), reads the change log from its
// durable cursor, and runs each key's changes in order on a lane of its own:
// a listener that fails or is slow holds up only its key. The cursor is the
// low-water mark of fully delivered changes, saved as it moves, so a process
// that restarts replays what it had not finished (at least once).
package listen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/liveness"
	"github.com/queue-sqlite/queuesqlite/internal/notify"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Func is a listener function.
type Func func(ctx context.Context, c *queuetype.Change) error

// Listener is one registered listener.
type Listener struct {
	Name        string // names it in failure records
	Key         string // the key, or with Prefix the key prefix ("" = every key)
	Prefix      bool
	Fn          Func
	LatestOnly  bool // skip a change when a newer one for the key is already waiting
	MaxAttempts int  // calls per change before it is recorded as failed
	Backoff     func(attempt int) time.Duration
}

// Matches reports whether the listener wants changes of key.
func (l *Listener) Matches(key string) bool {
	if l.Prefix {
		return strings.HasPrefix(key, l.Key)
	}
	return key == l.Key
}

// Config wires a Dispatcher.
type Config struct {
	Store     driver.ListenStore
	Group     string
	Owner     string
	Listeners []*Listener
	Now       func() time.Time
	Lease     time.Duration // group lease; renewed every Lease/3
	Poll      time.Duration // look for changes this often without a signal
	Batch     int           // changes per read
	Window    int           // most changes in flight at once
	// PruneEvery, Retention and Keep bound the change log; PruneEvery 0
	// leaves the pruning to someone else.
	PruneEvery time.Duration
	Retention  time.Duration
	Keep       int
	Logger     *slog.Logger
	// Owners judges which lease owners of the store's shard are dead: only
	// from a dead holder (never because of what the clocks say) is the
	// group's lease taken. Nil: only a free group is claimed.
	Owners interface {
		Observe(ctx context.Context) (liveness.Verdict, error)
	}
	// Abandoned is told of a listener call still running abandonGrace after
	// Stop's deadline, which Stop stopped waiting for; Late when such a call
	// returns at last. Both optional.
	Abandoned func(listener, key string, seq int64)
	Late      func(listener string)
}

// abandonGrace is how long listener calls cancelled at the stop deadline
// get to return before they are abandoned.
const abandonGrace = 200 * time.Millisecond

// Dispatcher delivers changes for one group until Stop.
type Dispatcher struct {
	cfg     Config
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	stopCtx context.Context
	mu      sync.Mutex
}

// Start launches the dispatcher. The group's first claim happens before
// Start returns, so the group's cursor exists (and changes are logged for
// it) from then on.
func Start(cfg Config) *Dispatcher {
	d := &Dispatcher{cfg: cfg, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	cursor, held, err := d.claim()
	go d.run(cursor, held, err)
	return d
}

func (d *Dispatcher) claim() (int64, bool, error) {
	p := d.lease(0)
	if d.cfg.Owners != nil {
		v, err := d.cfg.Owners.Observe(context.Background())
		if err != nil {
			d.cfg.Logger.Warn("read lease owners", "group", d.cfg.Group, "err", err)
		}
		p.Dead, p.Ownerless = v.Dead, v.Ownerless
	}
	cursor, held, err := d.cfg.Store.ClaimListenGroup(context.Background(), p)
	if err != nil {
		d.cfg.Logger.Warn("claim listener group", "group", d.cfg.Group, "err", err)
	}
	return cursor, held, err
}

// Wake tells the dispatcher that changes may be waiting.
func (d *Dispatcher) Wake() { notify.Signal(d.wake) }

// Stop stops reading changes, lets listeners finish their current change
// until ctx ends (then cancels them, and abandons those that still run
// abandonGrace later: their change stays undelivered, so it is delivered
// again), saves the cursor and releases the group's lease. It returns by
// the time hard ends even if storage is locked elsewhere; the dispatcher
// then finishes (or fails) its last writes on its own.
func (d *Dispatcher) Stop(ctx, hard context.Context) {
	d.mu.Lock()
	d.stopCtx = ctx
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	d.mu.Unlock()
	select {
	case <-d.done:
	case <-hard.Done():
		d.cfg.Logger.Warn("listener group did not stop in time (storage locked?); not waiting for it",
			"group", d.cfg.Group)
	}
}

func (d *Dispatcher) stopContext() context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopCtx
}

func (d *Dispatcher) run(cursor int64, held bool, err error) {
	defer close(d.done)
	for {
		if held {
			d.cfg.Logger.Debug("listener group claimed", "group", d.cfg.Group, "cursor", cursor)
			if stopped := d.serve(cursor); stopped {
				return
			}
		} else {
			if err == nil {
				d.cfg.Logger.Debug("listener group held by another process; standing by", "group", d.cfg.Group)
			}
			select {
			case <-time.After(d.cfg.Lease / 3):
			case <-d.stop:
				return
			}
		}
		cursor, held, err = d.claim()
	}
}

func (d *Dispatcher) lease(seq int64) driver.ListenLeaseParams {
	now := d.cfg.Now()
	return driver.ListenLeaseParams{Group: d.cfg.Group, Owner: d.cfg.Owner, Seq: seq, Now: now, Until: now.Add(d.cfg.Lease)}
}

// serve delivers changes after cursor while the lease holds. It returns
// true when the dispatcher was stopped, false when the lease was lost.
func (d *Dispatcher) serve(cursor int64) bool {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{d: d, ctx: ctx, fetched: cursor, marks: newMarks(cursor), lanes: map[string]*lane{},
		progress: make(chan struct{}, 1)}
	stopped := s.loop()
	// Let lanes finish their current change until the stop deadline.
	if stopped {
		if stopCtx := d.stopContext(); stopCtx != nil {
			s.waitLanes(stopCtx)
		}
	}
	cancel()
	s.waitLanesOrAbandon()
	if held := s.saveCursor(); held && stopped {
		if err := d.cfg.Store.ReleaseListenGroup(context.Background(), d.cfg.Group, d.cfg.Owner); err != nil {
			d.cfg.Logger.Warn("release listener group", "group", d.cfg.Group, "err", err)
		}
	}
	return stopped
}

// session is one tenure of the group lease.
type session struct {
	d        *Dispatcher
	ctx      context.Context // cancelled when the tenure ends
	fetched  int64           // the last seq read
	marks    *marks
	mu       sync.Mutex
	lanes    map[string]*lane
	lanesWG  sync.WaitGroup
	progress chan struct{} // a change finished
	saved    int64
}

func (s *session) loop() (stopped bool) {
	cfg := s.d.cfg
	poll, renew := time.NewTicker(cfg.Poll), time.NewTicker(cfg.Lease/3)
	defer poll.Stop()
	defer renew.Stop()
	var pruneC <-chan time.Time
	if cfg.PruneEvery > 0 {
		prune := time.NewTicker(cfg.PruneEvery)
		defer prune.Stop()
		pruneC = prune.C
	}
	for {
		full := s.fetch()
		if full && s.marks.inFlight() < cfg.Window {
			continue
		}
		select {
		case <-s.d.stop:
			return true
		case <-s.d.wake:
		case <-poll.C:
		case <-s.progress:
			if s.marks.low() > s.saved && !s.saveCursor() {
				return false
			}
		case <-renew.C:
			if !s.saveCursor() {
				cfg.Logger.Warn("listener group lease lost", "group", cfg.Group)
				return false
			}
		case <-pruneC:
			s.prune()
		}
	}
}

// fetch reads the next changes into their lanes; it reports whether the
// read came back full (there is probably more).
func (s *session) fetch() bool {
	cfg := s.d.cfg
	room := cfg.Window - s.marks.inFlight()
	if room <= 0 {
		return false
	}
	cs, err := cfg.Store.ListenChanges(s.ctx, s.fetched, min(room, cfg.Batch))
	if err != nil {
		cfg.Logger.Warn("read listen changes", "group", cfg.Group, "err", err)
		return false
	}
	if len(cs) > 0 && cs[0].Seq > s.fetched+1 && s.fetched > 0 {
		cfg.Logger.Warn("listen changes were pruned before this group read them",
			"group", cfg.Group, "missed_from", s.fetched+1, "missed_to", cs[0].Seq-1)
	}
	for _, c := range cs {
		s.fetched = c.Seq
		s.marks.add(c.Seq)
		s.push(c)
	}
	return len(cs) == min(room, cfg.Batch)
}

// saveCursor stores the low-water mark and renews the lease.
func (s *session) saveCursor() bool {
	low := s.marks.low()
	held, err := s.d.cfg.Store.AdvanceListenGroup(context.Background(), s.d.lease(low))
	if err != nil {
		s.d.cfg.Logger.Warn("save listener cursor", "group", s.d.cfg.Group, "err", err)
		return true // a storage hiccup is not a lost lease; try again later
	}
	if held {
		s.saved = low
	}
	return held
}

func (s *session) prune() {
	cfg := s.d.cfg
	n, err := cfg.Store.PruneListenChanges(s.ctx, driver.PruneParams{Before: cfg.Now().Add(-cfg.Retention), Keep: cfg.Keep})
	if err != nil {
		cfg.Logger.Warn("prune listen changes", "err", err)
	} else if n > 0 {
		cfg.Logger.Debug("pruned listen changes", "n", n)
	}
}

// waitLanes waits until every lane is idle or ctx ends.
func (s *session) waitLanes(ctx context.Context) {
	for s.marks.inFlight() > 0 {
		select {
		case <-s.progress:
		case <-ctx.Done():
			return
		}
	}
}

// waitLanesOrAbandon waits for the lanes to return after their context was
// cancelled, and abandons (logs and reports) the listener calls still
// running abandonGrace later.
func (s *session) waitLanesOrAbandon() {
	exited := make(chan struct{})
	go func() {
		s.lanesWG.Wait()
		close(exited)
	}()
	t := time.NewTimer(abandonGrace)
	defer t.Stop()
	select {
	case <-exited:
		return
	case <-t.C:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lanes {
		if l.calling == nil || l.abandoned {
			continue
		}
		l.abandoned = true
		c := l.queue[0]
		s.d.cfg.Logger.Warn("listener ignored its context at stop; abandoned it (the change will be delivered again)",
			"listener", l.calling.Name, "key", c.Key, "seq", c.Seq)
		if s.d.cfg.Abandoned != nil {
			s.d.cfg.Abandoned(l.calling.Name, c.Key, c.Seq)
		}
	}
}

// lane runs one key's changes in seq order.
type lane struct {
	queue     []*queuetype.Change
	running   bool
	calling   *Listener // the listener being called now, for waitLanesOrAbandon
	abandoned bool      // the session stopped waiting for the call in progress
}

func (s *session) push(c *queuetype.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lanes[c.Key]
	if l == nil {
		l = &lane{}
		s.lanes[c.Key] = l
	}
	l.queue = append(l.queue, c)
	if !l.running {
		l.running = true
		s.lanesWG.Go(func() { s.runLane(c.Key, l) })
	}
}

func (s *session) runLane(key string, l *lane) {
	for {
		s.mu.Lock()
		if len(l.queue) == 0 || s.ctx.Err() != nil {
			l.running = false
			if len(l.queue) == 0 {
				delete(s.lanes, key)
			}
			s.mu.Unlock()
			return
		}
		c := l.queue[0]
		s.mu.Unlock()
		if !s.deliver(c, l) || s.ctx.Err() != nil {
			return // stopped mid-change: it stays undelivered, replayed later
		}
		s.mu.Lock()
		l.queue = l.queue[1:]
		s.mu.Unlock()
		s.marks.done(c.Seq)
		notify.Signal(s.progress)
	}
}

// deliver gives c to every matching listener in registration order. It
// returns false if the session ended before the change was fully handled.
func (s *session) deliver(c *queuetype.Change, l *lane) bool {
	for _, lis := range s.d.cfg.Listeners {
		if s.ctx.Err() != nil {
			return false // the session ended: no further listener is called
		}
		if !lis.Matches(c.Key) || (lis.LatestOnly && s.superseded(c, l)) {
			continue
		}
		if !s.deliverTo(lis, c, l) {
			return false
		}
	}
	return true
}

// superseded reports whether a newer change of c's key exists: one waiting
// in the lane, or a stored value that is no longer c's.
func (s *session) superseded(c *queuetype.Change, l *lane) bool {
	s.mu.Lock()
	waiting := len(l.queue) > 1
	s.mu.Unlock()
	if waiting {
		return true
	}
	cur, err := s.d.cfg.Store.GetListen(s.ctx, c.Key)
	switch {
	case errors.Is(err, queuetype.ErrNotFound):
		return c.New != nil
	case err != nil:
		return false // when in doubt, deliver
	}
	return c.New == nil || !cur.Value.Equal(*c.New)
}

// deliverTo calls one listener, retrying with backoff; after MaxAttempts
// failures it records the change as failed for that listener and moves on.
func (s *session) deliverTo(lis *Listener, c *queuetype.Change, l *lane) bool {
	var err error
	for attempt := 1; attempt <= lis.MaxAttempts; attempt++ {
		if err = s.call(lis, c, l); err == nil {
			return true
		}
		if s.ctx.Err() != nil {
			return false
		}
		s.d.cfg.Logger.Warn("listener failed", "listener", lis.Name, "key", c.Key, "seq", c.Seq, "attempt", attempt, "err", err)
		if attempt < lis.MaxAttempts && !sleep(s.ctx, lis.Backoff(attempt)) {
			return false
		}
	}
	f := driver.ListenFailure{Group: s.d.cfg.Group, Listener: lis.Name, Key: c.Key, Seq: c.Seq,
		Attempts: lis.MaxAttempts, Error: err.Error(), Now: s.d.cfg.Now()}
	if rerr := s.d.cfg.Store.RecordListenFailure(context.Background(), f); rerr != nil {
		s.d.cfg.Logger.Error("record listener failure", "err", rerr)
	}
	s.d.cfg.Logger.Error("listener gave up on a change", "listener", lis.Name, "key", c.Key, "seq", c.Seq, "err", err)
	return true
}

// call runs the listener in lane l, noting it for waitLanesOrAbandon.
func (s *session) call(lis *Listener, c *queuetype.Change, l *lane) error {
	s.mu.Lock()
	l.calling = lis
	s.mu.Unlock()
	err := call(s.ctx, lis, c)
	s.mu.Lock()
	l.calling = nil
	late := l.abandoned
	l.abandoned = false
	s.mu.Unlock()
	if late {
		s.d.cfg.Logger.Warn("abandoned listener returned", "listener", lis.Name, "key", c.Key, "seq", c.Seq)
		if s.d.cfg.Late != nil {
			s.d.cfg.Late(lis.Name)
		}
	}
	return err
}

// call runs the listener, turning a panic into an error with its stack.
func call(ctx context.Context, lis *Listener, c *queuetype.Change) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	cp := *c
	return lis.Fn(ctx, &cp)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
