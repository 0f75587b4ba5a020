package periodic

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // CRON_TZ zones without the system's database
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func mustParse(t *testing.T, expr string) Schedule {
	t.Helper()
	s, err := Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParse_NextTicks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ expr, from, want string }{
		{"@every 5m", "2026-01-01T10:03:17Z", "2026-01-01T10:05:00Z"}, // aligned, not from the start
		{"@every 5m", "2026-01-01T10:05:00Z", "2026-01-01T10:10:00Z"},
		{"0 9 * * *", "2026-01-01T08:00:00Z", "2026-01-01T09:00:00Z"},                      // UTC by default
		{"CRON_TZ=Europe/Paris 0 9 * * *", "2026-01-01T07:00:00Z", "2026-01-01T08:00:00Z"}, // 09:00 in Paris
		{"@hourly", "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"},
		{"*/15 * * * *", "2026-01-01T10:14:59Z", "2026-01-01T10:15:00Z"},
		{"@every 1.5s", "2026-01-01T10:00:00Z", "2026-01-01T10:00:01.5Z"}, // not rounded to 1s
	} {
		if got := mustParse(t, c.expr).Next(at(c.from)); !got.Equal(at(c.want)) {
			t.Errorf("%q after %s: %s, want %s", c.expr, c.from, got.Format(time.RFC3339), c.want)
		}
	}
}

func TestParse_RefusesBadExpressions(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"", "* * * *", "61 * * * *", "@every 500ms", "@every x", "@sometimes"} {
		if _, err := Parse(expr); err == nil {
			t.Errorf("Parse(%q) accepted", expr)
		}
	}
	if _, err := Every(999 * time.Millisecond); err == nil {
		t.Error("Every(999ms) accepted")
	}
}

func TestLatestTick(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ expr, last, now, want string }{
		{"* * * * *", "2026-01-01T10:00:30Z", "2026-01-01T10:00:59Z", ""},
		{"* * * * *", "2026-01-01T10:00:30Z", "2026-01-01T10:01:00Z", "2026-01-01T10:01:00Z"},
		{"* * * * *", "2026-01-01T10:01:00Z", "2026-01-01T10:11:30Z", "2026-01-01T10:11:00Z"},
		{"@hourly", "2026-01-01T00:00:00Z", "2026-01-08T05:30:00Z", "2026-01-08T05:00:00Z"},
		{"0 0 1 * *", "2020-01-01T00:00:00Z", "2026-03-15T00:00:00Z", "2026-03-01T00:00:00Z"},
		{"@every 1s", "2024-01-01T00:00:00Z", "2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"},
		// 7 min does not divide an hour: its multiples since the zero time
		// fall on 10:01, 10:08, ...
		{"@every 7m", "2026-01-01T10:01:00Z", "2026-01-01T10:07:59Z", ""},
		{"@every 7m", "2026-01-01T10:00:00Z", "2026-01-01T10:07:59Z", "2026-01-01T10:01:00Z"},
	} {
		got, ok := latestTick(mustParse(t, c.expr), at(c.last), at(c.now))
		if c.want == "" {
			if ok {
				t.Errorf("%q last %s now %s: tick %s, want none", c.expr, c.last, c.now, got)
			}
			continue
		}
		if !ok || !got.Equal(at(c.want)) {
			t.Errorf("%q last %s now %s: %s (%v), want %s", c.expr, c.last, c.now, got, ok, c.want)
		}
	}
}

// memStore is a Store in memory.
type memStore struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (m *memStore) Last(_ context.Context, name string) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.last[name]
	return t, ok, nil
}

func (m *memStore) SetLast(_ context.Context, name string, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last[name] = t
	return nil
}

func (m *memStore) get(name string) time.Time {
	t, _, _ := m.Last(context.Background(), name)
	return t
}

// rig is a scheduler on a fake clock, a memory store and a recorder of
// the ticks enqueued.
type rig struct {
	mu      sync.Mutex
	now     time.Time
	leading atomic.Bool
	store   *memStore
	sent    []time.Time
	s       *Scheduler
}

func newRig(t *testing.T) *rig {
	r := &rig{now: at("2026-01-01T10:00:30Z"), store: &memStore{last: map[string]time.Time{}}}
	r.leading.Store(true)
	r.s = New(Config{Now: r.clock, Leading: r.leading.Load, Poll: time.Millisecond, Store: r.store})
	t.Cleanup(r.s.Stop)
	return r
}

func (r *rig) clock() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now }
func (r *rig) step(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

func (r *rig) job(t *testing.T, name, expr string) Job {
	return Job{Name: name, Schedule: mustParse(t, expr), Enqueue: func(_ context.Context, tick time.Time) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.sent = append(r.sent, tick)
		return nil
	}}
}

func (r *rig) sentTicks() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.sent...)
}

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

// A run that does not lead reads and writes nothing; once it leads it
// goes on from the stored tick (another leader's), sending none twice.
func TestScheduler_OnlyTheLeaderSendsAndGoesOnFromTheStore(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.leading.Store(false)
	r.store.last["j"] = at("2026-01-01T10:00:00Z")
	r.s.Set([]Job{r.job(t, "j", "* * * * *")})
	r.step(5 * time.Minute) // 10:05:30; another leader sends, up to 10:05
	r.store.SetLast(context.Background(), "j", at("2026-01-01T10:05:00Z"))
	r.leading.Store(true)
	r.step(time.Minute)
	waitFor(t, "the 10:06 tick", func() bool { return r.store.get("j").Equal(at("2026-01-01T10:06:00Z")) })
	if got := r.sentTicks(); len(got) != 1 || !got[0].Equal(at("2026-01-01T10:06:00Z")) {
		t.Fatalf("sent %v, want the 10:06 tick only", got)
	}
}

// Removing a job with Set stops its ticks at once.
func TestScheduler_SetWithoutAJobStopsIt(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.s.Set([]Job{r.job(t, "j", "* * * * *"), r.job(t, "w", "* * * * *")})
	waitFor(t, "the first look", func() bool { return !r.store.get("j").IsZero() && !r.store.get("w").IsZero() })
	r.s.Set([]Job{r.job(t, "w", "* * * * *")})
	r.step(time.Minute)
	waitFor(t, "w's tick", func() bool { return r.store.get("w").Equal(at("2026-01-01T10:01:00Z")) })
	if got := r.sentTicks(); len(got) != 1 {
		t.Fatalf("sent %v, want w's tick only", got)
	}
}
