package tests

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// Test 8: damaged files. Open refuses a damaged shard with an error that
// wraps ErrCorrupt and names the file; Queue.Check runs a full integrity
// check. A torn or truncated write-ahead log is not damage: SQLite drops
// the incomplete tail and the queue opens with exactly the transactions
// committed before the cut. See driver/sqlite (openScan) for how much Open
// checks, and GUARANTEES.md for what this means for an operator.

// shard0 is the path of a queue's first shard file.
func shard0(dir string) string { return sqlite.ShardPath(dir, 0) }

// healthyQueue makes a queue with n messages of pad bytes each in dir and
// closes it cleanly (no write-ahead log left); it returns the ids.
func healthyQueue(t *testing.T, dir string, n, pad int) []string {
	t.Helper()
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for len(ids) < n {
		batch := make([]*queuesqlite.Message, min(100, n-len(ids)))
		for i := range batch {
			batch[i] = queuesqlite.NewMessage("job", map[string]any{"i": len(ids) + i, "pad": strings.Repeat("p", pad)})
		}
		got, err := q.SendBatch(context.Background(), batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(shard0(dir) + "-wal"); err == nil {
		t.Fatalf("a clean close left the write-ahead log behind")
	}
	// Check a copy: a connection left open here would recreate the log
	// and hold locks on the file the test is about to damage.
	dbtest.CheckInvariants(t, copyFiles(t, dir, "queue_shard_0.db"))
	return ids
}

// wantCorrupt checks that err reports the damaged shard 0 of dir as corrupt.
func wantCorrupt(t *testing.T, what string, err error, dir string) {
	t.Helper()
	var se *queuesqlite.StorageError
	switch {
	case err == nil:
		t.Errorf("%s: no error for a damaged file", what)
	case !errors.Is(err, queuesqlite.ErrCorrupt):
		t.Errorf("%s: %v; want an error wrapping ErrCorrupt", what, err)
	case !errors.As(err, &se) || se.Path != shard0(dir) || !strings.Contains(err.Error(), "queue_shard_0.db") || se.Hint == "":
		t.Errorf("%s: %v; want a StorageError naming %s with a hint", what, err, shard0(dir))
	default:
		t.Logf("%s: %v", what, err)
	}
}

// patchFile applies fn to the bytes of path.
func patchFile(t *testing.T, path string, fn func(b []byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruption_ZeroedHeader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	healthyQueue(t, dir, 50, 100)
	patchFile(t, shard0(dir), func(b []byte) []byte {
		clear(b[:100])
		return b
	})
	_, err := queuesqlite.Open(dir, nil)
	wantCorrupt(t, "open with a zeroed header", err, dir)
}

// flipLeaf flips the cell count and cell pointers of the table leaf page that
// holds the message id in the file at path; it returns the page number.
func flipLeaf(t *testing.T, path, id string) int {
	t.Helper()
	var page int
	patchFile(t, path, func(b []byte) []byte {
		ps := int(binary.BigEndian.Uint16(b[16:18]))
		if ps == 1 {
			ps = 65536
		}
		for p := 2; p*ps <= len(b); p++ {
			pg := b[(p-1)*ps : p*ps]
			if pg[0] != 0x0d || !bytes.Contains(pg, []byte(id)) {
				continue // not a table leaf holding the message
			}
			cells := int(binary.BigEndian.Uint16(pg[3:5]))
			for i := 3; i < 8+2*cells; i++ {
				pg[i] ^= 0xff
			}
			page = p
			return b
		}
		t.Fatalf("no table leaf page holds message %s", id)
		return b
	})
	return page
}

func TestCorruption_FlippedBTreePage(t *testing.T) {
	t.Parallel()
	t.Run("SmallFileOpen", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		ids := healthyQueue(t, dir, 300, 200)
		page := flipLeaf(t, shard0(dir), ids[len(ids)/2])
		_, err := queuesqlite.Open(dir, nil)
		wantCorrupt(t, fmt.Sprintf("open with b-tree page %d flipped", page), err, dir)
	})
	t.Run("BigFileCheck", func(t *testing.T) {
		// Open does not scan a big file that was closed cleanly (it must
		// stay fast); Queue.Check finds the damage.
		t.Parallel()
		dir := t.TempDir()
		ids := healthyQueue(t, dir, 100, 200_000)
		fi, err := os.Stat(shard0(dir))
		if err != nil {
			t.Fatal(err)
		}
		page := flipLeaf(t, shard0(dir), ids[len(ids)/2])
		q, err := queuesqlite.Open(dir, nil)
		if err != nil {
			t.Fatalf("open of a %d MB file closed cleanly: %v (Open should not scan it)", fi.Size()>>20, err)
		}
		defer q.Close()
		err = q.Check(context.Background())
		wantCorrupt(t, fmt.Sprintf("Check of a %d MB file with b-tree page %d flipped", fi.Size()>>20, page), err, dir)
	})
}

func TestCorruption_TruncatedDatabaseFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	healthyQueue(t, dir, 300, 200)
	var before, after int
	patchFile(t, shard0(dir), func(b []byte) []byte {
		before, after = len(b), len(b)*2/3
		return b[:after]
	})
	_, err := queuesqlite.Open(dir, nil)
	wantCorrupt(t, fmt.Sprintf("open of a file cut from %d to %d bytes", before, after), err, dir)
}

func TestCheck_HealthyQueue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	checkAtEnd(t, dir)
	healthyQueue(t, dir, 100, 100)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Check(context.Background()); err != nil {
		t.Errorf("Check of a healthy queue: %v", err)
	}
}

