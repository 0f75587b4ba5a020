package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

func TestReshard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, closeQ := openDir(t, dir, nil)
	var ids []string
	for i := range 200 {
		id, err := q.Send(t.Context(), queuesqlite.NewMessage("job", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// while the queue is open -> refused
	fails(t, "stop every process", "reshard", "--dir", dir, "--to", "3")
	closeQ()

	r := cli(t, "reshard", "--dir", dir, "--to", "3")
	if r.code != 0 {
		t.Fatalf("reshard: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// Not on a terminal, the progress is plain lines on stderr ending at the total.
	if !strings.HasSuffix(r.stderr, "progress: 200/200 done (100%)\n") || strings.Contains(r.stderr, "\r") {
		t.Errorf("reshard progress on stderr, want plain lines ending at 200/200:\n%q", r.stderr)
	}
	out := r.stdout
	m := regexp.MustCompile(`^resharded .*: 1 -> 3 shards, moved (\d+) of 200 messages\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("reshard output:\n%s", out)
	}
	if moved, _ := strconv.Atoi(m[1]); moved == 0 || moved == 200 {
		t.Fatalf("moved %d of 200 to 3 shards", moved)
	}
	q, closeQ = openDir(t, dir, nil)
	if q.ShardCount() != 3 {
		t.Fatalf("%d shards after reshard", q.ShardCount())
	}
	for _, id := range ids {
		got, err := q.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Shard != queuesqlite.ShardFor(id, 3) {
			t.Fatalf("message %s in shard %d, routes to %d", id, got.Shard, queuesqlite.ShardFor(id, 3))
		}
	}
	closeQ()
	// and back to one: "1 shard", not "1 shards"
	out = ok(t, "reshard", "--dir", dir, "--to", "1")
	if !regexp.MustCompile(`: 3 -> 1 shard, moved \d+ of 200 messages\n$`).MatchString(out) {
		t.Fatalf("reshard to one shard printed:\n%s", out)
	}
}

func TestReshard_BadArguments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fails(t, "--to must be at least 1", "reshard", "--dir", dir)
	fails(t, "no queue in", "reshard", "--dir", dir, "--to", fmt.Sprint(2))
}
