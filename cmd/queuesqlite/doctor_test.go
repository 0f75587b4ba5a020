package main

import (
	"bytes"
	"database/sql"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
)

func TestDoctor_Healthy(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	out := ok(t, "doctor", "--dir", s.dir)
	for i := range 2 {
		if !strings.Contains(out, "ok       "+sqlite.ShardPath(s.dir, i)+"\n") {
			t.Errorf("no ok line for shard %d:\n%s", i, out)
		}
	}
	if !strings.Contains(out, "all files passed the integrity check") || strings.Contains(out, "CORRUPT") {
		t.Errorf("healthy queue:\n%s", out)
	}
}

// zeroHeader writes zeros over the first 100 bytes (the SQLite header) of
// a closed queue's shard file. The write-ahead log is folded into the file
// first: a log left behind (a reader still open while the queue closed)
// holds a newer copy of page 1, which SQLite would read instead of the
// zeroed one, and the damage would go unseen.
func zeroHeader(t *testing.T, dir string, shard int) string {
	t.Helper()
	path := sqlite.ShardPath(dir, shard)
	foldLog(t, path)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 100), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// foldLog checkpoints the file's write-ahead log into it and closes, so no
// log is left beside it.
func foldLog(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var busy, frames, done int
	if err := db.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil || busy != 0 {
		t.Fatalf("checkpoint %s: busy %d, %v", path, busy, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Fatalf("%s-wal still holds %d bytes", path, fi.Size())
	}
}

func TestDoctor_ZeroedHeader(t *testing.T) {
	t.Parallel()
	for _, shard := range []int{0, 1} {
		s := seed(t, 2)
		path := zeroHeader(t, s.dir, shard)
		other := sqlite.ShardPath(s.dir, 1-shard)
		r := fails(t, "1 problem(s) found", "doctor", "--dir", s.dir)
		if !strings.Contains(r.stdout, "CORRUPT  open "+path) || !strings.Contains(r.stdout, "hint: ") ||
			!strings.Contains(r.stdout, "ok       "+other+"\n") {
			t.Errorf("shard %d zeroed: doctor printed:\n%s", shard, r.stdout)
		}
		r = fails(t, "database is corrupt", "stats", "--dir", s.dir)
		if !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "queuesqlite doctor") {
			t.Errorf("shard %d zeroed: stats said:\n%s", shard, r.stderr)
		}
	}
}

// TestDoctor_DamagedPage damages a page in the middle of shard 1: the
// doctor finds the damage in that file only (whether opening the file or
// the full check finds it).
func TestDoctor_DamagedPage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, closeQ := openDir(t, dir, &queuesqlite.Config{Shards: 2})
	ms := make([]*queuesqlite.Message, 2000)
	for i := range ms {
		ms[i] = queuesqlite.NewMessage("work", map[string]any{"i": i, "pad": strings.Repeat("x", 100)})
	}
	if _, err := q.SendBatch(t.Context(), ms, nil); err != nil {
		t.Fatal(err)
	}
	closeQ()
	damageMiddlePage(t, sqlite.ShardPath(dir, 1))

	r := fails(t, "1 problem(s) found", "doctor", "--dir", dir)
	if !strings.Contains(r.stdout, "ok       "+sqlite.ShardPath(dir, 0)+"\n") ||
		!regexp.MustCompile(`CORRUPT  (open|check) `+regexp.QuoteMeta(sqlite.ShardPath(dir, 1))).MatchString(r.stdout) ||
		strings.Contains(r.stdout, "ok       "+sqlite.ShardPath(dir, 1)) {
		t.Errorf("doctor printed:\n%s", r.stdout)
	}
}

// damageMiddlePage overwrites the page in the middle of a closed SQLite
// file with 0xff bytes.
func damageMiddlePage(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(b[16])<<8 | int(b[17])
	pages := len(b) / pageSize
	if pages < 10 {
		t.Fatalf("%s has only %d pages", path, pages)
	}
	off := pages / 2 * pageSize
	copy(b[off:off+pageSize], bytes.Repeat([]byte{0xff}, pageSize))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