// senderSpec configures the "sender" child role: it sends Batches batches
// of BatchSize messages, printing "batch <i> <ids>" once each SendBatch has
// returned (so the batch is committed), then "done", and then waits to be
// killed without closing the queue, leaving its write-ahead log behind as a
// crash would.
type senderSpec struct {
	Dir                string
	Batches, BatchSize int
	Pad                int // bytes of padding per message
}

func senderRole() int {
	var spec senderSpec
	if err := readSpec(&spec); err != nil {
		say("error spec: %v", err)
		return 2
	}
	q, err := queuesqlite.Open(spec.Dir, nil)
	if err != nil {
		say("error open: %v", err)
		return 1
	}
	pad := strings.Repeat("p", spec.Pad)
	for b := range spec.Batches {
		batch := make([]*queuesqlite.Message, spec.BatchSize)
		for i := range batch {
			batch[i] = queuesqlite.NewMessage("job", map[string]any{"batch": b, "i": i, "pad": pad})
		}
		ids, err := q.SendBatch(context.Background(), batch, nil)
		if err != nil {
			say("error send: %v", err)
			return 1
		}
		say("batch %d %s", b, strings.Join(ids, ","))
	}
	say("done")
	select {}
}

// walCommits returns the end offsets of the commit frames of a write-ahead
// log (a frame is a 24-byte header and a page; a commit frame has a
// non-zero "database size" field), checking their salts against the header.
func walCommits(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 32 {
		t.Fatalf("%s: %d bytes, no header", path, len(b))
	}
	ps := int(binary.BigEndian.Uint32(b[8:12]))
	var ends []int64
	for off := 32; off+24+ps <= len(b); off += 24 + ps {
		if !bytes.Equal(b[off+8:off+16], b[16:24]) {
			break // a frame of an older generation of the log
		}
		if binary.BigEndian.Uint32(b[off+4:off+8]) != 0 {
			ends = append(ends, int64(off+24+ps))
		}
	}
	return ends
}

