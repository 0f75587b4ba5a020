package main

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/driver/postgres"
	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// oursPGName labels our queue on PostgreSQL.
const oursPGName = "queuesqlite-pg"

// oursPGSystem is our queue on PostgreSQL with every setting at its
// default, each run in a fresh schema that is dropped afterwards: the
// column to read beside river-pg (same server, same run).
func oursPGSystem(dsn string) system {
	return system{
		Name:   oursPGName,
		Note:   "driver/postgres defaults (pgx v5 pool of 8, LISTEN/NOTIFY, database clock), same server as river-pg",
		Shared: true,
		Open:   func(ctx context.Context, e env) (benchkit.Instance, error) { return openOursPG(ctx, e, dsn) },
	}
}

// oursPGInst is our queue on PostgreSQL over a traced pool of its own.
type oursPGInst struct {
	*oursInst
	pool   *pgxpool.Pool
	tracer *writeTracer
	schema string
	dsn    string
	owner  bool // drops the schema on Close (the process that made it)
	closed bool
}

func openOursPG(ctx context.Context, e env, dsn string) (benchkit.Instance, error) {
	schema := fmt.Sprintf("bench_ours_%d_%d", os.Getpid(), pgSchemas.Add(1))
	o, err := joinOursPG(ctx, e, dsn, schema)
	if err != nil {
		dropSchema(dsn, schema)
		return nil, err
	}
	o.owner = true
	return o, nil
}

// joinOursPG opens the queue in schema (creating it when new) as the
// default Open would, with the pool traced.
func joinOursPG(ctx context.Context, e env, dsn, schema string) (*oursPGInst, error) {
	t := newWriteTracer()
	pool, err := tracedPool(ctx, dsn, t, postgres.MaxConnsDefault)
	if err != nil {
		return nil, err
	}
	db, err := postgres.OpenPool(ctx, pool, &postgres.Options{Schema: schema})
	if err != nil {
		pool.Close()
		return nil, err
	}
	q, err := queuesqlite.New(&queuesqlite.Config{Workers: e.Workers}, db)
	if err != nil {
		db.Close()
		pool.Close()
		return nil, err
	}
	o, err := newOurs(q, e)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &oursPGInst{oursInst: o, pool: pool, tracer: t, schema: schema, dsn: dsn}, nil
}

// closeClient closes the queue and its pool, leaving the schema.
func (o *oursPGInst) closeClient() error {
	if o.closed {
		return nil
	}
	o.closed = true
	err := o.q.Close()
	o.pool.Close()
	return err
}

// Close implements benchkit.Instance: the queue, its pool, then (in the
// process that made it) its schema.
func (o *oursPGInst) Close() error {
	err := o.closeClient()
	if !o.owner {
		return err
	}
	if derr := dropSchema(o.dsn, o.schema); err == nil {
		err = derr
	}
	return err
}

// WriteTransactions implements benchkit.WriteCounter: the write
// transactions the tracer saw on the queue's pool.
func (o *oursPGInst) WriteTransactions() int64 { return o.tracer.Writes() }

// share implements sharer.
func (o *oursPGInst) share() shareSpec {
	return shareSpec{System: oursPGName, DSN: o.dsn, Schema: o.schema, Size: o.size}
}

// pgTarget implements pgInstance.
func (o *oursPGInst) pgTarget() (dsn, schema string) { return o.dsn, o.schema }
