package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

// Destinations of the demo.
const (
	destResize   = "resize_image"
	destEmail    = "send_email"
	destIndex    = "index_document"
	destFlaky    = "fetch_weather"  // fails once, then succeeds
	destHold     = "sync_warehouse" // holds a worker until the demo lets go
	destReport   = "nightly_report" // sent with a short TTL while every worker is held
	destCharge   = "charge_card"    // fails until the "gateway" is back
	chargeTries  = 3
	demoBackoff  = 50 * time.Millisecond
	demoMaintain = 100 * time.Millisecond
)

// open opens the demo's queue in dir, which must hold no messages, and
// registers the handlers.
func (d *demo) open(cmd *cobra.Command, dir string) error {
	cfg := queuesqlite.Config{Workers: d.opts.workers, CallbackWorkers: 2,
		MaintenanceInterval: demoMaintain, Backoff: func(int) time.Duration { return demoBackoff },
		Queues: demoQueues(), HandlerMiddleware: []queuesqlite.HandlerMiddleware{d.countAttempts}, ErrorHandler: d.countFailure}
	_, cfg.Shards, _ = queueFlags(cmd)
	q, err := queuesqlite.Open(dir, &cfg)
	if err != nil {
		return err
	}
	d.q = q
	if err := d.checkEmpty(cmd.Context(), dir); err != nil {
		q.Close()
		return err
	}
	if err := errors.Join(d.registerHandlers(), d.registerFeatureHandlers(), d.registerJobHandlers(), d.registerExtraHandlers(), d.registerListener()); err != nil {
		q.Close()
		return err
	}
	fmt.Fprintf(d.out, "queue in %s (%d shard(s)), %d workers\n", dir, q.ShardCount(), d.opts.workers)
	return nil
}

func (d *demo) checkEmpty(ctx context.Context, dir string) error {
	st, err := d.q.Stats(ctx)
	if err != nil {
		return err
	}
	if n := sum(st.ByStatus); n > 0 {
		return fmt.Errorf("the demo needs an empty queue, but %s holds %d message(s); omit --dir to use a fresh temporary directory", dir, n)
	}
	return nil
}

// Contents and results of the main batch's handlers.
type (
	resizeIn  struct{ Image, Width int }
	resizeOut struct {
		Thumbnail string `json:"thumbnail"`
		Checksum  uint32 `json:"checksum"`
	}
	emailIn  struct{ To, Subject string }
	emailOut struct {
		Delivered bool   `json:"delivered"`
		To        string `json:"to"`
	}
	indexIn  struct{ Doc, Words int }
	indexOut struct {
		Terms int `json:"terms"`
	}
)

func (d *demo) registerHandlers() error {
	q := d.q
	return errors.Join(
		queuesqlite.HandleJSON(q, destResize, resize, &queuesqlite.HandlerOpts{Description: "make a thumbnail"}),
		queuesqlite.HandleJSON(q, destEmail, sendEmail, &queuesqlite.HandlerOpts{Description: "send a notification"}),
		queuesqlite.HandleJSON(q, destIndex, index, &queuesqlite.HandlerOpts{Description: "index a document"}),
		q.Handle(destFlaky, flaky, &queuesqlite.HandlerOpts{MaxAttempts: 3, Description: "fails once"}),
		q.Handle(destHold, d.hold, &queuesqlite.HandlerOpts{Description: "holds a worker"}),
		q.Handle(destReport, report, &queuesqlite.HandlerOpts{Description: "must expire, never run"}),
		q.Handle(destCharge, d.charge, &queuesqlite.HandlerOpts{MaxAttempts: chargeTries, Description: "needs the gateway"}),
	)
}

func resize(_ context.Context, in resizeIn) (resizeOut, error) {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%d", in.Image, in.Width)
	return resizeOut{Thumbnail: fmt.Sprintf("img_%05d_w%d.jpg", in.Image, in.Width), Checksum: h.Sum32()}, nil
}

func sendEmail(_ context.Context, in emailIn) (emailOut, error) {
	return emailOut{Delivered: true, To: in.To}, nil
}

func index(_ context.Context, in indexIn) (indexOut, error) {
	return indexOut{Terms: in.Words/3 + 1}, nil
}

// flaky fails its first attempt, as a call over a bad network might.
func flaky(_ context.Context, m *queuesqlite.Message) (any, error) {
	if m.Attempt == 1 {
		return nil, errors.New("GET https://weather.example/today: connection reset by peer")
	}
	return map[string]any{"forecast": "sunny", "attempt": m.Attempt}, nil
}

// hold keeps its worker busy until the demo closes the gate channel.
func (d *demo) hold(ctx context.Context, _ *queuesqlite.Message) (any, error) {
	select {
	case d.holding <- struct{}{}:
	default:
	}
	select {
	case <-d.gate:
		return map[string]bool{"synced": true}, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// report must never run: its message expires first.
func report(context.Context, *queuesqlite.Message) (any, error) {
	return map[string]string{"report": "should not have run"}, nil
}

// charge fails until the payment gateway is back up.
func (d *demo) charge(_ context.Context, m *queuesqlite.Message) (any, error) {
	if !d.gatewayUp.Load() {
		return nil, fmt.Errorf("payment gateway unavailable (HTTP 503) on attempt %d", m.Attempt)
	}
	return map[string]any{"charged": true, "order": 1042}, nil
}
