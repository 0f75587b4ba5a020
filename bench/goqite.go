package main

import (
	"context"
	"database/sql"
	"time"

	"maragu.dev/goqite"
	"maragu.dev/goqite/jobs"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// goqiteSchema is goqite's schema_sqlite.sql (v0.4.0), which the module
// ships as a file rather than as a Go value.
const goqiteSchema = `
create table goqite (
  id text primary key default ('m_' || lower(hex(randomblob(16)))),
  created text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  updated text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  queue text not null,
  body blob not null,
  timeout text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  received integer not null default 0,
  priority integer not null default 0
) strict;
create trigger goqite_updated_timestamp after update on goqite begin
  update goqite set updated = strftime('%Y-%m-%dT%H:%M:%fZ') where id = old.id;
end;
create index goqite_queue_priority_created_idx on goqite (queue, priority desc, created);`

// goqiteSystem is goqite (SQLite) with its jobs.Runner; poll is the
// runner's PollInterval (0 = goqite's default, 100 ms).
func goqiteSystem(poll time.Duration) system {
	s := system{
		Name:   "goqite",
		Note:   "maragu.dev/goqite v0.4.0, jobs.Runner, PollInterval default (100ms), one connection (as its README); no batch API: batch-1000 is 1000 SendTx in one transaction",
		SQLite: true,
		Open: func(ctx context.Context, e env) (benchkit.Instance, error) {
			return openGoqite(ctx, e, poll)
		},
	}
	if poll > 0 {
		s.Name, s.Tuned = "goqite (tuned)", true
		s.Note = "as goqite, with jobs.Runner PollInterval " + poll.String()
	}
	return s
}

type goqiteInst struct {
	db      *sql.DB
	q       *goqite.Queue
	r       *jobs.Runner
	env     benchkit.Env
	pad     string
	handled benchkit.Counter
	stop    context.CancelFunc
	stopped chan struct{}
}

func openGoqite(ctx context.Context, e env, poll time.Duration) (benchkit.Instance, error) {
	db, err := openSQLite(e.Dir, "goqite.db", e.Sync, 1)
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, goqiteSchema); err != nil {
		db.Close()
		return nil, err
	}
	g := &goqiteInst{db: db, env: e.Env, pad: padFor(e.Size), q: goqite.New(goqite.NewOpts{DB: db, Name: "bench"})}
	g.r = jobs.NewRunner(jobs.NewRunnerOpts{Limit: e.Workers, PollInterval: poll, Queue: g.q})
	g.r.Register("noop", func(_ context.Context, body []byte) error {
		err := handle(&g.env, body)
		g.handled.Add(1)
		return err
	})
	return g, nil
}

func goqiteBody(p benchkit.Payload, pad string) goqite.Message {
	return goqite.Message{Body: content(p, pad)}
}

// Send implements benchkit.Instance.
func (g *goqiteInst) Send(ctx context.Context, p benchkit.Payload) error {
	_, err := jobs.Create(ctx, g.q, "noop", goqiteBody(p, g.pad))
	return err
}

// SendBatch implements benchkit.Instance: goqite has no batch API, so the
// batch is one transaction of CreateTx calls.
func (g *goqiteInst) SendBatch(ctx context.Context, ps []benchkit.Payload) error {
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if _, err := jobs.CreateTx(ctx, tx, g.q, "noop", goqiteBody(p, g.pad)); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// Start implements benchkit.Instance.
func (g *goqiteInst) Start(ctx context.Context) error {
	ctx, g.stop = context.WithCancel(ctx)
	g.stopped = make(chan struct{})
	go func() {
		defer close(g.stopped)
		g.r.Start(ctx)
	}()
	return nil
}

// WaitFinished implements benchkit.Instance: the runner deletes a message
// after its job returns, so a job is finished once its row is gone.
func (g *goqiteInst) WaitFinished(ctx context.Context, n int) error {
	if err := g.handled.Wait(ctx, int64(n)); err != nil {
		return err
	}
	return waitEmpty(ctx, g.db, "goqite")
}

// Close implements benchkit.Instance.
func (g *goqiteInst) Close() error {
	if g.stop != nil {
		g.stop()
		<-g.stopped
	}
	return g.db.Close()
}

// waitEmpty polls until table has no rows: peers that delete finished jobs
// have stored every outcome then.
func waitEmpty(ctx context.Context, db *sql.DB, table string) error {
	for {
		n, err := countRows(db, table)
		if err != nil || n == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}
