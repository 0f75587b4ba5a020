package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// filePageSize reads the page size of db's file.
func filePageSize(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.read.QueryRow(sqlPageSize).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPageSize_NewFilesOnly: a new file gets pageSize; a file created with
// the 2 KB pages of earlier versions keeps them when opened again, and its
// messages (one spilling into overflow pages) read back and take new ones.
func TestPageSize_NewFilesOnly(t *testing.T) {
	ctx := context.Background()
	const oldPageSize = 2048
	path := filepath.Join(t.TempDir(), "old.db")
	defer func(size int) { pageSize = size }(pageSize)
	pageSize = oldPageSize
	big := rowMsg("big")
	big.Content = []byte(`"` + strings.Repeat("x", 3*oldPageSize) + `"`)
	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Insert(ctx, qdriver.InsertParams{Messages: alikeBatch(10, false).ms, MaxAttemptsDefault: rowsStandIn}); err != nil {
		t.Fatal(err)
	}
	if err := db.Insert(ctx, qdriver.InsertParams{Messages: []*queuetype.Message{big}, MaxAttemptsDefault: rowsStandIn}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	pageSize = 4096

	db, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := filePageSize(t, db); got != oldPageSize {
		t.Fatalf("the old file has %d-byte pages after reopening, want %d", got, oldPageSize)
	}
	if err := db.Insert(ctx, qdriver.InsertParams{Messages: []*queuetype.Message{rowMsg("after")}, MaxAttemptsDefault: rowsStandIn}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Get(ctx, "big")
	if err != nil || string(got.Content) != string(big.Content) {
		t.Fatalf("the overflowing message reads back as %d bytes (%v), want %d", len(got.Content), err, len(big.Content))
	}
	if rows := readInserted(t, db); len(rows) != 12 {
		t.Fatalf("%d rows in the old file, want 12", len(rows))
	}

	fresh, err := Open(ctx, filepath.Join(t.TempDir(), "new.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if got := filePageSize(t, fresh); got != 4096 {
		t.Fatalf("a new file has %d-byte pages, want 4096", got)
	}
}
