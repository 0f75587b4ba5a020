package tests

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// createQueue makes the queue directory dir (with shards files) and sends n
// messages to dest from the parent; it returns their ids in send order.
func createQueue(t testing.TB, dir string, shards, n int, dest string) []string {
	t.Helper()
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var ids []string
	for len(ids) < n {
		batch := make([]*queuesqlite.Message, min(500, n-len(ids)))
		for i := range batch {
			batch[i] = queuesqlite.NewMessage(dest, map[string]any{"n": len(ids) + i})
		}
		got, err := q.SendBatch(context.Background(), batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	return ids
}

// sendMore adds n messages to an existing queue.
func sendMore(t testing.TB, dir string, n int, dest string) {
	t.Helper()
	createQueue(t, dir, 0, n, dest)
}

// rawQueue reads a queue's shard files with plain SQL, beside whatever
// processes use the queue.
type rawQueue struct {
	t   testing.TB
	dbs []*sql.DB
}

func openRaw(t testing.TB, dir string) *rawQueue {
	t.Helper()
	r := &rawQueue{t: t}
	files := dbtest.ShardFiles(t, dir)
	if len(files) == 0 {
		t.Fatalf("no shard files in %s", dir)
	}
	for _, f := range files {
		r.dbs = append(r.dbs, dbtest.Open(t, f))
	}
	return r
}

// counts returns the number of messages per status, over every shard.
func (r *rawQueue) counts() map[queuesqlite.Status]int {
	r.t.Helper()
	out := map[queuesqlite.Status]int{}
	for _, db := range r.dbs {
		rows, err := db.Query(`SELECT status, count(*) FROM messages GROUP BY status`)
		if err != nil {
			r.t.Fatal(err)
		}
		for rows.Next() {
			var s queuesqlite.Status
			var n int
			if err := rows.Scan(&s, &n); err != nil {
				r.t.Fatal(err)
			}
			out[s] += n
		}
		if err := rows.Close(); err != nil {
			r.t.Fatal(err)
		}
	}
	return out
}

// ids returns the ids of messages matching where (an SQL condition).
func (r *rawQueue) ids(where string, args ...any) []string {
	r.t.Helper()
	var out []string
	for _, db := range r.dbs {
		rows, err := db.Query(`SELECT id FROM messages WHERE `+where, args...)
		if err != nil {
			r.t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				r.t.Fatal(err)
			}
			out = append(out, id)
		}
		if err := rows.Close(); err != nil {
			r.t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

// row is what the tests look at of one stored message.
type row struct {
	ID        string
	Status    queuesqlite.Status
	Attempt   int
	Result    sql.NullString
	LastError sql.NullString
}

// rows returns the stored messages matching where, by id.
func (r *rawQueue) rows(where string, args ...any) map[string]row {
	r.t.Helper()
	out := map[string]row{}
	for _, db := range r.dbs {
		rs, err := db.Query(`SELECT id, status, attempt, result, last_error FROM messages WHERE `+where, args...)
		if err != nil {
			r.t.Fatal(err)
		}
		for rs.Next() {
			var x row
			if err := rs.Scan(&x.ID, &x.Status, &x.Attempt, &x.Result, &x.LastError); err != nil {
				r.t.Fatal(err)
			}
			out[x.ID] = x
		}
		if err := rs.Close(); err != nil {
			r.t.Fatal(err)
		}
	}
	return out
}

// total is the number of messages over every status.
func total(counts map[queuesqlite.Status]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// waitUntil polls cond until it holds, failing the test after waitDeadline.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitDeadline, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitAlive is waitUntil that also fails at once, with its log, if one of
// the children it relies on exits first.
func waitAlive(t testing.TB, what string, cond func() bool, children ...*child) {
	t.Helper()
	waitUntil(t, what, func() bool {
		for _, c := range children {
			if c.hasExited() {
				t.Fatalf("%s exited (%v) while waiting for %s; its errors: %q\n%s",
					c.name, c.state, what, c.matching("error"), c.stderrTail())
			}
		}
		return cond()
	})
}

// fmtCounts prints status counts in status order.
func fmtCounts(c map[queuesqlite.Status]int) string {
	var parts []string
	for _, s := range []queuesqlite.Status{queuesqlite.StatusPending, queuesqlite.StatusProcessing,
		queuesqlite.StatusCompleted, queuesqlite.StatusFailed, queuesqlite.StatusRetrying,
		queuesqlite.StatusExpired, queuesqlite.StatusCancelled, queuesqlite.StatusScheduled} {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", s, c[s]))
		}
	}
	return strings.Join(parts, " ")
}

// checkAtEnd registers the invariant check of the queue in dir for when the
// test ends (after the children are gone).
func checkAtEnd(t *testing.T, dir string) {
	t.Helper()
	t.Cleanup(func() { dbtest.CheckInvariants(t, dir) })
}

// testLogger keeps the queue's warnings and prints the last of them if the
// test fails.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	var mu sync.Mutex
	var buf bytes.Buffer
	h := slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, &slog.HandlerOptions{Level: slog.LevelWarn})
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			s := buf.String()
			if len(s) > 8000 {
				s = "..." + s[len(s)-8000:]
			}
			t.Logf("queue warnings:\n%s", s)
		}
	})
	return slog.New(h)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// startRacer is the start of a child that races others: it reads the
// role's spec into spec, opens the queue in dir(), says "ready" and waits
// for "go" on stdin. On failure it says why and returns a nil queue and the
// exit code.
func startRacer(spec any, dir func() string) (*queuesqlite.Queue, int) {
	if err := readSpec(spec); err != nil {
		say("error spec: %v", err)
		return nil, 2
	}
	q, err := queuesqlite.Open(dir(), &queuesqlite.Config{Logger: childLogger()})
	if err != nil {
		say("error open: %v", err)
		return nil, 1
	}
	say("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		say("error stdin: %v", err)
		q.Close()
		return nil, 1
	}
	return q, 0
}
