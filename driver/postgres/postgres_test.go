package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/drivertest"
	"github.com/queue-sqlite/queuesqlite/driver/postgres"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
)

// openSchema opens a handle on a schema and closes it when t ends.
func openSchema(t testing.TB, schema string, opts *postgres.Options) *postgres.DB {
	t.Helper()
	return openSchemaAt(t, pgtest.DSN(), schema, opts)
}

// openSchemaAt is openSchema through the server dsn names.
func openSchemaAt(t testing.TB, dsn, schema string, opts *postgres.Options) *postgres.DB {
	t.Helper()
	o := postgres.Options{}
	if opts != nil {
		o = *opts
	}
	o.Schema = schema
	db, err := postgres.Open(context.Background(), dsn, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// harness opens a fresh queue in a schema of its own.
func harness(opts *postgres.Options) drivertest.OpenFunc {
	return harnessAt(pgtest.DSN, opts)
}

// harnessAt is harness through the server dsn names.
func harnessAt(dsn func() string, opts *postgres.Options) drivertest.OpenFunc {
	return func(t *testing.T) *drivertest.Harness {
		t.Helper()
		schema := pgtest.Schema(t)
		db := openSchemaAt(t, dsn(), schema, opts)
		return &drivertest.Harness{
			Driver: db,
			Reopen: func(t *testing.T) driver.Driver { return openSchemaAt(t, dsn(), schema, opts) },
			BeginTx: func(ctx context.Context) (*sql.Tx, error) {
				app, err := db.AppDB()
				if err != nil {
					return nil, err
				}
				return app.BeginTx(ctx, nil)
			},
			BeginForeign: beginForeign,
			BeginNative: func(ctx context.Context) (driver.Tx, func(bool) error, error) {
				tx, err := db.Pool().Begin(ctx)
				if err != nil {
					return nil, nil, err
				}
				return tx, func(commit bool) error {
					if commit {
						return tx.Commit(ctx)
					}
					return tx.Rollback(ctx)
				}, nil
			},
		}
	}
}

func TestConformance(t *testing.T) {
	pgtest.Require(t)
	drivertest.Run(t, harness(nil))
}

// TestConformancePollOnly runs the suite without LISTEN/NOTIFY, as behind
// PgBouncer in transaction mode.
func TestConformancePollOnly(t *testing.T) {
	pgtest.Require(t)
	drivertest.Run(t, harness(&postgres.Options{PollOnly: true}))
}

// TestConformanceBehindPgBouncer runs the suite through PgBouncer in
// transaction pooling mode, poll-only, as its documentation says.
func TestConformanceBehindPgBouncer(t *testing.T) {
	dsn := pgtest.Bouncer(t)
	drivertest.Run(t, harnessAt(func() string { return dsn }, &postgres.Options{PollOnly: true}))
}

// beginForeign begins a transaction on another database of the server
// (postgres, which every server has).
func beginForeign(ctx context.Context) (*sql.Tx, error) {
	cfg, err := pgx.ParseConfig(pgtest.DSN())
	if err != nil {
		return nil, err
	}
	cfg.Database = "postgres"
	db := stdlib.OpenDB(*cfg)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	return tx, nil
}
