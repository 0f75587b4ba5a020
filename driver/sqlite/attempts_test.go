package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// TestAttemptErrorLiteralsMatchQueuetype: the bounds the SQL of the attempt
// history is built with are queuetype's.
func TestAttemptErrorLiteralsMatchQueuetype(t *testing.T) {
	if want := strconv.Itoa(queuetype.MaxAttemptErrors); sqlMaxAttemptErrors != want {
		t.Errorf("sqlMaxAttemptErrors = %q, want %q", sqlMaxAttemptErrors, want)
	}
	if want := strconv.Itoa(queuetype.MaxAttemptErrorLength); sqlMaxAttemptErrorLength != want {
		t.Errorf("sqlMaxAttemptErrorLength = %q, want %q", sqlMaxAttemptErrorLength, want)
	}
}

// TestGet_FileBeforeTheAttemptHistory: a read-only handle on a file of
// schema version 10 (no attempt_errors column; a read-only handle
// migrates nothing) still reads a message, without a history.
func TestGet_FileBeforeTheAttemptHistory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := &queuetype.Message{ID: "m", Type: queuetype.TypeTask, Status: queuetype.StatusPending, Destination: "d",
		Source: queuetype.SourceDefault, Content: []byte(`1`), CreatedAt: now, UpdatedAt: now, RunAt: now, MaxAttempts: 1}
	if err := db.Insert(ctx, qdriver.InsertParams{Messages: []*queuetype.Message{m}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`ALTER TABLE messages DROP COLUMN attempt_errors`, `PRAGMA user_version = 10`} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	raw.Close()
	ro, err := Open(ctx, path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	got, err := ro.Get(ctx, "m")
	if err != nil || got.ID != "m" || got.Errors() != nil {
		t.Fatalf("get on a file before the history: %+v, errors %v, %v; want the message without a history", got, got.Errors(), err)
	}
}
