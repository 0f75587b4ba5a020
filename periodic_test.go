package queuesqlite_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// fakeClock is a queue clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// periodicStart is the fake clock's start: half a minute past a minute, so
// an every-minute job's ticks fall between steps of a minute.
var periodicStart = time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)

func newFakeClock() *fakeClock { return &fakeClock{t: periodicStart} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// minuteTick is the n-th minute tick after periodicStart (10:0n:00).
func minuteTick(n int) time.Time {
	return periodicStart.Truncate(time.Minute).Add(time.Duration(n) * time.Minute)
}

func clockConfig(c *fakeClock) *queuesqlite.Config {
	cfg := fastConfig()
	cfg.Clock = c.now
	return cfg
}

// everyMinute is a periodic job sending to dest every minute.
func everyMinute(name, dest string) queuesqlite.PeriodicJob {
	return queuesqlite.PeriodicJob{Name: name, Schedule: "* * * * *", Message: queuesqlite.NewMessage(dest, name)}
}

func addPeriodic(t *testing.T, q *queuesqlite.Queue, job queuesqlite.PeriodicJob) {
	t.Helper()
	if err := q.AddPeriodic(job); err != nil {
		t.Fatal(err)
	}
}

// lastTick is the stored last tick of job name, as q lists it.
func lastTick(t *testing.T, q *queuesqlite.Queue, name string) time.Time {
	t.Helper()
	infos, err := q.Periodic(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.Job.Name == name {
			return in.Last
		}
	}
	t.Fatalf("periodic job %q is not listed", name)
	return time.Time{}
}

// waitLast waits until the stored last tick of job name is want: the
// tick's message is stored before its last tick is.
func waitLast(t *testing.T, q *queuesqlite.Queue, name string, want time.Time) {
	t.Helper()
	pollUntil(t, "periodic job "+name+" at tick "+want.Format(time.TimeOnly), func() bool {
		return lastTick(t, q, name).Equal(want)
	})
}

// ticksSent fails t unless the messages stored for dest are one per tick
// of want (by RunAt).
func ticksSent(t *testing.T, q *queuesqlite.Queue, dest string, want ...time.Time) {
	t.Helper()
	ms, err := q.List(context.Background(), &queuesqlite.ListOpts{Destination: dest, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]int{}
	for _, m := range ms {
		got[m.RunAt.UnixMicro()]++
	}
	for _, w := range want {
		if got[w.UnixMicro()] != 1 {
			t.Errorf("%s: tick %s sent %d times, want once", dest, w.Format(time.TimeOnly), got[w.UnixMicro()])
		}
	}
	if len(ms) != len(want) {
		t.Errorf("%s: %d messages stored, want %d (one per tick)", dest, len(ms), len(want))
	}
}

// An every-minute job, with the clock stepped a minute at a time over five
// minutes, sends five messages, one per tick, each with its tick as RunAt.
func TestBackends_PeriodicSendsOncePerTick(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		clk := newFakeClock()
		q := s.Open(t, clockConfig(clk))
		addPeriodic(t, q, everyMinute("ping", "ping"))
		startQueue(t, q)
		waitLast(t, q, "ping", periodicStart) // first seen: ticks count from now
		var want []time.Time
		for i := 1; i <= 5; i++ {
			clk.step(time.Minute)
			waitLast(t, q, "ping", minuteTick(i))
			want = append(want, minuteTick(i))
			ticksSent(t, q, "ping", want...)
		}
		ms, err := q.List(context.Background(), &queuesqlite.ListOpts{Destination: "ping"})
		if err != nil {
			t.Fatal(err)
		}
		if ms[0].Source != "periodic" || string(ms[0].Content) != `"ping"` {
			t.Fatalf("message source %q content %s, want periodic and the template's", ms[0].Source, ms[0].Content)
		}
	})
}

// Two instances that both register the job send each tick once, also
// after the leader stops and the other takes over, and after it starts
// again.
func TestBackends_PeriodicOncePerTickAcrossInstancesAndHandOver(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		clk := newFakeClock()
		qs := []*queuesqlite.Queue{s.Open(t, clockConfig(clk)), s.Open(t, clockConfig(clk))}
		for _, q := range qs {
			addPeriodic(t, q, everyMinute("ping", "ping"))
			startQueue(t, q)
		}
		waitLast(t, qs[0], "ping", periodicStart)
		var want []time.Time
		tick := func(n int) {
			clk.step(time.Minute)
			waitLast(t, qs[0], "ping", minuteTick(n))
			want = append(want, minuteTick(n))
			ticksSent(t, qs[0], "ping", want...)
		}
		for i := 1; i <= 3; i++ {
			tick(i)
		}
		leader := qs[0]
		if !leaderInfo(t, leader).Self {
			leader = qs[1]
		}
		if err := leader.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		tick(4) // the other instance takes over and sends it
		tick(5)
		startQueue(t, leader)
		tick(6)
		tick(7)
	})
}

