package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/drivertest"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
)

// openShard opens a fresh SQLite shard in a temporary directory.
func openShard(t *testing.T) *drivertest.Harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shard.db")
	db := openPath(t, path)
	return &drivertest.Harness{
		Driver: db,
		Reopen: func(t *testing.T) driver.Driver { return openPath(t, path) },
		BeginTx: func(ctx context.Context) (*sql.Tx, error) {
			app, err := db.AppDB()
			if err != nil {
				return nil, err
			}
			return app.BeginTx(ctx, nil)
		},
	}
}

// openPath opens a handle on the SQLite file at path and closes it when t ends.
func openPath(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	drivertest.Run(t, openShard)
}
