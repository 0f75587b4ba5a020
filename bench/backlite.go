package main

import (
	"context"
	"database/sql"
	"time"

	"github.com/mikestefanello/backlite"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// backliteConns bounds backlite's pool: 0 leaves database/sql's default (no
// limit), as backlite's README opens it. (One or four connections measured
// no better for it on the 2-core machine.)
const backliteConns = 0

// backliteSystem is backlite (SQLite). It polls nothing: a local Add wakes
// its dispatcher, so it has no tuned variant.
func backliteSystem() system {
	return system{
		Name:   "backlite",
		Note:   "backlite v0.6.0, ReleaseAfter 30s, MaxAttempts 4, no retention of completed tasks, database/sql's default pool (as its README)",
		SQLite: true,
		Open:   openBacklite,
	}
}

// blTask is the benchmark job as a backlite task.
type blTask struct {
	T int64  `json:"t"`
	P string `json:"p,omitempty"`
}

// Config implements backlite.Task.
func (blTask) Config() backlite.QueueConfig {
	return backlite.QueueConfig{Name: "noop", MaxAttempts: 4, Backoff: time.Second}
}

type backliteInst struct {
	db      *sql.DB
	c       *backlite.Client
	env     benchkit.Env
	pad     string
	handled benchkit.Counter
	started bool
}

func openBacklite(_ context.Context, e env) (benchkit.Instance, error) {
	db, err := openSQLite(e.Dir, "backlite.db", e.Sync, backliteConns)
	if err != nil {
		return nil, err
	}
	c, err := backlite.NewClient(backlite.ClientConfig{DB: db, NumWorkers: e.Workers, ReleaseAfter: 30 * time.Second})
	if err == nil {
		err = c.Install()
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	b := &backliteInst{db: db, c: c, env: e.Env, pad: padFor(e.Size)}
	c.Register(backlite.NewQueue(func(_ context.Context, t blTask) error {
		b.env.Started(t.T)
		b.handled.Add(1)
		return nil
	}))
	return b, nil
}

// Send implements benchkit.Instance.
func (b *backliteInst) Send(ctx context.Context, p benchkit.Payload) error {
	_, err := b.c.Add(blTask{T: p.Sent, P: b.pad}).Ctx(ctx).Save()
	return err
}

// SendBatch implements benchkit.Instance: one Add of every task, one
// transaction.
func (b *backliteInst) SendBatch(ctx context.Context, ps []benchkit.Payload) error {
	tasks := make([]backlite.Task, len(ps))
	for i, p := range ps {
		tasks[i] = blTask{T: p.Sent, P: b.pad}
	}
	_, err := b.c.Add(tasks...).Ctx(ctx).Save()
	return err
}

// Start implements benchkit.Instance.
func (b *backliteInst) Start(ctx context.Context) error {
	b.c.Start(ctx)
	b.started = true
	return nil
}

// WaitFinished implements benchkit.Instance: backlite deletes a task once
// it succeeded (no retention), so it is finished once its row is gone.
func (b *backliteInst) WaitFinished(ctx context.Context, n int) error {
	if err := b.handled.Wait(ctx, int64(n)); err != nil {
		return err
	}
	return waitEmpty(ctx, b.db, "backlite_tasks")
}

// Close implements benchkit.Instance.
func (b *backliteInst) Close() error {
	if b.started {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		b.c.Stop(ctx)
		cancel()
	}
	return b.db.Close()
}
