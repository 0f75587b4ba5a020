package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/fetch"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// never is a poll interval no test waits for: only Wake (or a full batch, or
// a claim error) makes the fetcher look again.
const never = time.Hour

// store is a small in-memory stand-in for a shard: Claim hands out the
// queued messages in order, records every call, and fails on cue.
type store struct {
	mu     sync.Mutex
	queue  []*queuetype.Message
	calls  []int // the n of every Claim call
	failOn func(call int) error
	active int // Claim calls running now
	most   int // the most Claim calls ever running at once
	gate   chan struct{}
}

func (s *store) add(ms ...*queuetype.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, ms...)
}

func (s *store) claim(ctx context.Context, n int) ([]*queuetype.Message, error) {
	s.mu.Lock()
	s.calls = append(s.calls, n)
	call := len(s.calls)
	s.active++
	s.most = max(s.most, s.active)
	gate := s.gate
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failOn != nil {
		if err := s.failOn(call); err != nil {
			return nil, err
		}
	}
	k := min(n, len(s.queue))
	out := s.queue[:k:k]
	s.queue = s.queue[k:]
	return out, nil
}

func (s *store) callsSnapshot() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *store) activeNow() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

func (s *store) maxActive() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.most
}

// sink records what the fetcher hands out. Delivered messages keep their
// slot until the test releases it, like a busy worker.
type sink struct {
	mu        sync.Mutex
	delivered []*queuetype.Message
	other     []*queuetype.Message
}

func (k *sink) deliver(m *queuetype.Message) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.delivered = append(k.delivered, m)
}

func (k *sink) otherFn(m *queuetype.Message) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.other = append(k.other, m)
}

func (k *sink) counts() (delivered, other int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.delivered), len(k.other)
}

func (k *sink) ids() (delivered, other []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, m := range k.delivered {
		delivered = append(delivered, m.ID)
	}
	for _, m := range k.other {
		other = append(other, m.ID)
	}
	return delivered, other
}

func msgs(prefix string, n int, status queuetype.Status) []*queuetype.Message {
	out := make([]*queuetype.Message, n)
	for i := range out {
		out[i] = &queuetype.Message{ID: fmt.Sprintf("%s%d", prefix, i), Status: status}
	}
	return out
}

type setupOpts struct {
	slots    int
	maxBatch int
	poll     time.Duration
	minBatch int
	gather   time.Duration
	claimers int
}

