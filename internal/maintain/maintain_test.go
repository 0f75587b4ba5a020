package maintain_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/internal/liveness"
	"github.com/queue-sqlite/queuesqlite/internal/maintain"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// t0 is where every test's fake clock starts.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// off is a cadence no test waits for, for the duties a test is not about.
const off = time.Hour

// ownerlessWatch is how long the tests' trackers watch a lease holder with
// no liveness row before it counts as dead.
const ownerlessWatch = 10 * time.Millisecond

// clock is the one clock of a test: the database only sees its times.
type clock struct{ us atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}

func (c *clock) now() time.Time  { return time.UnixMicro(c.us.Load()).UTC() }
func (c *clock) set(t time.Time) { c.us.Store(t.UnixMicro()) }

func openShard(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// msgSpec describes one row to set up through the driver.
type msgSpec struct {
	id          string
	maxAttempts int
	runAt       time.Time // after t0: inserted scheduled
	expireAt    time.Time
}

func insert(t *testing.T, db *sqlite.DB, s msgSpec) {
	t.Helper()
	status, runAt := queuetype.StatusPending, t0
	if s.runAt.After(t0) {
		status, runAt = queuetype.StatusScheduled, s.runAt
	}
	if s.maxAttempts == 0 {
		s.maxAttempts = 3
	}
	m := &queuetype.Message{
		ID: s.id, Type: queuetype.TypeTask, Status: status, Destination: "d", Source: queuetype.SourceDefault,
		Content: []byte(`{}`), Priority: queuetype.PriorityNormal, CreatedAt: t0, UpdatedAt: t0,
		RunAt: runAt, ExpireAt: s.expireAt, MaxAttempts: s.maxAttempts,
	}
	if err := db.Insert(context.Background(), driver.InsertParams{Messages: []*queuetype.Message{m}}); err != nil {
		t.Fatal(err)
	}
}

// claimOne claims the oldest ready message for owner with a lease until.
func claimOne(t *testing.T, db *sqlite.DB, owner string, now, until time.Time) *queuetype.Message {
	t.Helper()
	ms, err := db.Claim(context.Background(), driver.ClaimParams{Destinations: []string{"d"}, Max: 1,
		Owner: owner, Now: now, LeaseUntil: until, Me: "me"})
	if err != nil || len(ms) != 1 {
		t.Fatalf("claim: %d messages, %v; want 1", len(ms), err)
	}
	return ms[0]
}

func get(t *testing.T, db *sqlite.DB, id string) *queuetype.Message {
	t.Helper()
	m, err := db.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// events records the maintainer's callbacks.
type events struct {
	mu       sync.Mutex
	lost     []int64
	finished map[string]queuetype.Status
	ready    int
}

func (e *events) leaseLost(h maintain.Held) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lost = append(e.lost, h.Seq)
}

func (e *events) finishedFn(ms []*queuetype.Message) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished == nil {
		e.finished = map[string]queuetype.Status{}
	}
	for _, m := range ms {
		e.finished[m.ID] = m.Status
	}
}

func (e *events) readyFn() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ready++
}

func (e *events) snapshot() (lost []int64, finished map[string]queuetype.Status, ready int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fin := map[string]queuetype.Status{}
	for k, v := range e.finished {
		fin[k] = v
	}
	return slices.Clone(e.lost), fin, e.ready
}

// config returns a Config over store d with every duty off; tests turn on
// the one they exercise.
func config(d driver.Driver, c *clock, ev *events) maintain.Config {
	return maintain.Config{
		Store: d, Now: c.now, Me: "me", Owner: "me-run", Lease: off, Interval: off, CleanupEvery: off,
		Owners: liveness.New(d, "me-run", ownerlessWatch), Retention: map[queuetype.Status]time.Duration{},
		Leased:    func() []maintain.Held { return nil },
		LeaseLost: ev.leaseLost, Finished: ev.finishedFn, Ready: ev.readyFn,
		Logger: slog.New(slog.DiscardHandler),
	}
}

func start(t *testing.T, cfg maintain.Config) *maintain.Maintainer {
	t.Helper()
	m := maintain.Start(cfg)
	t.Cleanup(func() { stop(t, m) }) // runs before the shards close
	return m
}

