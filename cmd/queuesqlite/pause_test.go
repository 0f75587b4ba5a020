package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// pause and resume store pauses that the library sees, and stats lists
// them (table and JSON).
func TestPause_PauseStatsResume(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	_, closeQ := openDir(t, dir, nil)
	closeQ()

	if out := ok(t, "pause", "--dir", dir, "--destination", "email"); out != "paused destination email\n" {
		t.Fatalf("pause --destination printed %q", out)
	}
	if out := ok(t, "pause", "--dir", dir, "--queue", "bulk"); out != "paused queue bulk\n" {
		t.Fatalf("pause --queue printed %q", out)
	}
	out := ok(t, "stats", "--dir", dir)
	for _, row := range []string{`(?m)^PAUSED +NAME +SINCE$`, `(?m)^destination +email +\S+Z$`, `(?m)^queue +bulk +\S+Z$`} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("stats output has no line matching %s:\n%s", row, out)
		}
	}
	var got statsJSON
	if err := json.Unmarshal([]byte(ok(t, "stats", "--dir", dir, "--json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Paused) != 2 || got.Paused[0].Kind != queuesqlite.PauseKindDestination || got.Paused[0].Name != "email" ||
		got.Paused[1].Kind != queuesqlite.PauseKindQueue || got.Paused[1].Name != "bulk" || got.Paused[0].Since.IsZero() {
		t.Fatalf("stats --json paused = %+v, want destination email and queue bulk with their times", got.Paused)
	}

	q, _ := openDir(t, dir, nil)
	ps, err := q.Paused(t.Context())
	if err != nil || len(ps) != 2 {
		t.Fatalf("the library sees pauses %+v, %v; want the two the CLI stored", ps, err)
	}
	if out := ok(t, "resume", "--dir", dir, "--destination", "email"); out != "resumed destination email\n" {
		t.Fatalf("resume --destination printed %q", out)
	}
	ok(t, "resume", "--dir", dir, "--queue", "bulk")
	if ps, err := q.Paused(t.Context()); err != nil || len(ps) != 0 {
		t.Fatalf("after resume the library sees pauses %+v, %v; want none", ps, err)
	}
	if out := ok(t, "stats", "--dir", dir); !regexp.MustCompile(`(?m)^paused: none$`).MatchString(out) {
		t.Errorf("stats after resume does not say paused: none:\n%s", out)
	}
}

func TestPause_BadFlags(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	_, closeQ := openDir(t, dir, nil)
	closeQ()
	fails(t, "pause needs one of --destination or --queue", "pause", "--dir", dir)
	fails(t, "pause needs one of --destination or --queue", "pause", "--dir", dir, "--destination", "a", "--queue", "b")
	fails(t, "resume needs one of --destination or --queue", "resume", "--dir", dir)
	fails(t, "unknown", "pause", "--dir", dir, "extra-arg")
}