// setup starts a fetcher over st and returns it with its slots and sink,
// and a channel closed when Run returns. The run's context ends with the test.
func setup(t *testing.T, st *store, o setupOpts) (*fetch.Fetcher, *fetch.Slots, *sink, <-chan struct{}, context.CancelFunc) {
	t.Helper()
	if o.poll == 0 {
		o.poll = never
	}
	slots := fetch.NewSlots(o.slots)
	k := &sink{}
	f := fetch.New(fetch.Config{
		Slots: slots, MaxBatch: o.maxBatch, Poll: o.poll, MinBatch: o.minBatch, Gather: o.gather,
		Claimers: o.claimers, Claim: st.claim, Deliver: k.deliver, Other: k.otherFn,
		Logger: slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return f, slots, k, done, cancel
}

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

func waitDone(t *testing.T, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestSlots(t *testing.T) {
	t.Parallel()
	s := fetch.NewSlots(3)
	if got := s.Free(); got != 3 {
		t.Fatalf("Free() = %d, want 3", got)
	}
	if got := s.TryAcquire(5); got != 3 {
		t.Fatalf("TryAcquire(5) = %d, want 3 (all free slots, no more)", got)
	}
	if got := s.TryAcquire(1); got != 0 {
		t.Fatalf("TryAcquire(1) with no free slot = %d, want 0", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with no free slot and a cancelled context: %v, want context.Canceled", err)
	}
	s.Release(2)
	if err := s.Acquire(context.Background()); err != nil {
		t.Fatalf("Acquire with a free slot: %v", err)
	}
	if got := s.Free(); got != 1 {
		t.Fatalf("Free() = %d, want 1", got)
	}
}

func TestFetcher_ClaimsBoundedByFreeSlotsAndMaxBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		slots    int
		maxBatch int
		want     []int // the n of each claim until every slot is taken
	}{
		{"MaxBatchSmallerThanSlots", 5, 3, []int{3, 2}},
		{"SlotsSmallerThanMaxBatch", 2, 10, []int{2}},
		{"Equal", 4, 4, []int{4}},
		{"OneAtATime", 3, 1, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := &store{}
			st.add(msgs("m", 100, queuetype.StatusProcessing)...)
			_, slots, k, _, _ := setup(t, st, setupOpts{slots: tt.slots, maxBatch: tt.maxBatch})

			waitFor(t, "every slot to be filled", func() bool { d, _ := k.counts(); return d == tt.slots })
			// Every further claim needs a free slot, and none is: the calls
			// made so far are all there will be.
			if got := st.callsSnapshot(); !slices.Equal(got, tt.want) {
				t.Fatalf("claim sizes %v, want %v", got, tt.want)
			}
			if got := slots.Free(); got != 0 {
				t.Fatalf("free slots %d, want 0", got)
			}

			// A worker finishing frees one slot: exactly one more message
			// is claimed, in a claim of one.
			slots.Release(1)
			waitFor(t, "the freed slot to be filled", func() bool { d, _ := k.counts(); return d == tt.slots+1 })
			got := st.callsSnapshot()
			if last := got[len(got)-1]; last != 1 {
				t.Fatalf("claim after one slot freed asked for %d, want 1 (calls %v)", last, got)
			}
			for _, n := range got {
				if n > tt.maxBatch || n > tt.slots {
					t.Fatalf("claim of %d exceeds MaxBatch %d or slots %d (calls %v)", n, tt.maxBatch, tt.slots, got)
				}
			}
			if d, o := k.counts(); d != tt.slots+1 || o != 0 {
				t.Fatalf("delivered %d, other %d; want %d, 0", d, o, tt.slots+1)
			}
		})
	}
}

func TestFetcher_ReturnsUnusedSlots(t *testing.T) {
	t.Parallel()
	st := &store{}
	st.add(msgs("m", 2, queuetype.StatusProcessing)...)
	_, slots, k, _, _ := setup(t, st, setupOpts{slots: 5, maxBatch: 5})

	waitFor(t, "the claim", func() bool { return len(st.callsSnapshot()) == 1 })
	// The claim asked for 5, got 2: the 3 unused slots come back.
	waitFor(t, "unused slots to come back", func() bool { return slots.Free() == 3 })
	if got := st.callsSnapshot(); !slices.Equal(got, []int{5}) {
		t.Fatalf("claim sizes %v, want [5]", got)
	}
	if d, _ := k.counts(); d != 2 {
		t.Fatalf("delivered %d, want 2", d)
	}
}

func TestFetcher_NonProcessingGoToOther(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		statuses  []queuetype.Status
		wantFree  int
		wantDeliv []string
		wantOther []string
	}{
		{"AllExpired", []queuetype.Status{queuetype.StatusExpired, queuetype.StatusExpired}, 4, nil, []string{"m0", "m1"}},
		{"Mixed", []queuetype.Status{queuetype.StatusProcessing, queuetype.StatusExpired, queuetype.StatusProcessing},
			2, []string{"m0", "m2"}, []string{"m1"}},
		{"NoneExpired", []queuetype.Status{queuetype.StatusProcessing, queuetype.StatusProcessing},
			2, []string{"m0", "m1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := &store{}
			for i, s := range tt.statuses {
				st.add(&queuetype.Message{ID: fmt.Sprint("m", i), Status: s})
			}
			_, slots, k, _, _ := setup(t, st, setupOpts{slots: 4, maxBatch: 4})

			waitFor(t, "every message to be handed out", func() bool {
				d, o := k.counts()
				return d+o == len(tt.statuses)
			})
			// Only delivered messages keep a slot; the rest are released.
			waitFor(t, "slots of non-delivered messages to come back", func() bool { return slots.Free() == tt.wantFree })
			deliv, other := k.ids()
			if !slices.Equal(deliv, tt.wantDeliv) || !slices.Equal(other, tt.wantOther) {
				t.Fatalf("delivered %v, other %v; want %v, %v", deliv, other, tt.wantDeliv, tt.wantOther)
			}
		})
	}
}