// Ticks missed while no instance ran are sent once, as the latest missed
// tick; a job with SkipMissed sends none of them.
func TestBackends_PeriodicMissedTicksAfterRestart(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		clk := newFakeClock()
		skip := everyMinute("skip", "skip")
		skip.SkipMissed = true
		register := func(q *queuesqlite.Queue) {
			addPeriodic(t, q, everyMinute("once", "once"))
			addPeriodic(t, q, skip)
		}
		a := s.Open(t, clockConfig(clk))
		register(a)
		startQueue(t, a)
		waitLast(t, a, "once", periodicStart)
		waitLast(t, a, "skip", periodicStart)
		clk.step(time.Minute)
		waitLast(t, a, "once", minuteTick(1))
		waitLast(t, a, "skip", minuteTick(1))
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		clk.step(10 * time.Minute) // ticks 2 to 11 missed
		b := s.Open(t, clockConfig(clk))
		register(b)
		startQueue(t, b)
		waitLast(t, b, "once", minuteTick(11))
		waitLast(t, b, "skip", minuteTick(11))
		ticksSent(t, b, "once", minuteTick(1), minuteTick(11))
		ticksSent(t, b, "skip", minuteTick(1))
		clk.step(time.Minute) // on time again: both send
		waitLast(t, b, "once", minuteTick(12))
		waitLast(t, b, "skip", minuteTick(12))
		ticksSent(t, b, "once", minuteTick(1), minuteTick(11), minuteTick(12))
		ticksSent(t, b, "skip", minuteTick(1), minuteTick(12))
	})
}

// Jobs added to a started queue run; a removed job sends no more ticks
// (while another job goes on), and added again it sends the tick missed
// meanwhile, once.
func TestBackends_PeriodicAddAndRemoveAtRunTime(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		clk := newFakeClock()
		q := s.Open(t, clockConfig(clk))
		startQueue(t, q)
		addPeriodic(t, q, everyMinute("job", "job"))
		addPeriodic(t, q, queuesqlite.PeriodicJob{Name: "witness", Every: time.Minute,
			Message: queuesqlite.NewMessage("witness", 1)})
		waitLast(t, q, "job", periodicStart)
		waitLast(t, q, "witness", periodicStart)
		clk.step(time.Minute)
		waitLast(t, q, "job", minuteTick(1))
		waitLast(t, q, "witness", minuteTick(1))
		if err := q.RemovePeriodic("job"); err != nil {
			t.Fatal(err)
		}
		if err := q.RemovePeriodic("job"); !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Fatalf("remove twice: %v, want ErrNotFound", err)
		}
		clk.step(time.Minute)
		waitLast(t, q, "witness", minuteTick(2)) // a look at the clock after the removal
		ticksSent(t, q, "job", minuteTick(1))
		ticksSent(t, q, "witness", minuteTick(1), minuteTick(2))
		addPeriodic(t, q, everyMinute("job", "job"))
		waitLast(t, q, "job", minuteTick(2))
		ticksSent(t, q, "job", minuteTick(1), minuteTick(2))
	})
}

// Bad periodic jobs are refused with ErrInvalidArgument, naming the fault.
func TestQueue_AddPeriodicRefusesBadJobs(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	msg := queuesqlite.NewMessage("dest", 1)
	withID := queuesqlite.NewMessage("dest", 1)
	withID.ID = "fixed"
	withUnique := queuesqlite.NewMessage("dest", 1)
	withUnique.Unique = &queuesqlite.UniqueOpts{Key: "k"}
	withRunAt := queuesqlite.NewMessage("dest", 1)
	withRunAt.RunAt = time.Now()
	for _, c := range []struct {
		name string
		job  queuesqlite.PeriodicJob
	}{
		{"EmptyName", queuesqlite.PeriodicJob{Schedule: "* * * * *", Message: msg}},
		{"BadCron", queuesqlite.PeriodicJob{Name: "j", Schedule: "61 * * * *", Message: msg}},
		{"CronWithSeconds", queuesqlite.PeriodicJob{Name: "j", Schedule: "0 * * * * *", Message: msg}},
		{"Garbage", queuesqlite.PeriodicJob{Name: "j", Schedule: "every day", Message: msg}},
		{"NeverFires", queuesqlite.PeriodicJob{Name: "j", Schedule: "0 0 30 2 *", Message: msg}},
		{"NoSchedule", queuesqlite.PeriodicJob{Name: "j", Message: msg}},
		{"NegativeEvery", queuesqlite.PeriodicJob{Name: "j", Every: -time.Minute, Message: msg}},
		{"EveryTooShort", queuesqlite.PeriodicJob{Name: "j", Every: time.Millisecond, Message: msg}},
		{"EveryDescriptorTooShort", queuesqlite.PeriodicJob{Name: "j", Schedule: "@every 0s", Message: msg}},
		{"BothSchedules", queuesqlite.PeriodicJob{Name: "j", Schedule: "@hourly", Every: time.Hour, Message: msg}},
		{"NoMessage", queuesqlite.PeriodicJob{Name: "j", Schedule: "@hourly"}},
		{"NoDestination", queuesqlite.PeriodicJob{Name: "j", Schedule: "@hourly", Message: queuesqlite.NewMessage("", 1)}},
		{"TemplateID", queuesqlite.PeriodicJob{Name: "j", Schedule: "@hourly", Message: withID}},
		{"TemplateUnique", queuesqlite.PeriodicJob{Name: "j", Schedule: "@hourly", Message: withUnique}},
		{"TemplateRunAt", queuesqlite.PeriodicJob{Name: "j", Schedule: "@hourly", Message: withRunAt}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := q.AddPeriodic(c.job)
			if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
				t.Fatalf("AddPeriodic: %v, want ErrInvalidArgument", err)
			}
			t.Log(err)
		})
	}
	if err := q.AddPeriodic(queuesqlite.PeriodicJob{Name: "j", Schedule: "@every 1m", Message: msg}); err != nil {
		t.Fatal(err)
	}
	err := q.AddPeriodic(queuesqlite.PeriodicJob{Name: "j", Schedule: "@daily", Message: msg})
	if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Fatalf("a taken name: %v, want ErrInvalidArgument", err)
	}
	infos, err := q.Periodic(context.Background())
	if err != nil || len(infos) != 1 || infos[0].Job.Schedule != "@every 1m" {
		t.Fatalf("listed %+v (%v), want the first job j only", infos, err)
	}
}