// stop stops m; if Stop hangs, it prints every goroutine's stack at once
// (instead of at the test binary's timeout) so the culprit can be found.
func stop(t *testing.T, m *maintain.Maintainer) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Stop(context.Background())
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		buf := make([]byte, 1<<20)
		fmt.Fprintf(os.Stderr, "%s: Maintainer.Stop did not return within 30s; goroutines:\n%s\n",
			t.Name(), buf[:runtime.Stack(buf, true)])
		t.Fatal("Maintainer.Stop did not return")
	}
}

// waitFor polls cond until it holds, failing the test after 30s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestMaintainer_HeartbeatExtendsLeasesAndReportsLost(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	clk := newClock(t0)
	insert(t, db, msgSpec{id: "taken"})
	insert(t, db, msgSpec{id: "held"})
	taken := claimOne(t, db, "me-run", t0, t0.Add(time.Second))
	held := claimOne(t, db, "me-run", t0, t0.Add(20*time.Second))

	// "taken" outlives its lease; it is rescued and another worker claims it.
	clk.set(t0.Add(10 * time.Second))
	// me-run has no liveness row yet: its expired lease is rescued, the live one kept.
	if _, err := db.Rescue(context.Background(), driver.MaintainParams{Now: clk.now(), Limit: 10, Me: "me",
		Ownerless: []string{"me-run"}}); err != nil {
		t.Fatal(err)
	}
	stolen := claimOne(t, db, "other-run", clk.now(), clk.now().Add(time.Hour))
	if stolen.ID != "taken" {
		t.Fatalf("other worker claimed %s, want taken", stolen.ID)
	}

	ev := &events{}
	cfg := config(db, clk, ev)
	cfg.Lease = 30 * time.Millisecond // heartbeat every 10ms
	cfg.Leased = func() []maintain.Held {
		return []maintain.Held{{Seq: taken.Seq, Attempt: taken.Attempt}, {Seq: held.Seq, Attempt: held.Attempt}}
	}
	start(t, cfg)

	waitFor(t, "the lost lease to be reported", func() bool { lost, _, _ := ev.snapshot(); return len(lost) > 0 })
	// Move the clock past the held lease's original expiry: only a renewal
	// by the heartbeat keeps it alive.
	later := t0.Add(time.Hour)
	clk.set(later)
	want := later.Add(cfg.Lease)
	waitFor(t, "the held lease to be renewed", func() bool { return get(t, db, "held").LeaseExpiry.Equal(want) })

	lost, _, _ := ev.snapshot()
	for _, seq := range lost {
		if seq != taken.Seq {
			t.Fatalf("LeaseLost reported seq %d, want only %d (the taken one); held is %d", seq, taken.Seq, held.Seq)
		}
	}
	got := get(t, db, "taken")
	if got.LeaseOwner != "other-run" || !got.LeaseExpiry.Equal(t0.Add(10*time.Second).Add(time.Hour)) {
		t.Fatalf("taken: lease %s until %v; the heartbeat must not touch another owner's lease", got.LeaseOwner, got.LeaseExpiry)
	}
	if h := get(t, db, "held"); h.Status != queuetype.StatusProcessing || h.LeaseOwner != "me-run" {
		t.Fatalf("held: %s by %q, want processing by me-run", h.Status, h.LeaseOwner)
	}
}

