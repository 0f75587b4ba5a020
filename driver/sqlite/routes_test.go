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

// A copy made by an earlier, interrupted move is equal in every column to
// its source, whatever the message holds, so a repeated move skips it.
func TestImport_RepeatedMoveOfAFullMessageIsSkipped(t *testing.T) {
	ctx := context.Background()
	open := func(name string) *sqlite.DB {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), name), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	src, dst := open("a.db"), open("b.db")
	now := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	m := &queuetype.Message{ID: "full", Type: queuetype.TypeTask, Status: queuetype.StatusPending, Destination: "d",
		Source: "web", Content: []byte(`{"a":[1,2]}`), Priority: queuetype.PriorityHigh,
		CreatedAt: now, UpdatedAt: now, RunAt: now.Add(time.Second), ExpireAt: now.Add(time.Hour), MaxAttempts: 5,
		Tags: []string{"x", "y"}, Metadata: []byte(`{"k":"v"}`), ShardKey: "tenant"}
	if err := src.Insert(ctx, driver.InsertParams{Messages: []*queuetype.Message{m}, CallbackOwners: []string{"me"}}); err != nil {
		t.Fatal(err)
	}
	// Run it to give it a result, an error text and a finish time.
	claimed, err := src.Claim(ctx, driver.ClaimParams{Destinations: []string{"d"}, Max: 1, Owner: "w", Now: now.Add(2 * time.Second),
		LeaseUntil: now.Add(time.Minute), Me: "me"})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	c := &driver.Completion{Seq: claimed[0].Seq, Attempt: 1, Owner: "w", Status: queuetype.StatusCompleted,
		Result: []byte(`{"ok":true}`), Now: now.Add(3 * time.Second), Me: "other"}
	if err := src.Complete(ctx, []*driver.Completion{c}); err != nil || !c.Applied {
		t.Fatalf("complete: %v %v", c.Applied, err)
	}
	ms, err := src.Export(ctx, 0, 10)
	if err != nil || len(ms) != 1 {
		t.Fatalf("export: %v %v", ms, err)
	}
	for try := range 2 {
		if err := dst.Import(ctx, ms); err != nil {
			t.Fatalf("import %d: %v", try, err)
		}
	}
	if n, err := dst.Count(ctx); err != nil || n != 1 {
		t.Fatalf("%d messages after two imports, %v", n, err)
	}
}

// The same for a message whose MaxAttempts is left to its worker (stored
// unset): its copy reads back equal too.
func TestImport_RepeatedMoveOfAnUnsetMaxAttemptsIsSkipped(t *testing.T) {
	ctx := context.Background()
	src, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := &queuetype.Message{ID: "unset", Type: queuetype.TypeTask, Status: queuetype.StatusPending, Destination: "d",
		Source: queuetype.SourceDefault, Content: []byte(`1`), CreatedAt: now, UpdatedAt: now, RunAt: now}
	if err := src.Insert(ctx, driver.InsertParams{Messages: []*queuetype.Message{m}, MaxAttemptsDefault: 4}); err != nil {
		t.Fatal(err)
	}
	ms, err := src.Export(ctx, 0, 10)
	if err != nil || len(ms) != 1 {
		t.Fatalf("export: %v %v", ms, err)
	}
	for try := range 2 {
		if err := dst.Import(ctx, ms); err != nil {
			t.Fatalf("import %d: %v", try, err)
		}
	}
}
