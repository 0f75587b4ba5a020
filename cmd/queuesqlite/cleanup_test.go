package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

func TestCleanup(t *testing.T) {
	t.Parallel()
	s := seed(t, 1)
	// given finished messages a few milliseconds old -> the default retention (days) keeps them
	if out := ok(t, "cleanup", "--dir", s.dir); !regexp.MustCompile(`^deleted 0 finished message\(s\), freed \d+ bytes\n$`).MatchString(out) {
		t.Errorf("cleanup with default retention:\n%s", out)
	}
	// -> a retention of 1ns deletes every finished one and keeps the pending one
	out := ok(t, "cleanup", "--dir", s.dir, "--older-than", "1ns")
	m := regexp.MustCompile(`^deleted (\d+) finished message\(s\), freed (\d+) bytes\n$`).FindStringSubmatch(out)
	if m == nil || m[1] != strconv.Itoa(len(s.completed)+len(s.failed)+len(s.other)) {
		t.Fatalf("cleanup --older-than 1ns:\n%s", out)
	}
	q, _ := openDir(t, s.dir, nil)
	st, err := q.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if sum(st.ByStatus) != 1 || st.ByStatus[queuesqlite.StatusPending] != 1 {
		t.Errorf("after cleanup: %v, want only the pending message", st.ByStatus)
	}
}

// Not on a terminal, cleanup shows the shards it has done as plain lines on
// stderr, ending at the total.
func TestCleanup_Progress(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	r := cli(t, "cleanup", "--dir", s.dir, "--older-than", "1ns")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "deleted 6 finished message(s)") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.HasSuffix(r.stderr, "progress: 2/2 done (100%)\n") || strings.Contains(r.stderr, "\r") {
		t.Errorf("cleanup progress on stderr, want plain lines ending at 2/2:\n%q", r.stderr)
	}
}