// Given rows -> want rows for one pass of rescue and expiry.
func TestMaintainer_RescueAndExpire(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Minute)
	rows := []struct {
		spec         msgSpec
		leaseUntil   time.Time // claimed by a dead worker with this lease; zero = not claimed
		want         queuetype.Status
		wantFinished bool
	}{
		{msgSpec{id: "lease-expired-retry", maxAttempts: 3}, t0.Add(time.Second), queuetype.StatusPending, false},
		{msgSpec{id: "lease-expired-last-attempt", maxAttempts: 1}, t0.Add(time.Second), queuetype.StatusFailed, true},
		{msgSpec{id: "lease-live"}, t0.Add(time.Hour), queuetype.StatusProcessing, false},
		{msgSpec{id: "pending-overdue", expireAt: t0.Add(time.Second)}, time.Time{}, queuetype.StatusExpired, true},
		{msgSpec{id: "scheduled-overdue", runAt: t0.Add(time.Hour), expireAt: t0.Add(time.Second)}, time.Time{}, queuetype.StatusExpired, true},
		{msgSpec{id: "pending-not-yet", expireAt: t0.Add(time.Hour)}, time.Time{}, queuetype.StatusPending, false},
		{msgSpec{id: "pending-no-expiry"}, time.Time{}, queuetype.StatusPending, false},
	}
	db := openShard(t)
	for _, r := range rows { // the claimed ones first, so each claim takes its own
		if !r.leaseUntil.IsZero() {
			insert(t, db, r.spec)
			if m := claimOne(t, db, "dead-run", t0, r.leaseUntil); m.ID != r.spec.id {
				t.Fatalf("claimed %s, want %s", m.ID, r.spec.id)
			}
		}
	}
	for _, r := range rows {
		if r.leaseUntil.IsZero() {
			insert(t, db, r.spec)
		}
	}

	ev := &events{}
	cfg := config(db, newClock(now), ev)
	cfg.Interval = 2 * time.Millisecond
	start(t, cfg)

	waitFor(t, "rescue and expiry", func() bool {
		_, fin, _ := ev.snapshot()
		n := 0
		for _, r := range rows {
			if r.wantFinished {
				n++
			}
		}
		return len(fin) == n
	})
	_, fin, ready := ev.snapshot()
	for _, r := range rows {
		got := get(t, db, r.spec.id)
		if got.Status != r.want {
			t.Errorf("%s: status %s, want %s", r.spec.id, got.Status, r.want)
		}
		if st, ok := fin[r.spec.id]; ok != r.wantFinished || (ok && st != r.want) {
			t.Errorf("%s: Finished got (%s, %v), want (%s, %v)", r.spec.id, st, ok, r.want, r.wantFinished)
		}
	}
	if ready == 0 {
		t.Error("Ready not called after a rescue made a message pending")
	}
	if got := get(t, db, "lease-expired-retry"); got.LeaseOwner != "" || got.Attempt != 1 {
		t.Errorf("rescued message: lease owner %q, attempt %d; want none, 1 (the lost attempt counted)", got.LeaseOwner, got.Attempt)
	}
}

// promoteSpy is the real shard, counting the promoter's passes.
type promoteSpy struct {
	driver.Driver
	passes atomic.Int32
}

func (p *promoteSpy) Promote(ctx context.Context, mp driver.MaintainParams) (int, error) {
	defer p.passes.Add(1)
	return p.Driver.Promote(ctx, mp)
}

func TestMaintainer_PromotesAtDueTimeAfterWake(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	spy := &promoteSpy{Driver: db}
	clk := newClock(t0)
	due := t0.Add(time.Minute)
	insert(t, db, msgSpec{id: "later", runAt: due})

	ev := &events{}
	m := start(t, config(spy, clk, ev))

	// The first pass runs at start; then the promoter sleeps towards the due
	// time (a minute of real time away: only a wake brings it back sooner).
	waitFor(t, "the first promoter pass", func() bool { return spy.passes.Load() >= 1 })
	m.WakePromoter()
	waitFor(t, "the woken pass", func() bool { return spy.passes.Load() >= 2 })
	if got := get(t, db, "later").Status; got != queuetype.StatusScheduled {
		t.Fatalf("before its due time: status %s, want scheduled", got)
	}
	if _, _, ready := ev.snapshot(); ready != 0 {
		t.Fatalf("Ready called %d times before anything was due", ready)
	}

	clk.set(due)
	m.WakePromoter()
	waitFor(t, "promotion", func() bool { _, _, ready := ev.snapshot(); return ready > 0 })
	if got := get(t, db, "later").Status; got != queuetype.StatusPending {
		t.Fatalf("at its due time: status %s, want pending", got)
	}
	if _, _, ready := ev.snapshot(); ready != 1 {
		t.Fatalf("Ready called %d times, want 1", ready)
	}
}

