// Package dbtest holds test helpers that look at a queue's SQLite files
// directly: the invariants every test checks when it ends, and raw SQL for
// setting up states that are hard to reach through the API.
package dbtest

import (
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the SQLite driver

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// SQLList formats statuses for raw test SQL, as `status = ` + SQLList(s)
// or `status IN (` + SQLList(s1, s2) + `)`, so tests name statuses instead
// of writing their stored numbers.
func SQLList(ss ...queuetype.Status) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = strconv.Itoa(int(s))
	}
	return strings.Join(parts, ", ")
}

// statusesWhere returns the statuses that are terminal (or, with false,
// not terminal), in numeric order.
func statusesWhere(terminal bool) []queuetype.Status {
	var out []queuetype.Status
	for _, s := range queuetype.AllStatuses {
		if s.Terminal() == terminal {
			out = append(out, s)
		}
	}
	return out
}

// ShardFiles returns the queue's shard files in dir.
func ShardFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "queue_shard_*.db"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Open opens one shard file for raw SQL in a test.
func Open(t testing.TB, path string) *sql.DB {
	t.Helper()
	uri := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) // as driver/sqlite does
	db, err := sql.Open("sqlite3", "file:"+uri+"?_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// CheckInvariants fails t if any shard of the queue in dir breaks an
// invariant: the file passes PRAGMA integrity_check; every processing row
// has a lease owner and an expiry; no row has more attempts than its
// maximum; terminal rows have a finish time and others none.
func CheckInvariants(t testing.TB, dir string) {
	t.Helper()
	for _, path := range ShardFiles(t, dir) {
		db := Open(t, path)
		var integrity string
		if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
			t.Errorf("%s: integrity_check: %q, %v", path, integrity, err)
		}
		processing := SQLList(queuetype.StatusProcessing)
		checks := map[string]string{
			"processing rows without a lease": `SELECT count(*) FROM messages WHERE status = ` + processing + ` AND (lease_owner IS NULL OR lease_expires_at IS NULL)`,
			"rows with attempts above max":    `SELECT count(*) FROM messages WHERE attempt > max_attempts`,
			"terminal rows without finish":    `SELECT count(*) FROM messages WHERE status IN (` + SQLList(statusesWhere(true)...) + `) AND finished_at IS NULL`,
			"live rows with a finish time":    `SELECT count(*) FROM messages WHERE status IN (` + SQLList(statusesWhere(false)...) + `) AND finished_at IS NOT NULL`,
			"leases on rows not processing":   `SELECT count(*) FROM messages WHERE status <> ` + processing + ` AND lease_owner IS NOT NULL`,
		}
		for what, query := range checks {
			var n int
			if err := db.QueryRow(query).Scan(&n); err != nil {
				t.Errorf("%s: %s: %v", path, what, err)
			} else if n > 0 {
				t.Errorf("%s: %d %s", path, n, what)
			}
		}
	}
}

// CheckNoLiveLeaseAfterStop fails t if a processing row still holds a
// lease that has not expired at now: after a clean stop, nothing may be
// left "processing" under a live lease.
func CheckNoLiveLeaseAfterStop(t testing.TB, dir string, now time.Time) {
	t.Helper()
	for _, path := range ShardFiles(t, dir) {
		var n int
		if err := Open(t, path).QueryRow(`SELECT count(*) FROM messages WHERE status = `+SQLList(queuetype.StatusProcessing)+` AND lease_expires_at > ?`, now.UnixMicro()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			t.Errorf("%s: %d messages still processing under a live lease after stop", path, n)
		}
	}
}
