package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/queue-sqlite/queuesqlite"
)

// The job features of the demo: a workflow (dependencies), a pause, and a
// global concurrency limit.
const (
	destStep    = "pipeline_step"
	destBroken  = "broken_step"
	destPaused  = "paused_job"
	destSerial  = "serial_job"
	serialSends = 3
	// featureAttempts is the attempts the steps below cause: 4 steps of
	// the diamond, the broken step, the paused job and the serial jobs,
	// and the unique job (demo_jobs.go); the periodic job's ticks add
	// features.ticks.
	featureAttempts = 4 + 1 + 1 + serialSends + 1
)

// features is the demo's state for the job features.
type features struct {
	mu        sync.Mutex
	order     []string // the diamond's steps, as they ran
	running   atomic.Int64
	mostAtOne atomic.Int64
	ticks     int // the periodic job's ticks that ran (demo_jobs.go)
}

func (d *demo) registerFeatureHandlers() error {
	q, f := d.q, &d.features
	step := func(_ context.Context, m *queuesqlite.Message) (any, error) {
		var name string
		_ = m.Decode(&name)
		f.mu.Lock()
		f.order = append(f.order, name)
		f.mu.Unlock()
		return "done " + name, nil
	}
	broken := func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, fmt.Errorf("the upstream is gone: %w", queuesqlite.ErrSkipRetry)
	}
	serial := func(context.Context, *queuesqlite.Message) (any, error) {
		n := f.running.Add(1)
		defer f.running.Add(-1)
		for m := f.mostAtOne.Load(); n > m && !f.mostAtOne.CompareAndSwap(m, n); m = f.mostAtOne.Load() {
		}
		return "ok", nil
	}
	serialOpts := &queuesqlite.HandlerOpts{GlobalConcurrency: 1, Description: "one at a time, across processes"}
	if q.ShardCount() > 1 { // a global limit needs one shard
		serialOpts = &queuesqlite.HandlerOpts{Description: "one at a time (not in a sharded queue)"}
	}
	return errors.Join(
		q.Handle(destStep, step, &queuesqlite.HandlerOpts{Description: "one step of a workflow"}),
		q.Handle(destBroken, broken, &queuesqlite.HandlerOpts{Description: "a workflow step that fails"}),
		q.Handle(destPaused, step, &queuesqlite.HandlerOpts{Description: "runs once resumed"}),
		q.Handle(destSerial, serial, serialOpts),
	)
}

// showWorkflow runs a diamond of dependent steps (fetch, then resize and
// index, then publish) and a family whose first step fails.
func (d *demo) showWorkflow(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== workflow ==\n")
	msg := func(id, name string, deps ...string) *queuesqlite.Message {
		m := queuesqlite.NewMessage(destStep, name)
		m.ID, m.DependsOn = "demo-wf-"+id, deps
		return m
	}
	diamond := []*queuesqlite.Message{msg("fetch", "fetch"), msg("resize", "resize", "demo-wf-fetch"),
		msg("index", "index", "demo-wf-fetch"), msg("publish", "publish", "demo-wf-resize", "demo-wf-index")}
	broken := queuesqlite.NewMessage(destBroken, "download")
	broken.ID = "demo-wf-download"
	orphan := msg("unpack", "unpack", "demo-wf-download")
	group, err := d.q.SendGroup(ctx, append(diamond, broken, orphan), func(*queuesqlite.GroupResult) {})
	if err != nil {
		return err
	}
	for _, m := range append(diamond, broken, orphan) {
		if _, err := awaitMessage(ctx, d.q, m.ID); err != nil {
			return err
		}
	}
	d.features.mu.Lock()
	order := strings.Join(d.features.order, " -> ")
	d.features.mu.Unlock()
	fmt.Fprintf(d.out, "diamond ran in dependency order: %s\n", order)
	if !strings.HasPrefix(order, "fetch -> ") || !strings.HasSuffix(order, " -> publish") {
		return fmt.Errorf("workflow: steps ran as %s, want fetch first and publish last", order)
	}
	o, err := d.q.Get(ctx, orphan.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "%s failed, so %s %s without running: %s\n", broken.ID, orphan.ID, o.Status, o.LastError)
	if o.Status != queuesqlite.StatusFailed || o.Attempt != 0 {
		return fmt.Errorf("workflow: the dependant of a failed step is %s after %d attempts, want failed after 0", o.Status, o.Attempt)
	}
	r, err := d.q.GroupResult(ctx, group.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "group %s: %d completed, %d failed\n", group.ID, r.Counts[queuesqlite.StatusCompleted], r.Counts[queuesqlite.StatusFailed])
	d.expect(destStep, queuesqlite.StatusCompleted, len(diamond))
	d.expect(destStep, queuesqlite.StatusFailed, 1)
	d.expect(destBroken, queuesqlite.StatusFailed, 1)
	return nil
}

// showPause pauses a destination, shows a message sent to it waiting, then
// resumes it and sees it run.
func (d *demo) showPause(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== pause ==\n")
	if err := d.q.PauseDestination(ctx, destPaused); err != nil {
		return err
	}
	id, err := d.q.Send(ctx, queuesqlite.NewMessage(destPaused, "later"), nil)
	if err != nil {
		return err
	}
	m, err := d.q.Get(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "paused %s; a message sent to it is %s\n", destPaused, m.Status)
	if err := d.q.ResumeDestination(ctx, destPaused); err != nil {
		return err
	}
	m, err = awaitMessage(ctx, d.q, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "resumed: it %s\n", m.Status)
	d.expect(destPaused, queuesqlite.StatusCompleted, 1)
	return nil
}

// showLimit sends several messages to a destination limited to one at a
// time across every process.
func (d *demo) showLimit(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== global concurrency limit ==\n")
	if err := d.sendAndAwaitAll(ctx, destSerial, serialSends); err != nil {
		return err
	}
	d.expect(destSerial, queuesqlite.StatusCompleted, serialSends)
	if d.q.ShardCount() > 1 {
		fmt.Fprintf(d.out, "skipped: a sharded queue counts per file, so it refuses a global limit\n")
		return nil
	}
	most := d.features.mostAtOne.Load()
	fmt.Fprintf(d.out, "%d %s messages with GlobalConcurrency 1 and %d workers: at most %d ran at once\n",
		serialSends, destSerial, d.opts.workers, most)
	if most != 1 {
		return fmt.Errorf("limit: %d ran at once, want 1", most)
	}
	return nil
}

// sendAndAwaitAll sends n messages (contents 0..n-1) to dest at once,
// then waits for each to finish.
func (d *demo) sendAndAwaitAll(ctx context.Context, dest string, n int) error {
	ids := make([]string, 0, n)
	for i := range n {
		id, err := d.q.Send(ctx, queuesqlite.NewMessage(dest, i), nil)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if _, err := awaitMessage(ctx, d.q, id); err != nil {
			return err
		}
	}
	return nil
}

// awaitMessage waits for message id to finish.
func awaitMessage(ctx context.Context, q *queuesqlite.Queue, id string) (*queuesqlite.Message, error) {
	m, err := q.Wait(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("wait for %s: %w", id, err)
	}
	return m, nil
}
