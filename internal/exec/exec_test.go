package exec_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/exec"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// recorder collects what the executor reports, per message id.
type recorder struct {
	mu       sync.Mutex
	done     map[string]int
	abandon  map[string]int
	results  map[string]any
	errs     map[string]error
	causes   map[string]error // Job.Cause() as Done saw it
	jobs     map[string]*exec.Job
	released atomic.Int32
	onDone   func(j *exec.Job) // optional hook, runs inside Done
}

func newRecorder() *recorder {
	return &recorder{done: map[string]int{}, abandon: map[string]int{}, results: map[string]any{},
		errs: map[string]error{}, causes: map[string]error{}, jobs: map[string]*exec.Job{}}
}

func (r *recorder) Done(j *exec.Job, result any, err error) {
	if r.onDone != nil {
		r.onDone(j)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done[j.Msg.ID]++
	r.results[j.Msg.ID], r.errs[j.Msg.ID], r.jobs[j.Msg.ID] = result, err, j
	r.causes[j.Msg.ID] = j.Cause()
}

func (r *recorder) cause(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.causes[id]
}

func (r *recorder) Abandon(j *exec.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.abandon[j.Msg.ID]++
	r.jobs[j.Msg.ID] = j
}

func (r *recorder) counts(id string) (done, abandoned int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done[id], r.abandon[id]
}

func (r *recorder) outcome(id string) (any, error, *exec.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.results[id], r.errs[id], r.jobs[id]
}

func (r *recorder) total() (done, abandoned int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.done {
		done += n
	}
	for _, n := range r.abandon {
		abandoned += n
	}
	return done, abandoned
}

func setup(t *testing.T, workers int, handle func(ctx context.Context, m *queuetype.Message) (any, error)) (*exec.Executor, *recorder) {
	t.Helper()
	r := newRecorder()
	e := exec.New(exec.Config{
		Workers: workers, Handle: handle,
		Done: r.Done, Abandon: r.Abandon, Release: func() { r.released.Add(1) },
	})
	return e, r
}

func msg(id string) *queuetype.Message { return &queuetype.Message{ID: id} }

// waitFor polls cond until it holds, failing the test after 30s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitChan[T any](t *testing.T, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

func doneCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestExecutor_Outcomes(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name       string
		handle     func(context.Context, *queuetype.Message) (any, error)
		wantResult any
		wantErr    error
	}{
		{"Result", func(context.Context, *queuetype.Message) (any, error) { return 42, nil }, 42, nil},
		{"Error", func(context.Context, *queuetype.Message) (any, error) { return nil, boom }, nil, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, r := setup(t, 1, tt.handle)
			e.Submit(msg("a"))
			e.Stop(context.Background())
			res, err, j := r.outcome("a")
			if res != tt.wantResult || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Done got (%v, %v), want (%v, %v)", res, err, tt.wantResult, tt.wantErr)
			}
			if d, a := r.counts("a"); d != 1 || a != 0 {
				t.Fatalf("Done %d, Abandon %d; want 1, 0", d, a)
			}
			if j.Abandoned() || r.cause("a") != nil {
				t.Fatalf("Abandoned() = %v, Cause() in Done = %v; want false, nil", j.Abandoned(), r.cause("a"))
			}
			waitFor(t, "slot release", func() bool { return r.released.Load() == 1 })
		})
	}
}

// panickyHandler is named so the test can find it in the panic's stack.
func panickyHandler(context.Context, *queuetype.Message) (any, error) {
	var m map[string]int
	m["x"] = 1 // a runtime panic: assignment to entry in nil map
	return nil, nil
}

func TestExecutor_PanicBecomesPanicError(t *testing.T) {
	t.Parallel()
	e, r := setup(t, 1, panickyHandler)
	e.Submit(msg("a"))
	e.Stop(context.Background())

	res, err, _ := r.outcome("a")
	var pe *exec.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Done err = %#v, want a *exec.PanicError", err)
	}
	if res != nil {
		t.Fatalf("result after panic = %v, want nil", res)
	}
	if !strings.Contains(fmt.Sprint(pe.Value), "nil map") {
		t.Fatalf("panic value %v, want the runtime error", pe.Value)
	}
	if !strings.Contains(pe.Stack, "exec_test.panickyHandler") {
		t.Fatalf("stack does not name the panicking function:\n%s", pe.Stack)
	}
	if !strings.Contains(pe.Error(), "panic: ") || !strings.Contains(pe.Error(), "panickyHandler") {
		t.Fatalf("Error() = %q, want the value and the stack", pe.Error())
	}
	if d, a := r.counts("a"); d != 1 || a != 0 {
		t.Fatalf("Done %d, Abandon %d; want 1, 0", d, a)
	}
	// The worker survived the panic and released its slot.
	waitFor(t, "slot release", func() bool { return r.released.Load() == 1 })
}

