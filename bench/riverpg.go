package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// riverPGName labels River on PostgreSQL.
const riverPGName = "river-pg"

// pgxpoolMinConns is pgxpool's smallest default pool size.
const pgxpoolMinConns = 4

// pgSchemas numbers the fresh schema each PostgreSQL run gets.
var pgSchemas atomic.Int64

// riverPGSystem is River on PostgreSQL (pgx v5 pool), each run in a fresh
// schema that is dropped afterwards.
func riverPGSystem(dsn string, t riverTuning) system {
	s := system{
		Name: riverPGName,
		Note: fmt.Sprintf("River v0.51.2 + riverpgxv5 (pgx v5 pool at pgxpool's default size, max(4, CPUs) = %d here; "+
			"server fsync and synchronous_commit as configured), LISTEN/NOTIFY, FetchCooldown/FetchPollInterval defaults (100ms/1s)",
			max(pgxpoolMinConns, runtime.NumCPU())),
		VsName: oursPGName,
		Shared: true,
		Open: func(ctx context.Context, e env) (benchkit.Instance, error) {
			return openRiverPG(ctx, e, dsn, t)
		},
	}
	if t != (riverTuning{}) {
		s.Name, s.Tuned = riverPGName+" (tuned)", true
		s.Note = "as river-pg, with " + tuningText(t)
	}
	return s
}

// riverPGInst is a River client on PostgreSQL over a traced pool.
type riverPGInst struct {
	*riverInst[pgx.Tx]
	tracer *writeTracer
	tuning riverTuning
	schema string
	dsn    string
	owner  bool // drops the schema on Close (the process that made it)
	closed bool
}

func openRiverPG(ctx context.Context, e env, dsn string, t riverTuning) (benchkit.Instance, error) {
	schema := fmt.Sprintf("bench_%d_%d", os.Getpid(), pgSchemas.Add(1))
	if err := createRiverSchema(ctx, dsn, schema); err != nil {
		dropSchema(dsn, schema)
		return nil, err
	}
	r, err := joinRiverPG(ctx, e, dsn, schema, t)
	if err != nil {
		dropSchema(dsn, schema)
		return nil, err
	}
	r.owner = true
	return r, nil
}

// createRiverSchema makes schema and runs River's migrations in it.
func createRiverSchema(ctx context.Context, dsn, schema string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	conn.Close(context.Background())
	if err != nil {
		return err
	}
	pool, err := tracedPool(ctx, dsn, newWriteTracer(), 0)
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrateRiver(ctx, riverpgxv5.New(pool), schema)
}

// joinRiverPG opens a River client on an existing schema, with a pool at
// pgxpool's default size (as pgxpool.New(ctx, dsn) in River's README).
func joinRiverPG(ctx context.Context, e env, dsn, schema string, t riverTuning) (*riverPGInst, error) {
	tr := newWriteTracer()
	pool, err := tracedPool(ctx, dsn, tr, 0)
	if err != nil {
		return nil, err
	}
	r, err := newRiver[pgx.Tx](riverpgxv5.New(pool), e, t, schema, func() error { pool.Close(); return nil })
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &riverPGInst{riverInst: r, tracer: tr, tuning: t, schema: schema, dsn: dsn}, nil
}

// closeClient stops the client and closes its pool, leaving the schema.
func (r *riverPGInst) closeClient() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return r.riverInst.Close()
}

// Close implements benchkit.Instance: the client, its pool, then (in the
// process that made it) the schema.
func (r *riverPGInst) Close() error {
	err := r.closeClient()
	if !r.owner {
		return err
	}
	if derr := dropSchema(r.dsn, r.schema); err == nil {
		err = derr
	}
	return err
}

// WriteTransactions implements benchkit.WriteCounter: the write
// transactions the tracer saw on the client's pool.
func (r *riverPGInst) WriteTransactions() int64 { return r.tracer.Writes() }

// share implements sharer.
func (r *riverPGInst) share() shareSpec {
	return shareSpec{System: riverPGName, DSN: r.dsn, Schema: r.schema, Size: r.size,
		Cooldown: r.tuning.cooldown, Poll: r.tuning.poll}
}

// pgTarget implements pgInstance.
func (r *riverPGInst) pgTarget() (dsn, schema string) { return r.dsn, r.schema }

// dropSchema drops a benchmark schema and everything in it.
func dropSchema(dsn, schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}
