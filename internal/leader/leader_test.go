package leader_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/internal/leader"
	"github.com/queue-sqlite/queuesqlite/internal/liveness"
)

const election = "maintenance"

func openShard(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// beating bumps owner's liveness counter every lease/10 until the test ends
// or the returned stop is called.
func beating(t *testing.T, db *sqlite.DB, owner string, lease time.Duration) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p := driver.OwnerParams{Owner: owner, Lease: lease, Now: time.Now()}
	if err := db.BeatOwner(ctx, p); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		tk := time.NewTicker(lease / 10)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				_ = db.BeatOwner(ctx, p)
			case <-ctx.Done():
				return
			}
		}
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// observeSpy counts the elector's observations of the owners.
type observeSpy struct {
	tr *liveness.Tracker
	n  atomic.Int32
}

func (o *observeSpy) Observe(ctx context.Context) (liveness.Verdict, error) {
	defer o.n.Add(1)
	return o.tr.Observe(ctx)
}

func start(t *testing.T, db *sqlite.DB, owner string, lease time.Duration) (*leader.Elector, *observeSpy) {
	t.Helper()
	spy := &observeSpy{tr: liveness.New(db, owner, lease)}
	e := leader.Start(context.Background(), leader.Config{Store: db, Name: election, Owner: owner, Lease: lease,
		Owners: spy, Now: time.Now, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { e.Stop(context.Background()) })
	return e, spy
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestElector_WithoutElectionsAlwaysLeads(t *testing.T) {
	t.Parallel()
	e := leader.Start(context.Background(), leader.Config{Name: election, Owner: "a", Lease: time.Second})
	if !e.Leading() {
		t.Fatal("a run over a storage without elections does not lead")
	}
	e.Stop(context.Background())
}

func TestElector_OneLeadsAndStopHandsOver(t *testing.T) {
	t.Parallel()
	const lease = 300 * time.Millisecond
	db := openShard(t)
	beating(t, db, "a", lease)
	beating(t, db, "b", lease)
	a, _ := start(t, db, "a", lease)
	b, _ := start(t, db, "b", lease)
	if !a.Leading() || b.Leading() {
		t.Fatalf("leading: a %v, b %v; want only a (it campaigned first)", a.Leading(), b.Leading())
	}
	if got := b.Seat().Owner; got != "a" {
		t.Fatalf("b sees %q lead, want a", got)
	}
	a.Stop(context.Background())
	if a.Leading() {
		t.Fatal("a stopped but still leads")
	}
	waitFor(t, "b to lead after a resigned", b.Leading)
}

func TestElector_NoTakeoverFromALiveLeaderButFromADeadOne(t *testing.T) {
	t.Parallel()
	const lease = time.Second
	db := openShard(t)
	stopA := beating(t, db, "a", lease)
	beating(t, db, "b", lease)
	// a holds the seat; its process "dies" later without resigning.
	if st, err := db.Elect(context.Background(), driver.ElectParams{Name: election, Owner: "a", Now: time.Now()}); err != nil || st.Owner != "a" {
		t.Fatalf("a's campaign: %+v, %v", st, err)
	}
	b, spy := start(t, db, "b", lease)
	// Over three of a's leases of b's campaigns, b never takes the live seat.
	for spy.n.Load() < 10 {
		if b.Leading() {
			t.Fatal("b took the seat of a live leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if b.Leading() {
		t.Fatal("b took the seat of a live leader")
	}
	stopA()
	died := time.Now()
	waitFor(t, "b to lead after a died", b.Leading)
	t.Logf("b took over %v after a stopped beating (lease %v)", time.Since(died).Round(time.Millisecond), lease)
}

// hangingStore answers elections until hang is set, then never (as a
// database cut off the network): its calls return only when their context
// ends.
type hangingStore struct {
	driver.Elector
	hang atomic.Bool
}

func (h *hangingStore) Elect(ctx context.Context, p driver.ElectParams) (driver.LeaderState, error) {
	if h.hang.Load() {
		<-ctx.Done()
		return driver.LeaderState{}, ctx.Err()
	}
	return h.Elector.Elect(ctx, p)
}

// A leader whose store stops answering stops leading after about a lease,
// instead of believing it leads for as long as its calls hang.
func TestElector_LeaderStopsWhenItsStoreStopsAnswering(t *testing.T) {
	t.Parallel()
	const lease = 300 * time.Millisecond
	db := openShard(t)
	stop := beating(t, db, "a", lease)
	defer stop()
	store := &hangingStore{Elector: db}
	e := leader.Start(context.Background(), leader.Config{Store: store, Name: election, Owner: "a", Lease: lease,
		Owners: &observeSpy{tr: liveness.New(db, "a", lease)}, Now: time.Now, Logger: slog.New(slog.DiscardHandler)})
	defer e.Stop(context.Background())
	waitFor(t, "a to lead", e.Leading)
	store.hang.Store(true)
	cut := time.Now()
	waitFor(t, "a to stop leading", func() bool { return !e.Leading() })
	t.Logf("stopped leading %v after its store stopped answering (lease %v)", time.Since(cut).Round(time.Millisecond), lease)
}
