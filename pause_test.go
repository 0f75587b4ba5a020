package queuesqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// starts counts, per destination, the handlers that started.
type starts struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *starts) add(dest string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[dest]++
	return s.n[dest]
}

func (s *starts) of(dest string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[dest]
}

// counting registers handlers for dests that count their starts and
// return at once.
func counting(t *testing.T, q *queuesqlite.Queue, st *starts, opts *queuesqlite.HandlerOpts, dests ...string) {
	t.Helper()
	for _, d := range dests {
		if err := q.Handle(d, func(context.Context, *queuesqlite.Message) (any, error) {
			st.add(d)
			return d, nil
		}, opts); err != nil {
			t.Fatal(err)
		}
	}
}

func sendTo(t *testing.T, q *queuesqlite.Queue, dests ...string) []string {
	t.Helper()
	var ids []string
	for _, d := range dests {
		id, err := q.Send(context.Background(), queuesqlite.NewMessage(d, 1), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// follows waits until the running queue's worker queue claims exactly want.
func follows(t *testing.T, q *queuesqlite.Queue, queue string, want ...string) {
	t.Helper()
	pollUntil(t, "worker queue "+queue+" to claim ["+strings.Join(want, " ")+"]", func() bool {
		got, ok := q.ClaimableForTest(queue)
		return ok && slices.Equal(got, want)
	})
}

// settled waits until the claims the running queue q began before it saw
// the pauses have ended: one of those may still take a paused message (a
// process leaves it out of the claims it begins after the change), so a
// test sends what must wait only after this. Paused gives that wait.
func settled(t *testing.T, q *queuesqlite.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), backendDeadline)
	defer cancel()
	if _, err := q.Paused(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("claims begun before the pause had not ended within %v", backendDeadline)
	}
}

// wantWaiting checks that messages have not started: still pending, no
// attempt made.
func wantWaiting(t *testing.T, q *queuesqlite.Queue, ids []string) {
	t.Helper()
	for _, id := range ids {
		m, err := q.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != queuesqlite.StatusPending || m.Attempt != 0 {
			t.Fatalf("%s (%s) is %v after %d attempts while paused, want pending, never started", id, m.Destination, m.Status, m.Attempt)
		}
	}
}

func wantCompleted(t *testing.T, q *queuesqlite.Queue, ids []string) {
	t.Helper()
	for _, id := range ids {
		if m := waitFinished(t, q, id); m.Status != queuesqlite.StatusCompleted {
			t.Fatalf("%s (%s): %v, want completed", id, m.Destination, m.Status)
		}
	}
}

// A pause set in one instance stops another from starting the
// destination's messages, lets the one already running finish, and a
// resume lets the waiting ones run.
func TestBackends_PauseInOneInstanceStopsAnother(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		ctx := context.Background()
		ctl := s.Open(t, fastConfig())
		worker := s.Open(t, fastConfig())
		var st starts
		running, release := make(chan struct{}), make(chan struct{})
		if err := worker.Handle("x", func(ctx context.Context, _ *queuesqlite.Message) (any, error) {
			if st.add("x") == 1 {
				close(running)
				select {
				case <-release:
				case <-ctx.Done():
					return nil, context.Cause(ctx)
				}
			}
			return "x", nil
		}, nil); err != nil {
			t.Fatal(err)
		}
		counting(t, worker, &st, nil, "y")
		startQueue(t, worker)
		first := sendTo(t, ctl, "x")
		select {
		case <-running:
		case <-time.After(backendDeadline):
			t.Fatal("the first x message did not start")
		}

		if err := ctl.PauseDestination(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		follows(t, worker, queuesqlite.QueueDefault, "y") // the worker saw it by itself
		settled(t, worker)
		waiting := sendTo(t, ctl, "x", "x", "x")
		// y, sent last, is claimed after the x messages unless x is left
		// out of the claims: its completion closes the observation window.
		wantCompleted(t, worker, sendTo(t, ctl, "y"))
		if n := st.of("x"); n != 1 {
			t.Fatalf("%d x handlers started, want only the one running before the pause", n)
		}
		wantWaiting(t, ctl, waiting)

		close(release)
		wantCompleted(t, worker, first) // running work finishes
		if err := ctl.ResumeDestination(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		wantCompleted(t, worker, waiting)
		if n := st.of("x"); n != 4 {
			t.Fatalf("%d x handlers started, want 4", n)
		}
	})
}

// A pause is stored: a queue opened after the one that paused closed
// still leaves the destination alone, and lists the pause.
func TestBackends_PauseSurvivesReopen(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		ctx := context.Background()
		first := s.Open(t, fastConfig())
		if err := first.PauseDestination(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		q := s.Open(t, fastConfig())
		var st starts
		counting(t, q, &st, nil, "x", "y")
		startQueue(t, q)
		waiting := sendTo(t, q, "x")
		wantCompleted(t, q, sendTo(t, q, "y"))
		wantWaiting(t, q, waiting)
		if n := st.of("x"); n != 0 {
			t.Fatalf("%d x handlers started after reopening, want 0 (paused)", n)
		}
		stats, err := q.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(stats.Paused) != 1 || stats.Paused[0].Kind != queuesqlite.PauseKindDestination || stats.Paused[0].Name != "x" ||
			stats.Paused[0].Since.IsZero() {
			t.Fatalf("Stats.Paused = %+v, want the destination x with its time", stats.Paused)
		}
		if err := q.ResumeDestination(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		wantCompleted(t, q, waiting)
		if ps, err := q.Paused(ctx); err != nil || len(ps) != 0 {
			t.Fatalf("Paused after resume = %v, %v; want none", ps, err)
		}
	})
}

// Pausing a worker queue pauses exactly the destinations of the handlers
// in it, in a process that configures the queue (the one pausing need
// not); a destination paused by name stays paused when its queue resumes.
func TestBackends_PauseQueuePausesItsDestinations(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		ctx := context.Background()
		ctl := s.Open(t, fastConfig())
		cfg := fastConfig()
		cfg.Queues = map[string]queuesqlite.QueueConfig{"bulk": {MaxWorkers: 2}}
		worker := s.Open(t, cfg)
		var st starts
		counting(t, worker, &st, &queuesqlite.HandlerOpts{Queue: "bulk"}, "a", "b")
		counting(t, worker, &st, nil, "c", "d")
		startQueue(t, worker)

		if err := ctl.PauseQueue(ctx, "bulk"); err != nil {
			t.Fatal(err)
		}
		if err := ctl.PauseDestination(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		follows(t, worker, "bulk")
		follows(t, worker, queuesqlite.QueueDefault, "c", "d")
		settled(t, worker)
		bulk := sendTo(t, ctl, "a", "b")
		wantCompleted(t, worker, sendTo(t, ctl, "c", "d"))
		wantWaiting(t, ctl, bulk)

		ps, err := worker.Paused(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []queuesqlite.Pause{{Kind: queuesqlite.PauseKindDestination, Name: "b"}, {Kind: queuesqlite.PauseKindQueue, Name: "bulk"}}
		if len(ps) != len(want) {
			t.Fatalf("Paused = %+v, want %+v", ps, want)
		}
		for i := range want {
			if ps[i].Kind != want[i].Kind || ps[i].Name != want[i].Name {
				t.Fatalf("Paused = %+v, want %+v", ps, want)
			}
		}

		if err := ctl.ResumeQueue(ctx, "bulk"); err != nil {
			t.Fatal(err)
		}
		wantCompleted(t, worker, bulk[:1])
		follows(t, worker, "bulk", "a") // b is still paused by name
		wantWaiting(t, ctl, bulk[1:])
		if err := ctl.ResumeDestination(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		wantCompleted(t, worker, bulk[1:])
	})
}

// noPauser hides every optional interface of a SQLite shard, Pauser among
// them.
type noPauser struct{ driver.Driver }

func TestQueue_PauseNeedsAPauser(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "shard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := queuesqlite.New(fast(), noPauser{db})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"PauseDestination":  func() error { return q.PauseDestination(ctx, "x") },
		"ResumeDestination": func() error { return q.ResumeDestination(ctx, "x") },
		"PauseQueue":        func() error { return q.PauseQueue(ctx, "bulk") },
		"ResumeQueue":       func() error { return q.ResumeQueue(ctx, "bulk") },
	} {
		if err := call(); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("%s over a driver without Pauser: %v, want ErrInvalidArgument", name, err)
		}
	}
	if ps, err := q.Paused(ctx); err != nil || len(ps) != 0 {
		t.Errorf("Paused over a driver without Pauser = %v, %v; want none, no error", ps, err)
	}
	// The queue works: nothing is ever paused.
	var st starts
	counting(t, q, &st, nil, "x")
	start(t, q)
	wantCompleted(t, q, sendTo(t, q, "x"))
}

