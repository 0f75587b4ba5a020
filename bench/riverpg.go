package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// pgSchemas numbers the fresh schema each River+PostgreSQL run gets.
var pgSchemas atomic.Int64

// riverPGSystem is River on PostgreSQL (pgx v5 pool), each run in a fresh
// schema that is dropped afterwards.
func riverPGSystem(dsn string, t riverTuning) system {
	s := system{
		Name: "river-pg",
		Note: "River v0.51.2 + riverpgxv5 (pgx v5.12 pool, server fsync and synchronous_commit as configured), " +
			"LISTEN/NOTIFY, FetchCooldown/FetchPollInterval defaults (100ms/1s)",
		Open: func(ctx context.Context, e env) (benchkit.Instance, error) {
			return openRiverPG(ctx, e, dsn, t)
		},
	}
	if t != (riverTuning{}) {
		s.Name, s.Tuned = "river-pg (tuned)", true
		s.Note = "as river-pg, with " + tuningText(t)
	}
	return s
}

func openRiverPG(ctx context.Context, e env, dsn string, t riverTuning) (benchkit.Instance, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	schema := fmt.Sprintf("bench_%d_%d", os.Getpid(), pgSchemas.Add(1))
	drop := func() error {
		_, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		pool.Close()
		return err
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		pool.Close()
		return nil, err
	}
	if err := migrateRiver(ctx, riverpgxv5.New(pool), schema); err != nil {
		drop()
		return nil, err
	}
	r, err := newRiver[pgx.Tx](riverpgxv5.New(pool), e, t, schema, drop)
	if err != nil {
		drop()
		return nil, err
	}
	return r, nil
}

// dropSchema drops a benchmark schema and everything in it.
func dropSchema(dsn, schema string) error {
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}