func TestExecutor_PanicKeepsWorkerAlive(t *testing.T) {
	t.Parallel()
	e, r := setup(t, 1, func(_ context.Context, m *queuetype.Message) (any, error) {
		if m.ID == "panic" {
			panic("on purpose")
		}
		return "ok", nil
	})
	e.Submit(msg("panic"))
	e.Submit(msg("after"))
	e.Stop(context.Background())
	if res, err, _ := r.outcome("after"); res != "ok" || err != nil {
		t.Fatalf("job after a panic on the only worker: (%v, %v), want (ok, nil)", res, err)
	}
}

func TestExecutor_CancelCauseVisibleInHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cause error
	}{
		{"LeaseLost", fmt.Errorf("heartbeat: %w", queuetype.ErrLeaseLost)},
		{"Custom", errors.New("operator cancelled")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			started := make(chan struct{})
			e, r := setup(t, 2, func(ctx context.Context, _ *queuetype.Message) (any, error) {
				close(started)
				<-ctx.Done()
				return nil, context.Cause(ctx)
			})
			e.Submit(msg("a"))
			waitChan(t, "handler start", started)
			jobs := e.InFlight()
			if len(jobs) != 1 || jobs[0].Msg.ID != "a" {
				t.Fatalf("InFlight() = %v, want the one job", jobs)
			}
			e.Cancel(jobs[0], tt.cause)
			e.Stop(context.Background())

			_, err, j := r.outcome("a")
			if err != tt.cause {
				t.Fatalf("handler saw cause %v, want %v", err, tt.cause)
			}
			if got := r.cause("a"); got != tt.cause || j.Cause() != tt.cause {
				t.Fatalf("Job.Cause() in Done %v, after %v; want %v", got, j.Cause(), tt.cause)
			}
			if d, a := r.counts("a"); d != 1 || a != 0 {
				t.Fatalf("Done %d, Abandon %d; want 1, 0", d, a)
			}
		})
	}
}

func TestExecutor_FixedWorkersAndInFlight(t *testing.T) {
	t.Parallel()
	const workers = 3
	var running, most atomic.Int32
	release := make(chan struct{})
	e, r := setup(t, workers, func(context.Context, *queuetype.Message) (any, error) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		running.Add(-1)
		return nil, nil
	})
	// Twice as many jobs as workers: the channel holds the rest.
	var ids []string
	for i := range 2 * workers {
		id := fmt.Sprint("m", i)
		ids = append(ids, id)
		e.Submit(msg(id))
	}
	waitFor(t, "every worker busy", func() bool { return running.Load() == workers })

	var inFlight []string
	for _, j := range e.InFlight() {
		inFlight = append(inFlight, j.Msg.ID)
	}
	slices.Sort(inFlight)
	if !slices.Equal(inFlight, ids) {
		t.Fatalf("InFlight() = %v, want every submitted job %v", inFlight, ids)
	}

	close(release)
	e.Stop(context.Background())
	if got := most.Load(); got != workers {
		t.Fatalf("%d handlers ran at once, want %d (the worker count)", got, workers)
	}
	if d, a := r.total(); d != 2*workers || a != 0 {
		t.Fatalf("Done %d, Abandon %d; want %d, 0", d, a, 2*workers)
	}
	if got := e.InFlight(); len(got) != 0 {
		t.Fatalf("InFlight() after Stop has %d jobs, want 0", len(got))
	}
}

func TestExecutor_StopWaitsForHandlersBeforeDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(2)
	e, r := setup(t, 2, func(ctx context.Context, _ *queuetype.Message) (any, error) {
		started.Done()
		<-release
		return "finished", context.Cause(ctx)
	})
	e.Submit(msg("a"))
	e.Submit(msg("b"))
	started.Wait()

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		e.Stop(ctx)
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while handlers were still running before its deadline")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	waitChan(t, "Stop", stopped)

	for _, id := range []string{"a", "b"} {
		if d, a := r.counts(id); d != 1 || a != 0 {
			t.Fatalf("%s: Done %d, Abandon %d; want 1, 0", id, d, a)
		}
		// The handler ran to its end with a live context: no cause.
		if res, err, _ := r.outcome(id); res != "finished" || err != nil {
			t.Fatalf("%s: (%v, %v), want (finished, nil)", id, res, err)
		}
	}
}

func TestExecutor_StopCancelsWithErrStopping(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	e, r := setup(t, 1, func(ctx context.Context, _ *queuetype.Message) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, context.Cause(ctx)
	})
	e.Submit(msg("a"))
	waitChan(t, "handler start", started)
	e.Stop(doneCtx())

	// The handler honours its context at once, so it normally returns within
	// the stop grace (Done); a machine too loaded to run it within the grace
	// abandons it instead. Either way exactly one, and the cause is
	// ErrStopping.
	d, a := r.counts("a")
	if d+a != 1 {
		t.Fatalf("Done %d, Abandon %d; want exactly one", d, a)
	}
	_, err, j := r.outcome("a")
	if d == 1 && (!errors.Is(err, exec.ErrStopping) || !errors.Is(r.cause("a"), exec.ErrStopping)) {
		t.Fatalf("cause seen %v, Job.Cause() in Done %v; want ErrStopping", err, r.cause("a"))
	}
	if a == 1 && !errors.Is(j.Cause(), exec.ErrStopping) {
		t.Fatalf("abandoned with Cause() %v; want ErrStopping", j.Cause())
	}
}

