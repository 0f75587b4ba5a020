package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// The demo's typed job, rate limit, named queue and middleware.
const (
	destPartner   = "call_partner_api" // rate limited
	partnerRate   = 2                  // starts per partnerPer
	partnerPer    = 500 * time.Millisecond
	partnerCalls  = 6
	destExport    = "export_archive" // the one worker of queue exportQueue
	destPing      = "ping"           // the default queue, while the export runs
	exportQueue   = "exports"
	exportWorkers = 1
	// extraAttempts is the attempts the steps below cause: the typed job,
	// the partner calls, the export and the ping.
	extraAttempts = 1 + partnerCalls + 1 + 1
)

// thumbnailJob is the demo's typed job: its Kind is its destination, so
// SendJob cannot send it to the wrong handler.
type thumbnailJob struct {
	Image int `json:"image"`
	Width int `json:"width"`
}

// Kind names the handler of thumbnailJob.
func (thumbnailJob) Kind() string { return "make_thumbnail" }

// extras is the demo's state for the steps below.
type extras struct {
	attempts  atomic.Int64  // attempts seen by the counting middleware
	failures  atomic.Int64  // failed attempts told to the error handler
	exporting chan struct{} // closed when the export has started
	exported  chan struct{} // closed to let the export finish
}

// demoQueues is the demo's worker queues beyond the default one.
func demoQueues() map[string]queuesqlite.QueueConfig {
	return map[string]queuesqlite.QueueConfig{exportQueue: {MaxWorkers: exportWorkers}}
}

// countAttempts is handler middleware that counts every attempt; the
// report checks the count against the queue's own.
func (d *demo) countAttempts(next queuesqlite.HandlerFunc) queuesqlite.HandlerFunc {
	return func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		d.extras.attempts.Add(1)
		return next(ctx, m)
	}
}

// countFailure is the demo's ErrorHandler.
func (d *demo) countFailure(context.Context, *queuesqlite.Message, error) { d.extras.failures.Add(1) }

func (d *demo) registerExtraHandlers() error {
	x := &d.extras
	x.exporting, x.exported = make(chan struct{}), make(chan struct{})
	thumbnail := func(_ context.Context, j *queuesqlite.Job[thumbnailJob]) (any, error) {
		return fmt.Sprintf("img_%05d_w%d.jpg (attempt %d of %d)", j.Args.Image, j.Args.Width, j.Attempt, j.MaxAttempts), nil
	}
	export := func(ctx context.Context, _ *queuesqlite.Message) (any, error) {
		close(x.exporting)
		select {
		case <-x.exported:
			return "archived", nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	pong := func(context.Context, *queuesqlite.Message) (any, error) { return "pong", nil }
	partner := &queuesqlite.HandlerOpts{RateLimit: partnerRate, RatePer: partnerPer, Description: "at most 2 starts per 0.5 s, across processes"}
	if d.q.ShardCount() > 1 { // a rate limit needs one shard
		partner = &queuesqlite.HandlerOpts{Description: "rate limited (not in a sharded queue)"}
	}
	return errors.Join(
		queuesqlite.HandleJob(d.q, thumbnail, &queuesqlite.HandlerOpts{Description: "a typed job"}),
		d.q.Handle(destPartner, pong, partner),
		d.q.Handle(destExport, export, &queuesqlite.HandlerOpts{Queue: exportQueue, Description: "the exports queue's one worker"}),
		d.q.Handle(destPing, pong, &queuesqlite.HandlerOpts{Description: "runs beside a busy exports queue"}),
	)
}

// showTyped sends a typed job and prints what its handler saw.
func (d *demo) showTyped(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== typed job ==\n")
	id, err := queuesqlite.SendJob(ctx, d.q, thumbnailJob{Image: 7, Width: 320}, nil, nil)
	if err != nil {
		return err
	}
	m, err := awaitMessage(ctx, d.q, id)
	if err != nil {
		return err
	}
	var result string
	if err := m.DecodeResult(&result); err != nil {
		return fmt.Errorf("typed job: %w", err)
	}
	fmt.Fprintf(d.out, "SendJob(thumbnailJob{...}) went to %s: %s\n", m.Destination, result)
	d.expect(thumbnailJob{}.Kind(), queuesqlite.StatusCompleted, 1)
	return nil
}

// showRateLimit sends calls to a destination allowed partnerRate starts
// per partnerPer and checks that the bucket spread them out.
func (d *demo) showRateLimit(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== rate limit ==\n")
	start := time.Now()
	if err := d.sendAndAwaitAll(ctx, destPartner, partnerCalls); err != nil {
		return err
	}
	took := time.Since(start)
	d.expect(destPartner, queuesqlite.StatusCompleted, partnerCalls)
	if d.q.ShardCount() > 1 {
		fmt.Fprintf(d.out, "skipped: a sharded queue counts per file, so it refuses a rate limit\n")
		return nil
	}
	// The bucket starts full: the first partnerRate start at once, each
	// later partnerRate wait one more period.
	least := time.Duration((partnerCalls-partnerRate)/partnerRate) * partnerPer
	fmt.Fprintf(d.out, "%d calls at %d per %v took %v (the bucket allows no less than %v); none failed\n",
		partnerCalls, partnerRate, partnerPer, took.Round(10*time.Millisecond), least)
	if took < least {
		return fmt.Errorf("rate limit: %d calls took %v, the limit allows no less than %v", partnerCalls, took, least)
	}
	return nil
}

// showQueues keeps the exports queue's only worker busy and shows a
// default-queue message running meanwhile: a slow queue cannot starve
// the others.
func (d *demo) showQueues(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== named queues ==\n")
	x := &d.extras
	exportID, err := d.q.Send(ctx, queuesqlite.NewMessage(destExport, "2026-archive"), nil)
	if err != nil {
		return err
	}
	if _, err := await(ctx, x.exporting, "the export to start"); err != nil {
		return err
	}
	ping, err := d.q.Send(ctx, queuesqlite.NewMessage(destPing, nil), nil)
	if err != nil {
		return err
	}
	if _, err := awaitMessage(ctx, d.q, ping); err != nil {
		return err
	}
	export, err := d.q.Get(ctx, exportID)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "queue %q (%d worker) is busy with %s (%s); a default-queue message ran meanwhile\n",
		exportQueue, exportWorkers, destExport, export.Status)
	if export.Status != queuesqlite.StatusProcessing {
		return fmt.Errorf("queues: the export is %s while the ping ran, want processing", export.Status)
	}
	close(x.exported)
	if _, err := awaitMessage(ctx, d.q, exportID); err != nil {
		return err
	}
	d.expect(destExport, queuesqlite.StatusCompleted, 1)
	d.expect(destPing, queuesqlite.StatusCompleted, 1)
	return nil
}

// checkMiddleware compares what the counting middleware saw with the
// queue's count of attempts.
func (d *demo) checkMiddleware(st *queuesqlite.Stats) error {
	seen := d.extras.attempts.Load()
	fmt.Fprintf(d.out, "middleware saw %d attempts, the error handler %d failures\n", seen, d.extras.failures.Load())
	if seen != st.Processed {
		return fmt.Errorf("middleware saw %d attempts, the queue processed %d", seen, st.Processed)
	}
	return nil
}
