package benchkit

import (
	"context"
	"fmt"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
)

// OursName is the baseline's column name.
const OursName = "queuesqlite"

// benchDestination is the handler name every benchmark job is sent to.
const benchDestination = "noop"

// Ours returns our queue as a System. It runs with every feature on and
// every setting at its default (30s leases renewed by a heartbeat, 4
// attempts with backoff, priorities, results stored, maintenance every
// second), Workers and Synchronous from the scenario, and a completion
// callback per message where the scenario waits for completions.
func Ours() System {
	return System{
		Name:   OursName,
		Note:   "defaults (one shard, WAL, group commit); a completion callback per message in drain and latency",
		SQLite: true,
		Open:   openOurs,
	}
}

// ours is an open queue of Ours.
type ours struct {
	q        *queuesqlite.Queue
	env      Env
	cb       queuesqlite.Callback
	finished Counter
	claimDB  *sqlite.DB // opened by the claim scenarios only
}

var _ interface {
	Instance
	WriteCounter
	ClaimProber
} = (*ours)(nil)

func openOurs(_ context.Context, env Env) (Instance, error) {
	q, err := queuesqlite.Open(env.Dir, &queuesqlite.Config{Workers: env.Workers, Synchronous: env.Sync})
	if err != nil {
		return nil, err
	}
	o := &ours{q: q, env: env}
	if env.Track {
		o.cb = func(*queuesqlite.Message) { o.finished.Add(1) }
	}
	err = q.Handle(benchDestination, func(_ context.Context, m *queuesqlite.Message) (any, error) {
		return nil, Handle(&o.env, m.Content)
	}, nil)
	if err != nil {
		q.Close()
		return nil, err
	}
	return o, nil
}

// Send implements Instance.
func (o *ours) Send(ctx context.Context, p Payload) error {
	_, err := o.q.Send(ctx, queuesqlite.NewMessage(benchDestination, p), o.cb)
	return err
}

// SendBatch implements Instance: one SendBatch, one transaction.
func (o *ours) SendBatch(ctx context.Context, ps []Payload) error {
	ms := make([]*queuesqlite.Message, len(ps))
	for i, p := range ps {
		ms[i] = queuesqlite.NewMessage(benchDestination, p)
	}
	_, err := o.q.SendBatch(ctx, ms, o.cb)
	return err
}

// Start implements Instance.
func (o *ours) Start(ctx context.Context) error { return o.q.Start(ctx) }

// WaitFinished implements Instance: it counts completion callbacks, which
// fire once the outcome is committed.
func (o *ours) WaitFinished(ctx context.Context, n int) error {
	return o.finished.Wait(ctx, int64(n))
}

// WriteTransactions implements WriteCounter.
func (o *ours) WriteTransactions() int64 { return o.q.WriteTransactions() }

// Close implements Instance.
func (o *ours) Close() error {
	err := o.q.Close()
	if o.claimDB != nil {
		if cerr := o.claimDB.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Backlog implements ClaimProber: n pending jobs, sent in batches.
func (o *ours) Backlog(ctx context.Context, n int) error {
	if err := presend(ctx, o, n); err != nil {
		return err
	}
	// Open the second handle on the file here, untimed: opening a file that
	// another connection has open includes an integrity scan.
	if o.claimDB == nil {
		db, err := sqlite.Open(ctx, sqlite.ShardPath(o.env.Dir, 0), &sqlite.Options{Synchronous: o.env.Sync})
		if err != nil {
			return err
		}
		o.claimDB = db
	}
	return nil
}

// ClaimComplete implements ClaimProber: one claim through the storage
// driver, as the queue's fetcher makes it (lease, attempt count, expiry
// check), then one Complete of all claimed, as the completer records them.
func (o *ours) ClaimComplete(ctx context.Context, batch int) (int, error) {
	if o.claimDB == nil {
		return 0, fmt.Errorf("ClaimComplete before Backlog")
	}
	now := time.Now().UTC()
	ms, err := o.claimDB.Claim(ctx, driver.ClaimParams{Destinations: []string{benchDestination}, Max: batch,
		Owner: "bench", Now: now, LeaseUntil: now.Add(queuesqlite.LeaseDefault), Me: "bench"})
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	cs := make([]*driver.Completion, len(ms))
	for i, m := range ms {
		cs[i] = &driver.Completion{Seq: m.Seq, Attempt: m.Attempt, Owner: m.LeaseOwner, Now: now, Me: "bench",
			Status: queuesqlite.StatusCompleted}
	}
	return len(ms), o.claimDB.Complete(ctx, cs)
}