func TestExecutor_StopAbandonsHandlersIgnoringContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(2)
	e, r := setup(t, 2, func(context.Context, *queuetype.Message) (any, error) {
		started.Done()
		<-release // ignores its context
		return "late", nil
	})
	e.Submit(msg("a"))
	e.Submit(msg("b"))
	started.Wait()
	e.Stop(doneCtx())

	for _, id := range []string{"a", "b"} {
		if d, a := r.counts(id); d != 0 || a != 1 {
			t.Fatalf("%s at Stop: Done %d, Abandon %d; want 0, 1", id, d, a)
		}
		_, _, j := r.outcome(id)
		if !j.Abandoned() || !errors.Is(j.Cause(), exec.ErrStopping) {
			t.Fatalf("%s: Abandoned() %v, Cause() %v; want true, ErrStopping", id, j.Abandoned(), j.Cause())
		}
	}
	if got := e.InFlight(); len(got) != 0 {
		t.Fatalf("InFlight() after Stop has %d jobs, want 0", len(got))
	}
	if got := r.released.Load(); got != 0 {
		t.Fatalf("%d slots released while handlers still run, want 0", got)
	}

	// The handlers return late: their outcome is discarded (no Done), and
	// only now are their slots freed.
	close(release)
	waitFor(t, "slot release", func() bool { return r.released.Load() == 2 })
	for _, id := range []string{"a", "b"} {
		if d, a := r.counts(id); d != 0 || a != 1 {
			t.Fatalf("%s after the handler returned: Done %d, Abandon %d; want 0, 1", id, d, a)
		}
	}
}

// A handler that returns right at the end of the stop grace races the
// abandonment: whichever wins, the job gets exactly one of Done and
// Abandon, and gets it before Stop returns.
func TestExecutor_StopRaceExactlyOneOutcome(t *testing.T) {
	t.Parallel()
	const jobs = 24
	// stopGrace in exec.go is 200ms; spread the returns around it.
	e, r := setup(t, jobs, func(ctx context.Context, m *queuetype.Message) (any, error) {
		<-ctx.Done()
		var i int
		fmt.Sscanf(m.ID, "m%d", &i)
		time.Sleep(180*time.Millisecond + time.Duration(i)*2*time.Millisecond)
		return nil, nil
	})
	for i := range jobs {
		e.Submit(msg(fmt.Sprint("m", i)))
	}
	waitFor(t, "every job in flight", func() bool { return len(e.InFlight()) == jobs })
	e.Stop(doneCtx())

	at := map[string][2]int{}
	for i := range jobs {
		id := fmt.Sprint("m", i)
		d, a := r.counts(id)
		at[id] = [2]int{d, a}
		if d+a != 1 {
			t.Errorf("%s at Stop: Done %d, Abandon %d; want exactly one", id, d, a)
		}
	}
	waitFor(t, "every slot released", func() bool { return r.released.Load() == jobs })
	for id, was := range at {
		if d, a := r.counts(id); d != was[0] || a != was[1] {
			t.Errorf("%s changed after Stop: Done %d->%d, Abandon %d->%d", id, was[0], d, was[1], a)
		}
	}
}

// A job whose handler returned in time is not abandoned even while its Done
// is still running (Done may wait for the completer's buffer): Stop waits
// for that Done instead of returning with the outcome not yet handed over.
func TestExecutor_StopWaitsForDoneOfReturnedJob(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	inDone := make(chan struct{})
	stopped := make(chan struct{})
	var stoppedFirst atomic.Bool
	e, r := setup(t, 1, func(ctx context.Context, _ *queuetype.Message) (any, error) {
		close(started)
		return nil, nil // returns before Stop begins, whatever the machine's speed
	})
	r.onDone = func(*exec.Job) {
		close(inDone)
		// Hold Done well past the stop grace (200ms), unless Stop returns.
		select {
		case <-stopped:
			stoppedFirst.Store(true)
		case <-time.After(time.Second):
		}
	}
	e.Submit(msg("a"))
	waitChan(t, "handler start", started)
	waitChan(t, "Done", inDone) // the handler has returned; its Done is held
	go func() {
		defer close(stopped)
		e.Stop(doneCtx())
	}()
	waitChan(t, "Stop", stopped)

	if stoppedFirst.Load() {
		t.Fatal("Stop returned while Done of a job that returned in time was still running")
	}
	if d, a := r.counts("a"); d != 1 || a != 0 {
		t.Fatalf("Done %d, Abandon %d; want 1, 0", d, a)
	}
}