// copyFiles copies the named files from src to a new directory.
func copyFiles(t *testing.T, src string, names ...string) string {
	t.Helper()
	dst := t.TempDir()
	for _, n := range names {
		in, err := os.Open(filepath.Join(src, n))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// A process killed while sending leaves its write-ahead log behind. Cut
// that log anywhere (a torn write at a crash): the queue must open without
// crying corruption and hold exactly the batches whose commit frame lies
// wholly before the cut. Everything after it is gone: SQLite cannot tell a
// torn tail from one that was never written.
func TestCorruption_TornWriteAheadLogIsRecoveryNotDamage(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir) // the crash image itself, recovered
	healthyQueue(t, qdir, 0, 0)
	const batches = 6
	c := startChild(t, dir, "sender", "sender", senderSpec{Dir: qdir, Batches: batches, BatchSize: 20, Pad: 300})
	lines := c.waitLines("batch ", batches)
	c.waitLine("done")
	c.kill()
	var sent [][]string
	for _, l := range lines {
		sent = append(sent, strings.Split(strings.Fields(l)[2], ","))
	}
	ends := walCommits(t, shard0(qdir)+"-wal")
	opening := len(ends) - batches // commits made by Open, before the first batch
	if opening < 0 {
		t.Fatalf("the log holds %d commits for %d batches; the test needs one transaction per batch", len(ends), batches)
	}
	batchEnds := ends[opening:]
	cuts := []int64{0, 20, 32, 32 + 24 + 100}
	for _, e := range ends {
		cuts = append(cuts, e-1, e, e+100)
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	files := []string{"queue_shard_0.db", "queue_shard_0.db-wal"}
	for _, cut := range cuts {
		kept := 0
		for kept < len(batchEnds) && batchEnds[kept] <= cut {
			kept++
		}
		cdir := copyFiles(t, qdir, files...)
		if err := os.Truncate(shard0(cdir)+"-wal", cut); err != nil {
			t.Fatal(err)
		}
		q, err := queuesqlite.Open(cdir, nil)
		if err != nil {
			t.Errorf("cut at %d: open: %v (a torn log is recovery, not damage)", cut, err)
			continue
		}
		if err := q.Check(context.Background()); err != nil {
			t.Errorf("cut at %d: check: %v", cut, err)
		}
		q.Close()
		var want []string
		for _, b := range sent[:kept] {
			want = append(want, b...)
		}
		slices.Sort(want)
		got := openRaw(t, cdir).ids("1")
		if !slices.Equal(got, want) {
			t.Errorf("cut at %d: %d messages stored, want the %d of the %d batches committed before the cut", cut, len(got), len(want), kept)
		}
		dbtest.CheckInvariants(t, cdir)
	}
	t.Logf("log of %d bytes with %d commits (%d by Open, then one per batch) ending at %v: opened cleanly at every one of %d cuts, each keeping exactly the batches committed before it",
		ends[len(ends)-1], len(ends), opening, ends, len(cuts))

	// A damaged frame in the middle of the log looks the same to SQLite as
	// a torn tail: the frame and everything after it are dropped.
	cdir := copyFiles(t, qdir, files...)
	mid := batchEnds[1] + 24 + 200 // inside the first frame of the third batch
	patchFile(t, shard0(cdir)+"-wal", func(b []byte) []byte {
		b[mid] ^= 0xff
		return b
	})
	q, err := queuesqlite.Open(cdir, nil)
	if err != nil {
		t.Fatalf("open with a damaged frame mid-log: %v", err)
	}
	q.Close()
	got := len(openRaw(t, cdir).ids("1"))
	t.Logf("a byte flipped inside the third batch's first frame: the queue opened holding %d messages (the first two batches); the later %d committed batches were dropped silently", got, batches-2)
	if got != len(sent[0])+len(sent[1]) {
		t.Errorf("after a damaged frame mid-log: %d messages, want the %d of the first two batches", got, len(sent[0])+len(sent[1]))
	}
}

// A log cut below frames that a checkpoint had already copied into the
// database is what storage that loses synced writes produces (a crash
// cannot: SQLite syncs the log before it checkpoints). The database file
// then holds pages newer than the surviving log, and the mix can be
// inconsistent. Open, which scans a file whose log was left behind, must
// refuse exactly the cuts that leave the data damaged (as a full
// integrity_check of a pristine copy says), and open the others.
func TestCorruption_LogLostBelowItsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	healthyQueue(t, qdir, 3000, 100)
	crash := crashImageAfterCheckpoint(t, qdir)
	ends := walCommits(t, shard0(crash)+"-wal")
	files := []string{"queue_shard_0.db", "queue_shard_0.db-wal"}
	damaged, refused, opened := 0, 0, 0
	for _, end := range ends[:len(ends)-1] {
		cut := end + 100
		oracle := copyFiles(t, crash, files...)
		if err := os.Truncate(shard0(oracle)+"-wal", cut); err != nil {
			t.Fatal(err)
		}
		bad := !integrityOK(t, shard0(oracle))
		cdir := copyFiles(t, crash, files...)
		if err := os.Truncate(shard0(cdir)+"-wal", cut); err != nil {
			t.Fatal(err)
		}
		q, err := queuesqlite.Open(cdir, nil)
		switch {
		case bad:
			damaged++
			if err != nil {
				refused++
			}
			wantCorrupt(t, fmt.Sprintf("cut at %d (damaged)", cut), err, cdir)
		case err != nil:
			t.Errorf("cut at %d leaves a sound file, but open failed: %v", cut, err)
		default:
			opened++
			dbtest.CheckInvariants(t, cdir)
		}
		if q != nil {
			q.Close()
		}
	}
	t.Logf("log cut below its checkpoint at %d commit boundaries: %d left the data damaged (Open refused %d with ErrCorrupt), %d left it sound (opened)",
		len(ends)-1, damaged, refused, opened)
	if damaged == 0 {
		t.Errorf("no cut produced damage; the scenario no longer exercises Open's check")
	}
}

// crashImageAfterCheckpoint runs, on a raw connection to the queue's
// shard, transactions that move messages around (claims, completions,
// deletions), checkpoints them into the database without resetting the
// log, and copies the files while the connection is open: the image a
// crash at that moment leaves.
func crashImageAfterCheckpoint(t *testing.T, qdir string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+shard0(qdir)+"?_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rng := rand.New(rand.NewPCG(6, 6))
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(`PRAGMA wal_autocheckpoint = 0`)
	for k := range 12 {
		switch k % 3 {
		case 0: // claim some, with a lease owner that grows the rows
			mustExec(`UPDATE messages SET status = `+dbtest.SQLList(queuesqlite.StatusProcessing)+`, attempt = 1, lease_owner = ?, lease_expires_at = 1, priority = (priority + 1) % 4
				WHERE status = `+dbtest.SQLList(queuesqlite.StatusPending)+` AND seq % ? = 0`, strings.Repeat("w", rng.IntN(200)), 2+rng.IntN(5))
		case 1: // complete them with results
			mustExec(`UPDATE messages SET status = `+dbtest.SQLList(queuesqlite.StatusCompleted)+`, lease_owner = NULL, lease_expires_at = NULL, finished_at = 1, result = ?
				WHERE status = `+dbtest.SQLList(queuesqlite.StatusProcessing)+``, fmt.Sprintf(`{"r":%q}`, strings.Repeat("r", rng.IntN(400))))
		case 2: // clean some up
			mustExec(`DELETE FROM messages WHERE status = `+dbtest.SQLList(queuesqlite.StatusCompleted)+` AND seq % ? = 1`, 2+rng.IntN(3))
		}
	}
	var busy, logged, done int
	if err := db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &done); err != nil || busy != 0 || done != logged {
		t.Fatalf("checkpoint: busy %d, %d of %d frames, %v", busy, done, logged, err)
	}
	return copyFiles(t, qdir, "queue_shard_0.db", "queue_shard_0.db-wal")
}

// integrityOK runs PRAGMA integrity_check on a raw connection.
func integrityOK(t *testing.T, path string) bool {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	err = db.QueryRow(`PRAGMA integrity_check`).Scan(&res)
	return err == nil && res == "ok"
}