func TestQueue_PauseBadNames(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	ctx := context.Background()
	for name, err := range map[string]error{
		"EmptyDestination": q.PauseDestination(ctx, ""),
		"EmptyQueue":       q.PauseQueue(ctx, ""),
		"EmptyResume":      q.ResumeQueue(ctx, ""),
	} {
		if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.PauseDestination(ctx, "x"); !errors.Is(err, queuesqlite.ErrClosed) {
		t.Fatalf("PauseDestination after Close: %v, want ErrClosed", err)
	}
}

// Pausing in the process that runs the handlers holds from the moment the
// call returns: no claim after it takes the destination, without waiting
// for any signal.
func TestQueue_PauseHoldsLocallyOnReturn(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.MaintenanceInterval = time.Hour // no periodic reads of the pauses
	q, _ := setup(t, cfg)
	var st starts
	counting(t, q, &st, nil, "x", "y")
	start(t, q)
	wantCompleted(t, q, sendTo(t, q, "x")) // the run has read the (empty) pauses
	if err := q.PauseDestination(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	waiting := sendTo(t, q, "x")
	wantCompleted(t, q, sendTo(t, q, "y"))
	wantWaiting(t, q, waiting)
	if err := q.ResumeDestination(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	wantCompleted(t, q, waiting)
}

// gatedClaims is a SQLite shard whose claims wait for gate (or their
// context) once entered is signalled: a claim held up, as by a store
// another process keeps locked.
type gatedClaims struct {
	*sqlite.DB
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedClaims) Claim(ctx context.Context, p driver.ClaimParams) ([]*queuesqlite.Message, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.DB.Claim(ctx, p)
}

// CompleteAndClaim is held up as Claim is (a claim that records outcomes).
func (g *gatedClaims) CompleteAndClaim(ctx context.Context, cs []*driver.Completion, p driver.ClaimParams) ([]*queuesqlite.Message, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.DB.CompleteAndClaim(ctx, cs, p)
}

// cutAfterRead is the context key of the cancel function a gatedClaims
// calls once it has read the pauses for that context (see cutAfterPausesRead).
type cutAfterRead struct{}

// Paused reads the pauses, then cancels ctx if it asks for that: the
// caller then finds ctx ended in what it does next (wait for claims under
// way), never in the read, however slow the machine.
func (g *gatedClaims) Paused(ctx context.Context) ([]driver.PauseState, error) {
	ps, err := g.DB.Paused(ctx)
	if cancel, ok := ctx.Value(cutAfterRead{}).(context.CancelFunc); ok {
		cancel()
	}
	return ps, err
}

// cutAfterPausesRead returns a context a gatedClaims cancels once it has
// read the pauses with it.
func cutAfterPausesRead(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return context.WithValue(ctx, cutAfterRead{}, cancel)
}

// wait signals entered and waits for the gate or ctx's end.
func (g *gatedClaims) wait(ctx context.Context) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	select {
	case <-g.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A local pause waits for the claims under way (they may take the
// destination's messages), but only as long as its context: a claim held
// up by the store does not hold up Pause, Paused or Stats past theirs.
func TestQueue_PauseWaitsForClaimsUnderWayWithinItsContext(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "shard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedClaims{DB: db, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	q, err := queuesqlite.New(fast(), g)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	var st starts
	counting(t, q, &st, nil, "x")
	start(t, q)
	select {
	case <-g.entered:
	case <-time.After(testDeadline):
		t.Fatal("no claim began")
	}

	err = q.PauseDestination(cutAfterPausesRead(t), "x")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stored, but a claim under way") {
		t.Fatalf("PauseDestination with a claim held up: %v, want its context's end and that the pause is stored", err)
	}
	stats, err := q.Stats(cutAfterPausesRead(t))
	if err != nil || len(stats.Paused) != 1 || stats.Paused[0].Name != "x" {
		t.Fatalf("Stats with a claim held up = %+v, %v; want the stored pause, no error", stats, err)
	}
	// Stats read the pauses again (a newer epoch of claims): the claim
	// from before the first pause is still under way, so a pause now
	// still waits for it.
	if err := q.PauseDestination(cutAfterPausesRead(t), "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("PauseDestination again with the older claim still held up: %v, want its context's end", err)
	}

	close(g.gate) // the claim ends
	if err := q.PauseDestination(context.Background(), "x"); err != nil {
		t.Fatalf("PauseDestination once the claim ended: %v", err)
	}
	waiting := sendTo(t, q, "x")
	wantWaiting(t, q, waiting)
	if err := q.ResumeDestination(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	wantCompleted(t, q, waiting)
}
