package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
)

// dropEmptyLogs removes the empty write-ahead logs a clean close leaves, as
// in a queue copied without them: a read-only open then reads the files as
// immutable.
func dropEmptyLogs(t *testing.T, dir string, shards int) {
	t.Helper()
	for i := range shards {
		path := sqlite.ShardPath(dir, i)
		if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
			t.Fatalf("%s-wal: want an empty log after close (%v)", path, err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if err := os.Remove(path + suffix); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// tail, started on a closed queue (read as immutable), prints the outcomes of messages that
// finish after it started, in the order they finished, across shards: one
// sent before tail started and cancelled last is printed too (following
// send order would have passed it), one finished before tail started is
// not. It stops with exit 0 when its context ends.
func TestTail_FollowsOutcomes(t *testing.T) {
	t.Parallel()
	s := seed(t, 3)
	dropEmptyLogs(t, s.dir, 3)
	tail := startCLI(t, "tail", "--dir", s.dir, "--interval", "20ms")
	waitFor(t, "tail's first look", &tail.stderr, containsAll("following outcomes since"))

	q, _ := openDir(t, s.dir, &queuesqlite.Config{Workers: 2})
	q.Handle("ok", func(context.Context, *queuesqlite.Message) (any, error) { return "done", nil }, nil)
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ok1 := sendAndWait(t, q, "ok", 3)
	if _, err := q.Cancel(t.Context(), s.pending[0]); err != nil {
		t.Fatal(err)
	}
	out := waitFor(t, "the outcomes", &tail.stdout, containsAll(append(ok1, s.pending[0])...))
	for _, id := range ok1 {
		if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\S+Z  completed  ok  ` + id + `  1/\d+$`).MatchString(out) {
			t.Errorf("no completed line for %s:\n%s", id, out)
		}
	}
	if !regexp.MustCompile(`(?m)  cancelled  nobody  ` + s.pending[0] + `  0/\d+$`).MatchString(out) {
		t.Errorf("no cancelled line for %s:\n%s", s.pending[0], out)
	}
	if strings.Index(out, s.pending[0]) < strings.Index(out, ok1[2]) {
		t.Errorf("the cancel, last to finish, is printed before a completion:\n%s", out)
	}
	for _, id := range append(s.completed, s.failed...) {
		if strings.Contains(out, id) {
			t.Errorf("%s finished before tail started but is printed:\n%s", id, out)
		}
	}
	if strings.Count(out, "\n") != len(ok1)+1 {
		t.Errorf("want %d lines, each outcome once:\n%s", len(ok1)+1, out)
	}
	if code := tail.stop(t); code != 0 {
		t.Errorf("tail exit %d on cancel, stderr:\n%s", code, tail.stderr.String())
	}
}

// tail --since shows earlier outcomes, --destination and --status filter,
// --json prints one message per line, and a requeued message that fails
// again is printed again.
func TestTail_FiltersAndJSON(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	q, _ := openDir(t, s.dir, &queuesqlite.Config{Workers: 1})
	q.Handle("charge", func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, queuesqlite.ErrSkipRetry
	}, nil)
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	tail := startCLI(t, "tail", "--dir", s.dir, "--since", "1h", "--destination", "charge", "--status", "failed", "--json", "--interval", "20ms")
	waitFor(t, "the earlier failures", &tail.stdout, containsAll(s.failed...))
	if _, err := q.Retry(t.Context(), s.failed[0]); err != nil {
		t.Fatal(err)
	}
	out := waitFor(t, "the second failure", &tail.stdout, func(o string) bool { return strings.Count(o, s.failed[0]) == 2 })
	n := 0
	for line := range strings.Lines(out) {
		var m messageJSON
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if m.Destination != "charge" || m.Status != "failed" || m.FinishedAt == nil {
			t.Errorf("line %+v: want a failed charge with a finish time", m)
		}
		n++
	}
	if n != 3 {
		t.Errorf("want 3 lines (2 failures, one of them twice):\n%s", out)
	}
}

func TestTail_BadInput(t *testing.T) {
	t.Parallel()
	s := seed(t, 1)
	fails(t, "--status: pending is not a final status", "tail", "--dir", s.dir, "--status", "pending")
	fails(t, `--status: unknown status "over"`, "tail", "--dir", s.dir, "--status", "over")
	fails(t, `--since: "soon" is neither`, "tail", "--dir", s.dir, "--since", "soon")
	fails(t, "must be positive", "tail", "--dir", s.dir, "--interval", "0s")
	fails(t, `unknown command "x" for "queuesqlite tail"`, "tail", "--dir", s.dir, "x")
}
