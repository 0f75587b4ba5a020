package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// makeForeignFile writes an SQLite file with the given journal mode and
// statements, outside the driver.
func makeForeignFile(t *testing.T, journal string, stmts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shard.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode="+journal)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append([]string{`CREATE TABLE t (x)`, `INSERT INTO t VALUES (1)`}, stmts...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// assertRefusedUntouched opens path, expects an error matching want, and
// checks the file's bytes did not change and no log file was left.
func assertRefusedUntouched(t *testing.T, path string, want error) {
	t.Helper()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), path, nil)
	if err == nil {
		db.Close()
		t.Fatal("the file was opened, not refused")
	}
	if !errors.Is(err, want) || !strings.Contains(err.Error(), path) {
		t.Fatalf("refusal: %v; want %v naming the file", err, want)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatalf("the refused file changed (%d -> %d bytes)", len(before), len(after))
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Errorf("the refused open left %s behind", path+suffix)
		}
	}
}

func TestOpen_NewerSchemaLeavesTheFileUntouched(t *testing.T) {
	t.Parallel()
	for _, journal := range []string{"DELETE", "WAL"} {
		t.Run(journal, func(t *testing.T) {
			path := makeForeignFile(t, journal, `PRAGMA user_version = 999`)
			assertRefusedUntouched(t, path, queuetype.ErrSchemaTooNew)
		})
	}
}

func TestOpen_RefusesAFileThatIsNotAQueue(t *testing.T) {
	t.Parallel()
	for name, stmts := range map[string][]string{
		"no version":  nil,
		"its version": {`PRAGMA user_version = 1`},
	} {
		t.Run(name, func(t *testing.T) {
			path := makeForeignFile(t, "DELETE", stmts...)
			assertRefusedUntouched(t, path, queuetype.ErrInvalidArgument)
		})
	}
}
