package main

import (
	"context"
	"fmt"
	"os"

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
		Name: oursPGName,
		Note: "driver/postgres defaults (pgx v5 pool of 8, LISTEN/NOTIFY, database clock), same server as river-pg",
		Open: func(ctx context.Context, e env) (benchkit.Instance, error) { return openOursPG(ctx, e, dsn) },
	}
}

type oursPGInst struct {
	*oursInst
	schema string
	dsn    string
}

func openOursPG(ctx context.Context, e env, dsn string) (benchkit.Instance, error) {
	schema := fmt.Sprintf("bench_ours_%d_%d", os.Getpid(), pgSchemas.Add(1))
	db, err := postgres.Open(ctx, dsn, &postgres.Options{Schema: schema})
	if err != nil {
		return nil, err
	}
	q, err := queuesqlite.New(&queuesqlite.Config{Workers: e.Workers}, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	o, err := newOurs(q, e)
	if err != nil {
		dropSchema(dsn, schema)
		return nil, err
	}
	return &oursPGInst{oursInst: o, schema: schema, dsn: dsn}, nil
}

// Close implements benchkit.Instance: the queue, then its schema.
func (o *oursPGInst) Close() error {
	err := o.q.Close()
	if derr := dropSchema(o.dsn, o.schema); err == nil {
		err = derr
	}
	return err
}

// WriteTransactions implements benchkit.WriteCounter: PostgreSQL commits
// are not counted by the queue.
func (o *oursPGInst) WriteTransactions() int64 { return 0 }
