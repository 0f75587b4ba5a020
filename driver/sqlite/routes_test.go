package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/drivertest"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

func TestConformance_Router(t *testing.T) {
	drivertest.RunRouter(t, openShard)
}

// Import, the insert of a move between files, skips a copy equal in every
// column (a resumed move) and refuses a different message with the same id,
// storing nothing of its batch.
func TestImport_RefusesADifferentMessageWithTheSameID(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "shard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	msg := func(id, content string) *queuetype.Message {
		return &queuetype.Message{ID: id, Type: queuetype.TypeTask, Status: queuetype.StatusPending, Destination: "d",
			Source: queuetype.SourceDefault, Content: []byte(content), CreatedAt: now, UpdatedAt: now, RunAt: now, MaxAttempts: 3}
	}
	if err := db.Insert(ctx, driver.InsertParams{Messages: []*queuetype.Message{msg("x", `1`)}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Import(ctx, []*queuetype.Message{msg("x", `1`), msg("y", `2`)}); err != nil {
		t.Fatalf("import of an equal copy: %v", err)
	}
	err = db.Import(ctx, []*queuetype.Message{msg("z", `3`), msg("x", `"other"`)})
	if !errors.Is(err, queuetype.ErrDuplicate) {
		t.Fatalf("import of another message with id x: %v, want ErrDuplicate", err)
	}
	if _, err := db.Get(ctx, "z"); !errors.Is(err, queuetype.ErrNotFound) {
		t.Fatalf("a refused import stored part of its batch: %v", err)
	}
	if n, err := db.Count(ctx); err != nil || n != 2 {
		t.Fatalf("%d messages, %v; want x and y", n, err)
	}
}
