package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// riverSubscribeChan is the buffer of the completion subscription: larger
// than any drain, so River never drops an event we count.
const riverSubscribeChan = 100_000

// riverTuning is the polling River runs with; zero fields are River's
// defaults (FetchCooldown 100ms, FetchPollInterval 1s).
type riverTuning struct {
	cooldown, poll time.Duration
}

// noopArgs is the benchmark job: its payload's send time.
type noopArgs struct {
	T int64  `json:"t"`
	P string `json:"p,omitempty"`
}

// Kind implements river.JobArgs.
func (noopArgs) Kind() string { return "noop" }

// noopWorker runs the shared no-op handler.
type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	env *benchkit.Env
}

// Work implements river.Worker.
func (w *noopWorker) Work(_ context.Context, job *river.Job[noopArgs]) error {
	w.env.Started(job.Args.T)
	return nil
}

// riverInst is an open River client on either driver.
type riverInst[TTx any] struct {
	client   *river.Client[TTx]
	env      benchkit.Env
	pad      string
	size     int
	finished benchkit.Counter
	unsub    func()
	subDone  chan struct{}
	cleanup  func() error
}

// riverLogger keeps River quiet except for errors.
func riverLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// migrateRiver runs River's migrations up in schema ("" = the default).
func migrateRiver[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], schema string) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Schema: schema, Logger: riverLogger()})
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// newRiver builds a client with env.Workers workers on the default queue and,
// when env.Track, a subscription that counts completed jobs.
func newRiver[TTx any](drv riverdriver.Driver[TTx], e env, t riverTuning, schema string,
	cleanup func() error) (*riverInst[TTx], error) {
	r := &riverInst[TTx]{env: e.Env, pad: padFor(e.Size), size: e.Size, cleanup: cleanup}
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{env: &r.env})
	client, err := river.NewClient(drv, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: e.Workers}},
		Workers:           workers,
		FetchCooldown:     t.cooldown,
		FetchPollInterval: t.poll,
		Schema:            schema,
		Logger:            riverLogger(),
	})
	if err != nil {
		return nil, err
	}
	r.client = client
	if e.Track {
		r.subscribe()
	}
	return r, nil
}

func (r *riverInst[TTx]) subscribe() {
	events, unsub := r.client.SubscribeConfig(&river.SubscribeConfig{
		Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: riverSubscribeChan,
	})
	r.unsub, r.subDone = unsub, make(chan struct{})
	go func() {
		defer close(r.subDone)
		for range events {
			r.finished.Add(1)
		}
	}()
}

// Send implements benchkit.Instance.
func (r *riverInst[TTx]) Send(ctx context.Context, p benchkit.Payload) error {
	_, err := r.client.Insert(ctx, noopArgs{T: p.Sent, P: r.pad}, nil)
	return err
}

// SendBatch implements benchkit.Instance with InsertMany.
func (r *riverInst[TTx]) SendBatch(ctx context.Context, ps []benchkit.Payload) error {
	params := make([]river.InsertManyParams, len(ps))
	for i, p := range ps {
		params[i] = river.InsertManyParams{Args: noopArgs{T: p.Sent, P: r.pad}}
	}
	_, err := r.client.InsertMany(ctx, params)
	return err
}

// Start implements benchkit.Instance.
func (r *riverInst[TTx]) Start(ctx context.Context) error { return r.client.Start(ctx) }

// WaitFinished implements benchkit.Instance: River emits a completed event
// once the completion is stored.
func (r *riverInst[TTx]) WaitFinished(ctx context.Context, n int) error {
	if r.unsub == nil {
		return fmt.Errorf("river: WaitFinished without Env.Track")
	}
	return r.finished.Wait(ctx, int64(n))
}

// Close implements benchkit.Instance.
func (r *riverInst[TTx]) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.client.Stop(ctx)
	if r.unsub != nil {
		r.unsub()
		<-r.subDone
	}
	if cerr := r.cleanup(); err == nil {
		err = cerr
	}
	return err
}

// finishedCount reports the completed events so far (worker children).
func (r *riverInst[TTx]) finishedCount() int64 { return r.finished.Load() }