func TestMaintainer_PromoterSleepsUntilNextDue(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	now := func() time.Time { return time.Now().UTC() }
	insert(t, db, msgSpec{id: "soon", runAt: now().Add(50 * time.Millisecond)})
	if got := get(t, db, "soon").Status; got != queuetype.StatusScheduled {
		t.Fatalf("inserted as %s, want scheduled", got)
	}

	ev := &events{}
	cfg := config(db, newClock(t0), ev)
	cfg.Now = now // the real clock: the promoter must wake by itself
	start(t, cfg)

	// Interval is an hour and nothing wakes the promoter: only sleeping
	// until the due time gets the message promoted within the deadline.
	waitFor(t, "promotion at the due time", func() bool { _, _, ready := ev.snapshot(); return ready > 0 })
	if got := get(t, db, "soon").Status; got != queuetype.StatusPending {
		t.Fatalf("status %s, want pending", got)
	}
}

// Given finished rows -> the rows cleanup keeps.
func TestMaintainer_CleanupByRetention(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	ctx := context.Background()
	finish := func(id string, status queuetype.Status, at time.Time) {
		t.Helper()
		insert(t, db, msgSpec{id: id})
		m := claimOne(t, db, "run", at, at.Add(time.Hour))
		c := &driver.Completion{Seq: m.Seq, Attempt: m.Attempt, Owner: "run", Status: status, Now: at, Me: "me"}
		if status == queuetype.StatusFailed {
			c.Error = "boom"
		}
		if err := db.Complete(ctx, []*driver.Completion{c}); err != nil || !c.Applied {
			t.Fatalf("complete %s: applied %v, %v", id, c.Applied, err)
		}
	}
	now := t0.Add(3 * time.Hour)
	rows := []struct {
		id       string
		status   queuetype.Status
		finished time.Time
		wantKept bool
	}{
		{"completed-old", queuetype.StatusCompleted, t0, false},
		{"completed-recent", queuetype.StatusCompleted, t0.Add(150 * time.Minute), true},
		{"failed-old", queuetype.StatusFailed, t0, true}, // failed rows are kept for a week
	}
	for _, r := range rows {
		finish(r.id, r.status, r.finished)
	}
	insert(t, db, msgSpec{id: "pending"})

	ev := &events{}
	cfg := config(db, newClock(now), ev)
	cfg.CleanupEvery = 2 * time.Millisecond
	cfg.Retention = map[queuetype.Status]time.Duration{
		queuetype.StatusCompleted: time.Hour,
		queuetype.StatusFailed:    7 * 24 * time.Hour,
	}
	start(t, cfg)

	waitFor(t, "cleanup", func() bool {
		_, err := db.Get(ctx, "completed-old")
		return errors.Is(err, queuetype.ErrNotFound)
	})
	for _, r := range rows {
		_, err := db.Get(ctx, r.id)
		if kept := err == nil; kept != r.wantKept {
			t.Errorf("%s: kept %v (err %v), want %v", r.id, kept, err, r.wantKept)
		}
	}
	if got := get(t, db, "pending").Status; got != queuetype.StatusPending {
		t.Errorf("pending: status %s, want untouched", got)
	}
}

func TestMaintainer_StopEndsEveryDuty(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	spy := &promoteSpy{Driver: db}
	ev := &events{}
	var leased atomic.Int32
	cfg := config(spy, newClock(t0), ev)
	cfg.Lease, cfg.Interval, cfg.CleanupEvery = 3*time.Millisecond, time.Millisecond, time.Millisecond
	cfg.Leased = func() []maintain.Held { leased.Add(1); return nil }
	m := maintain.Start(cfg)
	waitFor(t, "the duties to run", func() bool { return leased.Load() > 0 && spy.passes.Load() > 0 })

	stop(t, m)
	afterHeartbeats, afterPasses := leased.Load(), spy.passes.Load()
	m.WakePromoter() // never blocks, even after Stop
	time.Sleep(20 * time.Millisecond)
	if leased.Load() != afterHeartbeats || spy.passes.Load() != afterPasses {
		t.Fatalf("duties ran after Stop returned: heartbeats %d->%d, promoter passes %d->%d",
			afterHeartbeats, leased.Load(), afterPasses, spy.passes.Load())
	}
}

