package tests

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// Item 8: leases do not follow the wall clock. A real clock step is not
// allowed on a shared machine, so the stepped process gets a Config.Clock
// that runs an hour off; everything the queue stores or compares as wall
// time comes from that clock.

// A worker process is SIGKILLed while it holds messages; the process that
// rescues them runs an hour behind. Before, it waited for the dead leases
// to expire by its own clock, an hour late; now it sees the dead owner's
// heartbeat counter stand still and rescues within about one lease.
func TestClockStep_DeadWorkerIsRescuedUnderABackwardStep(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	const n = 8
	lease := time.Second
	createQueue(t, qdir, 0, n, "slow")
	raw := openRaw(t, qdir)
	victim := startChild(t, dir, "victim", "worker", workerSpec{Dir: qdir, Records: dir, Name: "victim", Workers: n,
		Lease: lease, Maintenance: 100 * time.Millisecond, StopAfter: 5 * time.Second, Handlers: map[string]string{"slow": "hold"}})
	victim.waitLines("holding ", n)
	victim.kill()
	killedAt := time.Now()

	q, err := queuesqlite.Open(qdir, &queuesqlite.Config{Workers: n, Lease: lease, MaintenanceInterval: 100 * time.Millisecond,
		Logger: testLogger(t), Clock: func() time.Time { return time.Now().Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Handle("slow", func(context.Context, *queuesqlite.Message) (any, error) { return "rescued", nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the dead worker's messages to be rescued and completed", func() bool {
		return raw.counts()[queuesqlite.StatusCompleted] == n
	})
	took := time.Since(killedAt)
	t.Logf("%d messages of a SIGKILLed worker rescued by a process 1h behind in %v (lease %v)", n, took.Round(time.Millisecond), lease)
	if bound := 30 * lease; took > bound { // generous: about one lease is expected
		t.Errorf("rescue took %v, more than %v", took, bound)
	}
	for id, r := range raw.rows("1") {
		if r.Attempt != 2 {
			t.Errorf("message %s: attempt %d, want 2 (the killed attempt counted)", id, r.Attempt)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = q.Stop(ctx)
}

// listenerSpec configures the "listener" child role: a process in listener
// group Group that prints "change <key>" for every change it delivers and
// stops on SIGTERM.
type listenerSpec struct {
	Dir   string
	Group string
	Lease time.Duration
}

func listenerRole() int {
	var spec listenerSpec
	if err := readSpec(&spec); err != nil {
		say("error spec: %v", err)
		return 2
	}
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	q, err := queuesqlite.Open(spec.Dir, &queuesqlite.Config{ListenGroup: spec.Group, Lease: spec.Lease,
		MaintenanceInterval: 20 * time.Millisecond, Logger: childLogger()})
	if err != nil {
		say("error open: %v", err)
		return 1
	}
	err = q.ListenPrefix("", func(_ context.Context, c *queuesqlite.Change) error {
		say("change %s", c.Key)
		return nil
	}, nil)
	if err == nil {
		err = q.Start(context.Background())
	}
	if err != nil {
		say("error start: %v", err)
		return 1
	}
	say("ready %d", os.Getpid())
	<-terms
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = q.Stop(ctx)
	if err := q.Close(); err != nil {
		say("error close: %v", err)
		return 1
	}
	return 0
}

// A listener group's holder (a child process, real clock) keeps its group
// while a second process of the same group runs an hour ahead: the second
// never delivers a change. Before, it took the lease at its first try (the
// holder's lease time was an hour in its past) and both delivered.
func TestClockStep_ListenerGroupHolderKeepsItsGroup(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	// The holder beats every Lease/3; only a stall of a whole lease would hand
	// its group over, so the lease is long enough that a loaded machine does
	// not stall the holder that long. The step (1h) dwarfs it either way.
	lease := 3 * time.Second
	createQueue(t, qdir, 0, 0, "none")
	holder := startChild(t, dir, "holder", "listener", listenerSpec{Dir: qdir, Group: "g", Lease: lease})
	holder.waitLine("ready ")

	q, err := queuesqlite.Open(qdir, &queuesqlite.Config{ListenGroup: "g", Lease: lease, MaintenanceInterval: 20 * time.Millisecond,
		Logger: testLogger(t), Clock: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var stolen atomic.Int32
	if err := q.ListenPrefix("", func(context.Context, *queuesqlite.Change) error { stolen.Add(1); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Change a key, one change at a time, for several leases: the stepped
	// process retries its claim every Lease/3 meanwhile.
	began, sent := time.Now(), 0
	for time.Since(began) < 3*lease || sent < 10 {
		if _, err := q.SetListenData(context.Background(), "k", sent); err != nil {
			t.Fatal(err)
		}
		sent++
		waitAlive(t, "the change to be delivered", func() bool {
			return len(holder.matching("change k")) >= sent || stolen.Load() > 0
		}, holder)
		if stolen.Load() > 0 {
			break
		}
	}
	holder.signal(syscall.SIGTERM)
	if st := holder.wait(); !holder.exitedCleanly(st) {
		t.Errorf("holder ended with %v\n%s", st, holder.stderrTail())
	}
	if got := len(holder.matching("change ")); got != sent || stolen.Load() != 0 {
		t.Errorf("holder delivered %d of %d changes; the process an hour ahead delivered %d (want 0)\n%s",
			got, sent, stolen.Load(), holder.stderrTail())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = q.Stop(ctx)
}

// A worker process runs handlers with MaxAttempts 1 while a second process,
// an hour ahead, runs the upkeep beside it. Before, the second rescued every
// healthy lease at its first pass (all "expired" by its clock), failing every
// message; now it sees the worker's counter beat and touches nothing.
func TestClockStep_ProcessAheadRescuesNoHealthyWork(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	const n = 8
	lease := 3 * time.Second // long enough that load cannot stall the worker a whole lease; the step (1h) dwarfs it
	createQueue(t, qdir, 0, 0, "slow")
	sendOnce(t, qdir, n, "slow")
	raw := openRaw(t, qdir)
	worker := startChild(t, dir, "worker", "worker", workerSpec{Dir: qdir, Records: dir, Name: "worker", Workers: n,
		Lease: lease, Maintenance: 100 * time.Millisecond, StopAfter: 200 * time.Millisecond, MaxAttempts: 1,
		Handlers: map[string]string{"slow": "hold"}})
	worker.waitLines("holding ", n)

	ahead, err := queuesqlite.Open(qdir, &queuesqlite.Config{Lease: lease, MaintenanceInterval: 20 * time.Millisecond,
		Logger: testLogger(t), Clock: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer ahead.Close()
	if err := ahead.Handle("other", func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := ahead.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Watch the worker renew its leases for more than a lease (the process
	// ahead rescues every 20ms meanwhile), unless a message leaves its hands.
	var last int64
	renewals := 0
	waitAlive(t, "the worker to renew its leases", func() bool {
		var until int64
		if err := raw.dbs[0].QueryRow(`SELECT COALESCE(max(lease_expires_at), 0) FROM messages WHERE status = ` + dbtest.SQLList(queuesqlite.StatusProcessing)).Scan(&until); err != nil {
			t.Fatal(err)
		}
		if until != last {
			last, renewals = until, renewals+1
		}
		return renewals > 4 || raw.counts()[queuesqlite.StatusProcessing] != n
	}, worker)
	if c := raw.counts(); c[queuesqlite.StatusProcessing] != n {
		t.Fatalf("the process an hour ahead took healthy work: %s", fmtCounts(c))
	}
	worker.signal(syscall.SIGTERM)
	if st := worker.wait(); !worker.exitedCleanly(st) {
		t.Errorf("worker ended with %v\n%s", st, worker.stderrTail())
	}
	for _, l := range worker.matching("cancelled ") {
		if strings.Contains(l, "leaselost=true") {
			t.Errorf("a healthy handler lost its lease: %s", l)
		}
	}
	// The held handlers return a result when Stop cancels them: each message
	// completes as its one and only attempt.
	for id, r := range raw.rows("1") {
		if r.Status != queuesqlite.StatusCompleted || r.Attempt != 1 {
			t.Errorf("message %s: %s attempt %d (%s); want completed as attempt 1", id, r.Status, r.Attempt, r.LastError.String)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = ahead.Stop(ctx)
}

// sendOnce sends n messages to dest that may run only once (MaxAttempts 1),
// so any rescue fails them.
func sendOnce(t *testing.T, dir string, n int, dest string) {
	t.Helper()
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i := range n {
		m := queuesqlite.NewMessage(dest, i)
		m.MaxAttempts = 1
		if _, err := q.Send(context.Background(), m, nil); err != nil {
			t.Fatal(err)
		}
	}
}
