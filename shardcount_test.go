package queuesqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// fourShardQueue makes a closed queue of 4 shards holding 40 messages,
// every shard some of them, and returns its directory.
func fourShardQueue(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		send(t, q, queuesqlite.NewMessage("job", i), nil)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyQueue copies a closed queue's files into a fresh directory.
func copyQueue(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	for _, path := range dbtest.ShardFiles(t, dir) {
		src, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.Create(filepath.Join(to, filepath.Base(path)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		if err := dst.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// storedCount reads shard 0's shard count record ("<none>" if absent).
func storedCount(t *testing.T, dir string) string {
	t.Helper()
	var v string
	err := dbtest.Open(t, sqlite.ShardPath(dir, 0)).QueryRow(`SELECT value FROM meta WHERE key = 'shard_count'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "<none>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func fileNames(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, p := range dbtest.ShardFiles(t, dir) {
		out = append(out, filepath.Base(p))
	}
	slices.Sort(out)
	return out
}

// shardCountTampers are the damaged shard count records Open must refuse
// on a 4-shard queue, each a change to shard 0's meta table.
var shardCountTampers = map[string]string{
	"record deleted": `DELETE FROM meta WHERE key = 'shard_count'`,
	"set to 1":       `UPDATE meta SET value = '1' WHERE key = 'shard_count'`,
	"set to 3":       `UPDATE meta SET value = '3' WHERE key = 'shard_count'`,
	"set to 300":     `UPDATE meta SET value = '300' WHERE key = 'shard_count'`,
	"set to 8":       `UPDATE meta SET value = '8' WHERE key = 'shard_count'`,
	"garbage":        `UPDATE meta SET value = 'four' WHERE key = 'shard_count'`,
}

func TestShardCount_TamperedRecordIsRefused(t *testing.T) {
	t.Parallel()
	base := fourShardQueue(t)
	for name, tamper := range shardCountTampers {
		t.Run(name, func(t *testing.T) {
			dir := copyQueue(t, base)
			db := dbtest.Open(t, sqlite.ShardPath(dir, 0))
			if _, err := db.Exec(tamper); err != nil {
				t.Fatal(err)
			}
			db.Close()
			files, record := fileNames(t, dir), storedCount(t, dir)
			for _, cfg := range []*queuesqlite.Config{nil, {Shards: 4}} {
				q, err := queuesqlite.Open(dir, cfg)
				if err == nil {
					n := q.ShardCount()
					q.Close()
					t.Fatalf("open (config %+v) accepted the queue with %d shards", cfg, n)
				}
				if !errors.Is(err, queuesqlite.ErrShardMismatch) && !errors.Is(err, queuesqlite.ErrCorrupt) {
					t.Fatalf("open: %v, want ErrShardMismatch or ErrCorrupt", err)
				}
				if !strings.Contains(err.Error(), "doctor --fix-shard-count") {
					t.Fatalf("open: %v, want a hint naming the fix", err)
				}
			}
			if q, err := queuesqlite.OpenReadOnly(dir, nil); err == nil {
				n := q.ShardCount()
				q.Close()
				t.Fatalf("OpenReadOnly accepted the queue with %d shards", n)
			} else if !strings.Contains(err.Error(), "doctor --fix-shard-count") {
				t.Fatalf("OpenReadOnly: %v, want the hint naming the fix", err)
			}
			if got := fileNames(t, dir); !slices.Equal(got, files) {
				t.Fatalf("files changed by the refused open: %v -> %v", files, got)
			}
			if got := storedCount(t, dir); got != record {
				t.Fatalf("shard count record changed by the refused open: %q -> %q", record, got)
			}
			// The fix the hint names restores the queue, every message in it.
			res, err := sqlite.RepairShardCount(context.Background(), dir)
			if err != nil || res.To != 4 {
				t.Fatalf("repair: %+v, %v", res, err)
			}
			q, err := queuesqlite.Open(dir, nil)
			if err != nil {
				t.Fatalf("open after repair: %v", err)
			}
			defer q.Close()
			st, err := q.Stats(context.Background())
			if err != nil || q.ShardCount() != 4 || st.ByStatus[queuesqlite.StatusPending] != 40 {
				t.Fatalf("after repair: %d shards, %v, %v; want 4 shards holding 40", q.ShardCount(), st, err)
			}
		})
	}
}

func TestShardCount_MissingFileIsRefused(t *testing.T) {
	t.Parallel()
	dir := copyQueue(t, fourShardQueue(t))
	if err := os.Remove(sqlite.ShardPath(dir, 3)); err != nil {
		t.Fatal(err)
	}
	_, err := queuesqlite.Open(dir, nil)
	if !errors.Is(err, queuesqlite.ErrShardMismatch) || !strings.Contains(err.Error(), "missing") || !strings.Contains(err.Error(), "backup") {
		t.Fatalf("open with shard file 3 gone: %v, want ErrShardMismatch naming the missing file", err)
	}
	if got := fileNames(t, dir); len(got) != 3 {
		t.Fatalf("the refused open recreated files: %v", got)
	}
	// A gap in the numbering cannot be repaired by recording a count.
	if err := os.Remove(sqlite.ShardPath(dir, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.RepairShardCount(context.Background(), dir); err == nil {
		t.Fatal("repair accepted shard files 0 and 2 without 1")
	}
}

func TestShardCount_PluralInErrors(t *testing.T) {
	t.Parallel()
	_, dir := setup(t, nil)
	dir2 := t.TempDir()
	q, err := queuesqlite.Open(dir2, nil)
	if err != nil {
		t.Fatal(err)
	}
	send(t, q, queuesqlite.NewMessage("x", 1), nil)
	q.Close()
	_, err = queuesqlite.Open(dir2, &queuesqlite.Config{Shards: 2})
	if !errors.Is(err, queuesqlite.ErrShardMismatch) || !strings.Contains(err.Error(), "has 1 shard,") {
		t.Fatalf("open a 1-shard queue with Shards 2: %v, want \"has 1 shard,\"", err)
	}
	_ = dir
}