func TestFetcher_FullClaimLooksAgainWithoutSignal(t *testing.T) {
	t.Parallel()
	st := &store{}
	st.add(msgs("m", 7, queuetype.StatusProcessing)...)
	// Deliver releases the slot at once, like an instant worker.
	slots := fetch.NewSlots(3)
	var delivered atomic.Int32
	f := fetch.New(fetch.Config{
		Slots: slots, MaxBatch: 3, Poll: never,
		Claim:   st.claim,
		Deliver: func(*queuetype.Message) { delivered.Add(1); slots.Release(1) },
		Other:   func(*queuetype.Message) { t.Error("unexpected Other") },
		Logger:  slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()

	// 7 messages in claims of 3: 3 and 3 come back full, so the fetcher
	// claims again at once; the claim of 1 is short, so it then sleeps.
	waitFor(t, "every message", func() bool { return delivered.Load() == 7 })
	waitFor(t, "the short claim", func() bool { return len(st.callsSnapshot()) == 3 })
	cancel()
	waitDone(t, "Run to return", done)
	if got := st.callsSnapshot(); len(got) != 3 {
		t.Fatalf("claims %v, want 3 (the third one came back short, so no fourth without a signal)", got)
	}
}

func TestFetcher_WakesOnWake(t *testing.T) {
	t.Parallel()
	st := &store{}
	f, _, k, _, _ := setup(t, st, setupOpts{slots: 4, maxBatch: 4})

	// The first claim finds nothing; the fetcher sleeps (the poll is an hour).
	waitFor(t, "the first claim", func() bool { return len(st.callsSnapshot()) == 1 })
	st.add(msgs("m", 2, queuetype.StatusProcessing)...)

	f.Wake()
	waitFor(t, "delivery after Wake", func() bool { d, _ := k.counts(); return d == 2 })
	if got := len(st.callsSnapshot()); got != 2 {
		t.Fatalf("%d claims, want 2 (one at start, one per Wake)", got)
	}
	for range 10 {
		f.Wake() // never blocks, however often it is called
	}
}

func TestFetcher_WakesOnPoll(t *testing.T) {
	t.Parallel()
	st := &store{}
	_, _, k, _, _ := setup(t, st, setupOpts{slots: 2, maxBatch: 2, poll: 2 * time.Millisecond})

	waitFor(t, "the first claim", func() bool { return len(st.callsSnapshot()) >= 1 })
	st.add(msgs("m", 1, queuetype.StatusProcessing)...)
	// No Wake: only the poll ticker can find it.
	waitFor(t, "delivery by poll", func() bool { d, _ := k.counts(); return d == 1 })
}

func TestFetcher_OneClaimInFlight(t *testing.T) {
	t.Parallel()
	st := &store{gate: make(chan struct{})}
	st.add(msgs("m", 50, queuetype.StatusProcessing)...)
	slots := fetch.NewSlots(8)
	var delivered atomic.Int32
	f := fetch.New(fetch.Config{
		Slots: slots, MaxBatch: 2, Poll: time.Millisecond,
		Claim:   st.claim,
		Deliver: func(*queuetype.Message) { delivered.Add(1); slots.Release(1) },
		Other:   func(*queuetype.Message) {},
		Logger:  slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// Let claims through one at a time while signalling as hard as we can.
	for i := range 25 {
		waitFor(t, fmt.Sprint("claim ", i+1), func() bool { return len(st.callsSnapshot()) == i+1 })
		for range 5 {
			f.Wake()
		}
		st.gate <- struct{}{}
	}
	waitFor(t, "every message", func() bool { return delivered.Load() == 50 })
	if got := st.maxActive(); got != 1 {
		t.Fatalf("%d claims ran at once, want 1", got)
	}
}

func TestFetcher_ClaimErrorsBackOffAndRecover(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	failing.Store(true)
	storageErr := errors.New("disk I/O error")
	st := &store{failOn: func(int) error {
		if failing.Load() {
			return storageErr
		}
		return nil
	}}
	st.add(msgs("m", 3, queuetype.StatusProcessing)...)
	_, slots, k, _, _ := setup(t, st, setupOpts{slots: 4, maxBatch: 4})

	// The fetcher retries by itself (no Wake, poll an hour away)...
	waitFor(t, "three failed claims", func() bool { return len(st.callsSnapshot()) >= 3 })
	// ...giving every slot back after each failure...
	waitFor(t, "slots back after failures", func() bool { return slots.Free() == 4 })
	// ...and backing off rather than spinning: the waits double from 20ms
	// (80ms by now), so a window sees a few calls per 20ms at most, where a
	// spinning fetcher would make thousands. The bound follows the window's
	// real length, which a loaded machine stretches.
	before, from := len(st.callsSnapshot()), time.Now()
	time.Sleep(50 * time.Millisecond)
	window := time.Since(from)
	if n, most := len(st.callsSnapshot())-before, 10+int(window/(20*time.Millisecond)); n > most {
		t.Fatalf("%d claims in a %v window while failing (at most %d when backing off): not backing off", n, window, most)
	}

	failing.Store(false)
	waitFor(t, "recovery", func() bool { d, _ := k.counts(); return d == 3 })
	if d, o := k.counts(); d != 3 || o != 0 {
		t.Fatalf("delivered %d, other %d; want 3, 0", d, o)
	}
}

func TestFetcher_Exits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		slots  int
		prefil int // messages delivered (and held) before stop
		// stop ends the run, given the store's ErrClosed switch and the run's cancel.
		stop func(closed *atomic.Bool, cancel context.CancelFunc)
	}{
		{"ErrClosed", 2, 0, func(closed *atomic.Bool, _ context.CancelFunc) { closed.Store(true) }},
		{"ContextWhileIdle", 2, 0, func(_ *atomic.Bool, cancel context.CancelFunc) { cancel() }},
		{"ContextWhileWaitingForSlot", 2, 2, func(_ *atomic.Bool, cancel context.CancelFunc) { cancel() }},
		{"ContextDuringBackoff", 2, 0, func(_ *atomic.Bool, cancel context.CancelFunc) { cancel() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var closed, failing atomic.Bool
			failing.Store(tt.name == "ContextDuringBackoff")
			st := &store{failOn: func(int) error {
				switch {
				case closed.Load():
					return fmt.Errorf("claim messages: %w", queuetype.ErrClosed)
				case failing.Load():
					return errors.New("disk I/O error")
				}
				return nil
			}}
			st.add(msgs("m", tt.prefil, queuetype.StatusProcessing)...)
			f, slots, k, done, cancel := setup(t, st, setupOpts{slots: tt.slots, maxBatch: tt.slots})

			waitFor(t, "the first claim", func() bool { return len(st.callsSnapshot()) >= 1 })
			waitFor(t, "prefilled deliveries", func() bool { d, _ := k.counts(); return d == tt.prefil })
			tt.stop(&closed, cancel)
			f.Wake()
			waitDone(t, "Run to return", done)
			if tt.name == "ErrClosed" {
				if got := slots.Free(); got != tt.slots {
					t.Fatalf("free slots after ErrClosed %d, want %d", got, tt.slots)
				}
			}
		})
	}
}

func TestSlots_Gather(t *testing.T) {
	t.Parallel()
	s := fetch.NewSlots(4)
	s.TryAcquire(4)
	s.Release(1)
	if got := s.Gather(3, 0); got != 1 {
		t.Fatalf("Gather without a wait took %d, want the 1 free slot", got)
	}
	go func() {
		s.Release(1)
		s.Release(1)
	}()
	if got := s.Gather(2, time.Hour); got != 2 {
		t.Fatalf("Gather took %d, want the 2 slots released while it waited", got)
	}
	if got := s.Gather(1, time.Millisecond); got != 0 {
		t.Fatalf("Gather with nothing released took %d, want 0 after its wait", got)
	}
}

func TestFetcher_BusyWorkersClaimInBatches(t *testing.T) {
	t.Parallel()
	st := &store{}
	st.add(msgs("m", 100, queuetype.StatusProcessing)...)
	_, slots, k, _, _ := setup(t, st, setupOpts{slots: 8, maxBatch: 8, minBatch: 4, gather: time.Hour})
	waitFor(t, "every slot filled", func() bool { d, _ := k.counts(); return d == 8 })
	// Workers finish one by one: with MinBatch 4 the fetcher waits for
	// four free slots and claims them together, not four claims of one.
	for range 4 {
		slots.Release(1)
	}
	waitFor(t, "the freed slots filled", func() bool { d, _ := k.counts(); return d == 12 })
	got := st.callsSnapshot()
	if fmt.Sprint(got) != "[8 4]" {
		t.Fatalf("claim sizes %v, want [8 4]", got)
	}
}