// Rescue follows the owners' beat counters, not the clock: with the clock an
// hour past every lease, the owner that keeps beating keeps its message and
// only the one whose counter stopped loses its own (failed: its last attempt).
func TestMaintainer_RescuesOnlyOwnersThatStopBeating(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	const ownerLease = 500 * time.Millisecond // the live owner beats every 100ms: only a long stall would fail the test
	insert(t, db, msgSpec{id: "live", maxAttempts: 1})
	insert(t, db, msgSpec{id: "dead", maxAttempts: 1})
	ctx := context.Background()
	for _, o := range []string{"live-run", "dead-run"} {
		if err := db.BeatOwner(ctx, driver.OwnerParams{Owner: o, Lease: ownerLease, Now: t0}); err != nil {
			t.Fatal(err)
		}
	}
	claimOne(t, db, "live-run", t0, t0.Add(time.Second))
	claimOne(t, db, "dead-run", t0, t0.Add(time.Second))
	stopBeating := make(chan struct{})
	beaten := make(chan struct{})
	go func() {
		defer close(beaten)
		tick := time.NewTicker(ownerLease / 5)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				_ = db.BeatOwner(ctx, driver.OwnerParams{Owner: "live-run", Lease: ownerLease, Now: t0})
			case <-stopBeating:
				return
			}
		}
	}()
	defer func() { close(stopBeating); <-beaten }()

	ev := &events{}
	cfg := config(db, newClock(t0.Add(time.Hour)), ev)
	cfg.Interval = 2 * time.Millisecond
	start(t, cfg)
	waitFor(t, "the dead owner's message to be failed", func() bool {
		_, fin, _ := ev.snapshot()
		return fin["dead"] == queuetype.StatusFailed
	})
	if got := get(t, db, "live"); got.Status != queuetype.StatusProcessing || got.LeaseOwner != "live-run" {
		t.Fatalf("live owner's message: %s by %q; want still processing by live-run", got.Status, got.LeaseOwner)
	}
	if got := get(t, db, "dead"); got.Status != queuetype.StatusFailed || got.Attempt != 1 {
		t.Fatalf("dead owner's message: %s attempt %d; want failed at attempt 1", got.Status, got.Attempt)
	}
}

// ownersSpy is the real shard, counting the reads of its owners.
type ownersSpy struct {
	driver.Driver
	reads atomic.Int32
}

func (o *ownersSpy) Owners(ctx context.Context) ([]driver.OwnerState, error) {
	defer o.reads.Add(1)
	return o.Driver.Owners(ctx)
}

func TestMaintainer_SharedDutiesRunOnlyWhileLeading(t *testing.T) {
	t.Parallel()
	db := openShard(t)
	now := t0.Add(3 * time.Hour)
	insert(t, db, msgSpec{id: "held-by-dead"})
	claimOne(t, db, "dead-run", t0, t0.Add(time.Second)) // never beat: rescued once watched
	insert(t, db, msgSpec{id: "overdue", expireAt: t0.Add(time.Second)})
	insert(t, db, msgSpec{id: "due", runAt: t0.Add(time.Hour)})

	spy := &ownersSpy{Driver: db}
	ev := &events{}
	cfg := config(spy, newClock(now), ev)
	cfg.Owners = liveness.New(spy, "me-run", ownerlessWatch)
	cfg.Interval, cfg.CleanupEvery = 2*time.Millisecond, 2*time.Millisecond
	var leading atomic.Bool
	cfg.Leading = leading.Load
	mt := start(t, cfg)

	// Not leading: the owners are watched, promotion runs, nothing else.
	waitFor(t, "owners watched and due message promoted", func() bool {
		return spy.reads.Load() >= 10 && get(t, db, "due").Status == queuetype.StatusPending
	})
	if got := get(t, db, "held-by-dead").Status; got != queuetype.StatusProcessing {
		t.Fatalf("rescued while not leading: %s", got)
	}
	if got := get(t, db, "overdue").Status; got == queuetype.StatusExpired {
		t.Fatal("expired while not leading")
	}
	if n := mt.SharedPasses(); n != 0 {
		t.Fatalf("%d shared passes while not leading", n)
	}

	leading.Store(true)
	waitFor(t, "rescue and expiry once leading", func() bool {
		return get(t, db, "held-by-dead").Status == queuetype.StatusPending &&
			get(t, db, "overdue").Status == queuetype.StatusExpired
	})
	if mt.SharedPasses() == 0 {
		t.Fatal("no shared pass counted while leading")
	}
}

