package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded schema steps in order; step i (from 1)
// brings the file to PRAGMA user_version i.
func migrations() ([]string, error) {
	return qdriver.SchemaSteps(migrationFiles, "migrations/*.sql")
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int {
	m, _ := migrations()
	return len(m)
}

// checkSchema refuses, by reading only, a file this library must not write:
// one whose schema version is newer than it knows (ErrSchemaTooNew), or an
// SQLite database that is not a queue file (ErrInvalidArgument): one with
// tables but no schema version, or with a version but no messages table.
// objects is the number of entries in the file's schema.
func checkSchema(ctx context.Context, conn *sql.Conn, objects int) error {
	var version, queue int
	if err := conn.QueryRowContext(ctx, sqlUserVersion).Scan(&version); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, sqlHasMessages).Scan(&queue); err != nil {
		return err
	}
	if known := SchemaVersion(); version > known {
		return tooNew(version, known)
	}
	if (objects > 0 && version == 0) || (version > 0 && queue == 0) {
		return fmt.Errorf("%w: the file is an SQLite database but not a queue's (schema version %d, %d schema objects, no messages table); give the queue a directory of its own",
			queuetype.ErrInvalidArgument, version, objects)
	}
	return nil
}

func tooNew(version, known int) error {
	return fmt.Errorf("%w: file has schema version %d, this library knows up to %d; upgrade queue-sqlite",
		queuetype.ErrSchemaTooNew, version, known)
}

// migrate applies the steps the file lacks, each in its own transaction, and
// refuses a file whose version is newer than this library knows.
func migrate(ctx context.Context, conn *sql.Conn) error {
	steps, err := migrations()
	if err != nil {
		return err
	}
	var version int
	if err := conn.QueryRowContext(ctx, sqlUserVersion).Scan(&version); err != nil {
		return err
	}
	if version > len(steps) {
		return tooNew(version, len(steps))
	}
	for i := version; i < len(steps); i++ {
		if err := applyStep(ctx, conn, i+1, steps[i]); err != nil {
			return fmt.Errorf("schema step %d: %w", i+1, err)
		}
	}
	return nil
}

func applyStep(ctx context.Context, conn *sql.Conn, version int, script string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have migrated while this one waited for the lock.
	var current int
	if err := tx.QueryRowContext(ctx, sqlUserVersion).Scan(&current); err != nil {
		return err
	}
	if current >= version {
		return nil
	}
	if _, err := tx.ExecContext(ctx, script); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return err
	}
	return tx.Commit()
}
