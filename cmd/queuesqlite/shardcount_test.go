package main

import (
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// countRecord reads the shard count record of the queue in dir.
func countRecord(t *testing.T, dir string) string {
	t.Helper()
	db := dbtest.Open(t, sqlite.ShardPath(dir, 0))
	defer db.Close()
	var v string
	if err := db.QueryRow(`SELECT value FROM meta WHERE key = 'shard_count'`).Scan(&v); errors.Is(err, sql.ErrNoRows) {
		return "<none>"
	} else if err != nil {
		t.Fatal(err)
	}
	return v
}

func shardFileNames(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, p := range dbtest.ShardFiles(t, dir) {
		out = append(out, filepath.Base(p))
	}
	slices.Sort(out)
	return out
}

// A tampered shard count record makes stats fail (exit 1, naming the fix)
// instead of reporting part of the queue, and changes nothing; doctor
// --fix-shard-count then restores it.
func TestStats_TamperedShardCountFails(t *testing.T) {
	t.Parallel()
	for name, tamper := range map[string]string{
		"record deleted": `DELETE FROM meta WHERE key = 'shard_count'`,
		"set to 1":       `UPDATE meta SET value = '1' WHERE key = 'shard_count'`,
		"set to 300":     `UPDATE meta SET value = '300' WHERE key = 'shard_count'`,
		"set to 3":       `UPDATE meta SET value = '3' WHERE key = 'shard_count'`,
		"garbage":        `UPDATE meta SET value = 'x' WHERE key = 'shard_count'`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := seed(t, 4)
			db := dbtest.Open(t, sqlite.ShardPath(s.dir, 0))
			if _, err := db.Exec(tamper); err != nil {
				t.Fatal(err)
			}
			db.Close()
			files, record := shardFileNames(t, s.dir), countRecord(t, s.dir)
			r := fails(t, "doctor --fix-shard-count", "stats", "--dir", s.dir)
			fails(t, "doctor --fix-shard-count", "reshard", "--to", "2", "--dir", s.dir)
			if strings.Contains(r.stdout, "messages in") {
				t.Fatalf("stats printed counts of a queue it could not open whole:\n%s", r.stdout)
			}
			if got := shardFileNames(t, s.dir); !slices.Equal(got, files) {
				t.Fatalf("stats or reshard changed the files: %v -> %v", files, got)
			}
			if got := countRecord(t, s.dir); got != record {
				t.Fatalf("stats or reshard rewrote the shard count record: %q -> %q", record, got)
			}
			out := ok(t, "doctor", "--fix-shard-count", "--dir", s.dir)
			if !strings.Contains(out, "-> 4") {
				t.Fatalf("doctor --fix-shard-count:\n%s", out)
			}
			if out := ok(t, "stats", "--dir", s.dir); !strings.Contains(out, "7 messages in 4 shard(s)") {
				t.Fatalf("stats after the fix:\n%s", out)
			}
		})
	}
}