// heartbeatCall is one call a hangingStore saw.
type heartbeatCall struct {
	method   string
	bounded  bool          // its context had a deadline
	leftAt   time.Duration // how long that deadline was away when the call began
	returned error         // what the call returned (after its context ended)
}

// hangingStore is a real shard whose BeatOwner and ExtendLeases hang, as
// on a half-open connection: they wait for their context to end, then
// report the call on calls (while it has room). A call without a deadline fails at once (it
// would hang for ever), so the test fails instead of hanging.
type hangingStore struct {
	driver.Driver
	calls chan heartbeatCall
}

func (h *hangingStore) hang(ctx context.Context, method string) error {
	c := heartbeatCall{method: method}
	if deadline, ok := ctx.Deadline(); ok {
		c.bounded, c.leftAt = true, time.Until(deadline)
		<-ctx.Done()
		c.returned = ctx.Err()
	} else {
		c.returned = errors.New("unbounded call: it would hang for ever")
	}
	select {
	case h.calls <- c:
	default: // the test has what it needs
	}
	return c.returned
}

func (h *hangingStore) BeatOwner(ctx context.Context, _ driver.OwnerParams) error {
	return h.hang(ctx, "BeatOwner")
}

func (h *hangingStore) ExtendLeases(ctx context.Context, _ driver.LeaseParams) ([]int64, error) {
	return nil, h.hang(ctx, "ExtendLeases")
}

// warnings counts the warnings logged.
type warnings struct{ n atomic.Int32 }

func (w *warnings) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (w *warnings) Handle(context.Context, slog.Record) error     { w.n.Add(1); return nil }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler            { return w }
func (w *warnings) WithGroup(string) slog.Handler                 { return w }

// A store that hangs does not stop the heartbeat: each beat and lease
// renewal gives up within half a lease with a deadline error, is logged,
// and the next tick calls again.
func TestMaintainer_HeartbeatCallsAreBoundedWhenTheStoreHangs(t *testing.T) {
	t.Parallel()
	store := &hangingStore{Driver: openShard(t), calls: make(chan heartbeatCall, 64)}
	ev := &events{}
	cfg := config(store, newClock(t0), ev)
	cfg.Lease = 60 * time.Millisecond // a tick every 20ms, each call cut off after 30ms
	cfg.Leased = func() []maintain.Held { return []maintain.Held{{Seq: 1, Attempt: 1}} }
	logs := &warnings{}
	cfg.Logger = slog.New(logs)
	started := make(chan *maintain.Maintainer, 1)
	go func() { started <- maintain.Start(cfg) }() // Start beats first: it must not hang either
	next := func() heartbeatCall {
		t.Helper()
		select {
		case c := <-store.calls:
			return c
		case <-time.After(30 * time.Second):
			t.Fatal("no heartbeat call came back within 30s: a call hangs, or the heartbeat stopped")
			return heartbeatCall{}
		}
	}
	seen := map[string]int{}
	for seen["BeatOwner"] < 2 || seen["ExtendLeases"] < 2 { // a second of each: a later tick ran again
		c := next()
		if !c.bounded || c.leftAt > maintain.CallTimeout(cfg.Lease) {
			t.Fatalf("%s: bounded %v, deadline %v away; want at most %v (half the lease)",
				c.method, c.bounded, c.leftAt, maintain.CallTimeout(cfg.Lease))
		}
		if !errors.Is(c.returned, context.DeadlineExceeded) {
			t.Fatalf("%s returned %v, want its deadline", c.method, c.returned)
		}
		seen[c.method]++
	}
	select {
	case m := <-started:
		t.Cleanup(func() { stop(t, m) })
	case <-time.After(30 * time.Second):
		t.Fatal("Start did not return")
	}
	if logs.n.Load() == 0 {
		t.Fatal("the cut-off heartbeat calls were not logged")
	}
	if lost, _, _ := ev.snapshot(); len(lost) != 0 {
		t.Fatalf("a failed renewal reported leases lost: %v", lost)
	}
}
