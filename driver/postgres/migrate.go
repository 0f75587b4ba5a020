package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded schema steps in order; step i (from 1)
// brings the schema to version i.
func migrations() ([]string, error) {
	return driver.SchemaSteps(migrationFiles, "migrations/*.sql")
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int {
	m, _ := migrations()
	return len(m)
}

// sqlSchemaTables counts the tables of a schema ($1 its name).
const sqlSchemaTables = `SELECT count(*) FROM pg_tables WHERE schemaname = $1`

// migrate creates the schema or brings it to this build's version, in one
// transaction under the schema's migration lock, so processes opening a
// queue at once migrate it once. A schema of a newer version, or one with
// tables but no version (not a queue's), is refused untouched.
func (d *DB) migrate(ctx context.Context) error {
	steps, err := migrations()
	if err != nil {
		return err
	}
	err = d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlMigrateLock, d.lockKey(lockSpaceMigrate), int32(0)); err != nil {
			return err
		}
		version, err := d.schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if version > len(steps) {
			return fmt.Errorf("%w: schema %s has version %d, this library knows up to %d; upgrade queue-sqlite",
				queuetype.ErrSchemaTooNew, d.schema, version, len(steps))
		}
		for i := version; i < len(steps); i++ {
			if err := d.applyStep(ctx, tx, i+1, steps[i]); err != nil {
				return fmt.Errorf("schema step %d: %w", i+1, err)
			}
		}
		return nil
	})
	if err != nil {
		if isSentinel(err) {
			return &queuetype.StorageError{Op: "open", Path: d.schema, Err: err}
		}
		return d.wrap("migrate", err)
	}
	return nil
}

// schemaVersion reads the schema's version (0 for none), creating the
// schema and its version table when the schema holds nothing yet.
func (d *DB) schemaVersion(ctx context.Context, tx pgx.Tx) (int, error) {
	var exists bool
	if err := tx.QueryRow(ctx, sqlVersionExists, d.sql(`{s}.schema_version`)).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		var tables int
		if err := tx.QueryRow(ctx, sqlSchemaTables, d.schema).Scan(&tables); err != nil {
			return 0, err
		}
		if d.opts.NoCreate {
			return 0, fmt.Errorf("%w: no queue in schema %s of this database", queuetype.ErrNotFound, d.schema)
		}
		if tables > 0 {
			return 0, fmt.Errorf("%w: schema %s has %d tables but is not a queue's; give the queue a schema of its own",
				queuetype.ErrInvalidArgument, d.schema, tables)
		}
		for _, s := range []string{sqlCreateSchema, sqlVersionTable} {
			if _, err := tx.Exec(ctx, d.sql(s)); err != nil {
				return 0, err
			}
		}
	}
	var version int
	err := tx.QueryRow(ctx, d.sql(sqlVersionGet)).Scan(&version)
	return version, err
}

// applyStep runs one migration script and records its version; the first
// also records the store id.
func (d *DB) applyStep(ctx context.Context, tx pgx.Tx, version int, script string) error {
	if _, err := tx.Exec(ctx, render(script, d.schema)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, d.sql(sqlVersionSet), version); err != nil {
		return err
	}
	if version != 1 {
		return nil
	}
	id := randomID() + randomID()
	if _, err := tx.Exec(ctx, d.sql(sqlMetaInit), metaStoreID, id); err != nil {
		return err
	}
	// hex only: safe as a literal
	_, err := tx.Exec(ctx, d.sql(sqlStoreIDComment)+"'"+storeIDPrefix+id+"'")
	return err
}

// isSentinel reports an error that already says what is wrong.
func isSentinel(err error) bool {
	return errors.Is(err, queuetype.ErrSchemaTooNew) || errors.Is(err, queuetype.ErrInvalidArgument) ||
		errors.Is(err, queuetype.ErrNotFound)
}
