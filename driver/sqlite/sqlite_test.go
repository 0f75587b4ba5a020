package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/drivertest"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
)

// openShard opens a fresh SQLite shard in a temporary directory.
func openShard(t *testing.T) *drivertest.Harness {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "shard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &drivertest.Harness{
		Driver: db,
		BeginTx: func(ctx context.Context) (*sql.Tx, error) {
			app, err := db.AppDB()
			if err != nil {
				return nil, err
			}
			return app.BeginTx(ctx, nil)
		},
	}
}

func TestConformance(t *testing.T) {
	drivertest.Run(t, openShard)
}
