package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

func TestFailedList_Table(t *testing.T) {
	t.Parallel()
	s := seed(t, 1)
	out := ok(t, "failed", "list", "--dir", s.dir)
	for _, id := range append(s.failed, s.other...) {
		row := regexp.MustCompile(`(?m)^` + id + ` +(charge|other) +1/\d+ +\d{4}-\d\d-\d\dT\S+Z +card declined$`)
		if !row.MatchString(out) {
			t.Errorf("no row for %s matching %s in:\n%s", id, row, out)
		}
	}
	if strings.Contains(out, "second line") || strings.Contains(out, s.completed[0]) {
		t.Errorf("list shows a second error line or a completed message:\n%s", out)
	}
}

func TestFailedList_Filters(t *testing.T) {
	t.Parallel()
	s := seed(t, 1)
	out := ok(t, "failed", "list", "--dir", s.dir, "--destination", "other")
	if !strings.Contains(out, s.other[0]) || strings.Contains(out, s.failed[0]) || strings.Contains(out, s.failed[1]) {
		t.Errorf("--destination other: want only %s:\n%s", s.other[0], out)
	}
	rows := strings.Count(ok(t, "failed", "list", "--dir", s.dir, "--limit", "2"), "card declined")
	if rows != 2 {
		t.Errorf("--limit 2 printed %d rows", rows)
	}
	if out := ok(t, "failed", "list", "--dir", s.dir, "--destination", "ok"); out != "no failed messages\n" {
		t.Errorf("no dead letters for ok, got:\n%s", out)
	}
}

func TestFailedList_JSON(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	var got []failedJSON
	if err := json.Unmarshal([]byte(ok(t, "failed", "list", "--dir", s.dir, "--json", "--destination", "charge")), &got); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range got {
		ids = append(ids, f.ID)
		if f.Destination != "charge" || f.Attempts != 1 || !strings.HasPrefix(f.LastError, "card declined\nsecond line") || f.FinishedAt.IsZero() {
			t.Errorf("dead letter %+v: want charge, 1 attempt, the whole error, a finish time", f)
		}
	}
	slices.Sort(ids)
	if want := slices.Sorted(slices.Values(s.failed)); !slices.Equal(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
}

func TestFailedRetry_IDs(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	// given one failed and one completed id -> the failed one is requeued, the completed one reported
	r := cli(t, "failed", "retry", "--dir", s.dir, s.failed[0], s.completed[0])
	if r.code != 1 || !strings.Contains(r.stdout, "requeued "+s.failed[0]) || !strings.Contains(r.stdout, "requeued 1 of 2") ||
		!strings.Contains(r.stderr, "retry "+s.completed[0]) {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	fails(t, "not found", "failed", "retry", "--dir", s.dir, "no-such-id")

	q, _ := openDir(t, s.dir, nil)
	want := map[string]queuesqlite.Status{s.failed[0]: queuesqlite.StatusPending, s.failed[1]: queuesqlite.StatusFailed,
		s.completed[0]: queuesqlite.StatusCompleted}
	for id, status := range want {
		if m := get(t, q, id); m.Status != status || (status == queuesqlite.StatusPending && m.Attempt != 0) {
			t.Errorf("%s: %s after %d attempts, want %s", id, m.Status, m.Attempt, status)
		}
	}
}

func TestFailedRetry_All(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	r := cli(t, "failed", "retry", "--dir", s.dir, "--all", "--destination", "charge")
	if r.code != 0 || !strings.Contains(r.stdout, "requeued 2 message(s)") {
		t.Errorf("retry --all --destination charge: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// not a terminal -> progress as plain lines on stderr, ending at the total
	if !strings.HasSuffix(r.stderr, "progress: 2/2 done (100%)\n") || strings.Contains(r.stderr, "\r") {
		t.Errorf("retry --all progress on stderr, want plain lines ending at 2/2:\n%q", r.stderr)
	}
	out := ok(t, "failed", "retry", "--dir", s.dir, "--all")
	if !strings.Contains(out, "requeued 1 message(s)") {
		t.Errorf("retry --all after charge:\n%s", out)
	}
	q, _ := openDir(t, s.dir, nil)
	left, err := q.ListFailed(t.Context(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("%d failed messages left after retry --all", len(left))
	}
	for _, id := range append(s.failed, s.other...) {
		if m := get(t, q, id); m.Status != queuesqlite.StatusPending {
			t.Errorf("%s: %s, want pending", id, m.Status)
		}
	}
}
