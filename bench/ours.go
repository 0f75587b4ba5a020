package main

import (
	"context"
	"encoding/json"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// oursDestination is the handler every benchmark job goes to.
const oursDestination = "noop"

// oursSystem is our queue with every setting at its default (30 s leases
// renewed by a heartbeat, 4 attempts with backoff, priorities, results
// stored, maintenance), Workers and Synchronous from the scenario, and a
// completion callback per message where the scenario waits for completions.
// It uses only the public API, so the same code measures an older commit
// (the module's replace directive pointed at it).
func oursSystem() system {
	return system{
		Name:   oursName,
		Note:   "defaults (one shard, WAL, group commit); a completion callback per message in drain and latency",
		SQLite: true,
		Shared: true,
		Open:   openOurs,
	}
}

type oursInst struct {
	q        *queuesqlite.Queue
	env      benchkit.Env
	pad      string
	size     int
	cb       queuesqlite.Callback
	finished benchkit.Counter
}

func openOurs(_ context.Context, e env) (benchkit.Instance, error) {
	q, err := queuesqlite.Open(e.Dir, &queuesqlite.Config{Workers: e.Workers, Synchronous: e.Sync})
	if err != nil {
		return nil, err
	}
	return newOurs(q, e)
}

// newOurs registers the benchmark's handler on an open queue.
func newOurs(q *queuesqlite.Queue, e env) (*oursInst, error) {
	o := &oursInst{q: q, env: e.Env, pad: padFor(e.Size), size: e.Size}
	switch {
	case e.Track && e.Remote:
		err := q.OnOutcome(func(_ *queuesqlite.Message, s queuesqlite.Status) {
			if s == queuesqlite.StatusCompleted {
				o.finished.Add(1)
			}
		})
		if err != nil {
			q.Close()
			return nil, err
		}
	case e.Track:
		o.cb = func(*queuesqlite.Message) { o.finished.Add(1) }
	}
	err := q.Handle(oursDestination, func(_ context.Context, m *queuesqlite.Message) (any, error) {
		return nil, handle(&o.env, m.Content)
	}, nil)
	if err != nil {
		q.Close()
		return nil, err
	}
	return o, nil
}

func (o *oursInst) message(p benchkit.Payload) *queuesqlite.Message {
	return queuesqlite.NewMessage(oursDestination, json.RawMessage(content(p, o.pad)))
}

// Send implements benchkit.Instance.
func (o *oursInst) Send(ctx context.Context, p benchkit.Payload) error {
	_, err := o.q.Send(ctx, o.message(p), o.cb)
	return err
}

// SendBatch implements benchkit.Instance: one SendBatch, one transaction.
func (o *oursInst) SendBatch(ctx context.Context, ps []benchkit.Payload) error {
	ms := make([]*queuesqlite.Message, len(ps))
	for i, p := range ps {
		ms[i] = o.message(p)
	}
	_, err := o.q.SendBatch(ctx, ms, o.cb)
	return err
}

// Start implements benchkit.Instance.
func (o *oursInst) Start(ctx context.Context) error { return o.q.Start(ctx) }

// WaitFinished implements benchkit.Instance: completion callbacks fire once
// the outcome is committed.
func (o *oursInst) WaitFinished(ctx context.Context, n int) error {
	return o.finished.Wait(ctx, int64(n))
}

// WriteTransactions implements benchkit.WriteCounter.
func (o *oursInst) WriteTransactions() int64 { return o.q.WriteTransactions() }

// Close implements benchkit.Instance.
func (o *oursInst) Close() error { return o.q.Close() }

// share implements sharer: another process opens the same directory.
func (o *oursInst) share() shareSpec {
	return shareSpec{System: oursName, Dir: o.env.Dir, Sync: o.env.Sync, Size: o.size}
}

// finishedCount reports the completion callbacks so far (worker children).
func (o *oursInst) finishedCount() int64 { return o.finished.Load() }
