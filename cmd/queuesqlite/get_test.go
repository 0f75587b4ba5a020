package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestGet_Human(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	out := ok(t, "get", "--dir", s.dir, s.completed[0])
	for _, row := range []string{
		`(?m)^id: +` + s.completed[0] + `$`,
		`(?m)^status: +completed$`,
		`(?m)^destination: +ok$`,
		`(?m)^priority: +normal$`,
		`(?m)^attempts: +1/\d+ \(0 retried\)$`,
		`(?m)^created: +\d{4}-\d\d-\d\dT\S+Z$`,
		`(?m)^finished: +\d{4}-\d\d-\d\dT\S+Z$`,
		`(?m)^expires: +-$`,
		`(?m)^content:\n  \{"i":0\}$`,
		`(?m)^result:\n  "done"$`,
		`(?m)^last error: -$`,
	} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("get output has no line matching %s:\n%s", row, out)
		}
	}
	out = ok(t, "get", "--dir", s.dir, s.failed[0])
	if !strings.Contains(out, "last error:\n  card declined\n  second line of detail") || !strings.Contains(out, "status:       failed") {
		t.Errorf("get of a failed message: want status failed and its whole error indented:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^attempt errors:\n  1  \d{4}-\S+Z  card declined$`).MatchString(out) {
		t.Errorf("get of a failed message: want its attempt errors, one line each:\n%s", out)
	}
}

func TestGet_JSON(t *testing.T) {
	t.Parallel()
	s := seed(t, 1)
	var got messageJSON
	if err := json.Unmarshal([]byte(ok(t, "get", "--dir", s.dir, "--json", s.completed[1])), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != s.completed[1] || got.Status != "completed" || string(got.Result) != `"done"` || compact(t, got.Content) != `{"i":1}` ||
		got.Attempt != 1 || got.FinishedAt == nil || got.CreatedAt.IsZero() || got.Tags == nil {
		t.Errorf("get --json: %+v", got)
	}
	got = messageJSON{}
	if err := json.Unmarshal([]byte(ok(t, "get", "--dir", s.dir, "--json", s.failed[0])), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Errors) != 1 || got.Errors[0].Attempt != 1 || !strings.HasPrefix(got.Errors[0].Error, "card declined") {
		t.Errorf("get --json of a failed message: errors %+v, want its one attempt", got.Errors)
	}
}

func TestGet_BadInput(t *testing.T) {
	t.Parallel()
	s := seed(t, 1)
	fails(t, "no message nope in "+s.dir, "get", "--dir", s.dir, "nope")
	fails(t, "get needs one message id, got 0", "get", "--dir", s.dir)
	fails(t, "get needs one message id, got 2", "get", "--dir", s.dir, "a", "b")
}

// compact is the JSON text b without insignificant space.
func compact(t *testing.T, b []byte) string {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("compact %q: %v", b, err)
	}
	return out.String()
}
