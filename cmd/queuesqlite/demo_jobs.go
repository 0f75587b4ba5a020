package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// The periodic and unique jobs of the demo.
const (
	destTick        = "heartbeat"
	destRebuild     = "rebuild_index"
	demoPeriodic    = "demo-heartbeat"
	demoTicks       = 2 // ticks the demo waits for
	demoUniqueKey   = "demo/rebuild-index"
	demoUniqueSends = 3
	demoJobsPoll    = 20 * time.Millisecond // how often the demo looks for the last tick's end
)

// jobs is the demo's state for its periodic and unique jobs.
type jobs struct {
	mu      sync.Mutex
	tickAt  []time.Time   // RunAt of each tick that ran
	ticked  chan struct{} // one value per tick run
	rebuilt atomic.Int64  // runs of the unique message
}

func (d *demo) registerJobHandlers() error {
	j := &d.jobs
	j.ticked = make(chan struct{}, demoTicks)
	tick := func(_ context.Context, m *queuesqlite.Message) (any, error) {
		j.mu.Lock()
		j.tickAt = append(j.tickAt, m.RunAt)
		j.mu.Unlock()
		select {
		case j.ticked <- struct{}{}:
		default:
		}
		return "beat", nil
	}
	rebuild := func(context.Context, *queuesqlite.Message) (any, error) {
		j.rebuilt.Add(1)
		return "rebuilt", nil
	}
	return errors.Join(
		d.q.Handle(destTick, tick, &queuesqlite.HandlerOpts{Description: "sent every second by a periodic job"}),
		d.q.Handle(destRebuild, rebuild, &queuesqlite.HandlerOpts{Description: "a unique job"}),
	)
}

// showPeriodic registers a job that ticks every second, waits for two of
// its ticks to run, removes it and checks that each tick was sent once.
func (d *demo) showPeriodic(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== periodic job ==\n")
	err := d.q.AddPeriodic(queuesqlite.PeriodicJob{Name: demoPeriodic, Every: queuesqlite.PeriodicMinEvery,
		Message: queuesqlite.NewMessage(destTick, "beat")})
	if err != nil {
		return err
	}
	for i := range demoTicks {
		if _, err := await(ctx, d.jobs.ticked, fmt.Sprintf("tick %d of %s", i+1, demoPeriodic)); err != nil {
			return err
		}
	}
	if err := d.q.RemovePeriodic(demoPeriodic); err != nil {
		return err
	}
	sent, err := d.awaitDestination(ctx, destTick)
	if err != nil {
		return err
	}
	d.jobs.mu.Lock()
	at := slices.Clone(d.jobs.tickAt)
	d.jobs.mu.Unlock()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	distinct := len(slices.CompactFunc(slices.Clone(at), func(a, b time.Time) bool { return a.Equal(b) }))
	fmt.Fprintf(d.out, "%s every %v: %d ticks sent, %d run, %d distinct tick times, the first at %s\n",
		demoPeriodic, queuesqlite.PeriodicMinEvery, sent, len(at), distinct, at[0].Format("15:04:05.000"))
	if sent != len(at) || distinct != len(at) || len(at) < demoTicks {
		return fmt.Errorf("periodic: %d sent, %d run, %d distinct ticks; want each tick sent and run once", sent, len(at), distinct)
	}
	for _, t := range at {
		if !t.Equal(t.Truncate(queuesqlite.PeriodicMinEvery)) {
			return fmt.Errorf("periodic: a tick at %v, not on a multiple of %v", t, queuesqlite.PeriodicMinEvery)
		}
	}
	d.features.ticks = len(at)
	d.expect(destTick, queuesqlite.StatusCompleted, len(at))
	return nil
}

// awaitDestination waits until no message of dest is unfinished and
// returns how many it holds.
func (d *demo) awaitDestination(ctx context.Context, dest string) (int, error) {
	t := time.NewTicker(demoJobsPoll)
	defer t.Stop()
	for {
		st, err := d.q.Stats(ctx)
		if err != nil {
			return 0, err
		}
		all, open := 0, 0
		for s, n := range st.ByDestination[dest] {
			all += n
			if !s.Terminal() {
				open += n
			}
		}
		if open == 0 {
			return all, nil
		}
		if _, err := await(ctx, t.C, "the last "+dest+" message"); err != nil {
			return 0, err
		}
	}
}

// showUnique sends one unique job three times: the key blocks while the
// message is unfinished and, with States completed, after it completed.
func (d *demo) showUnique(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== unique job ==\n")
	var res []queuesqlite.SendResult
	for i := range demoUniqueSends {
		m := queuesqlite.NewMessage(destRebuild, "all")
		m.Unique = &queuesqlite.UniqueOpts{Key: demoUniqueKey, States: []queuesqlite.Status{queuesqlite.StatusCompleted}}
		r, err := d.q.SendUnique(ctx, m, nil)
		if err != nil {
			return err
		}
		res = append(res, r)
		if i == 0 {
			if _, err := awaitMessage(ctx, d.q, r.ID); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(d.out, "sent %s %d times with unique key %s (blocking while unfinished and once completed): stored once, duplicates: %v, %v\n",
		destRebuild, demoUniqueSends, demoUniqueKey, res[1].Duplicate, res[2].Duplicate)
	fmt.Fprintf(d.out, "the duplicates got the stored id: %v; it ran %d time(s)\n",
		res[1].ID == res[0].ID && res[2].ID == res[0].ID, d.jobs.rebuilt.Load())
	if res[0].Duplicate || !res[1].Duplicate || !res[2].Duplicate || res[1].ID != res[0].ID || res[2].ID != res[0].ID {
		return fmt.Errorf("unique: sends gave %+v, want one stored and two duplicates of it", res)
	}
	if n := d.jobs.rebuilt.Load(); n != 1 {
		return fmt.Errorf("unique: the job ran %d times, want once", n)
	}
	d.expect(destRebuild, queuesqlite.StatusCompleted, 1)
	return nil
}
