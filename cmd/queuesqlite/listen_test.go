package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// listenDir is a fresh closed queue.
func listenDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "q")
	_, closeQ := openDir(t, dir, nil)
	closeQ()
	return dir
}

// set stores text by default and JSON with --json; get prints it back
// with its kind, and an equal value is no change.
func TestListen_SetGet(t *testing.T) {
	t.Parallel()
	dir := listenDir(t)
	if out := ok(t, "listen", "set", "--dir", dir, "mode", `{"not":"json here"}`); out != "set mode\n" {
		t.Errorf("set: %q", out)
	}
	out := ok(t, "listen", "get", "--dir", dir, "mode")
	for _, row := range []string{`(?m)^key: +mode$`, `(?m)^kind: +text$`, `(?m)^version: +1$`, `(?m)^updated: +\d{4}-\S+Z$`, `(?m)^value:\n  \{"not":"json here"\}$`} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("get has no line matching %s:\n%s", row, out)
		}
	}
	ok(t, "listen", "set", "--dir", dir, "--json", "limits", `{"rps": 50}`)
	if out := ok(t, "listen", "set", "--dir", dir, "--json", "limits", `{"rps": 50}`); out != "limits unchanged (it already has this value)\n" {
		t.Errorf("set of an equal value: %q", out)
	}
	var got listenJSON
	if err := json.Unmarshal([]byte(ok(t, "listen", "get", "--dir", dir, "--json", "limits")), &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "json" || got.Version != 1 || got.UpdatedAt == nil {
		t.Errorf("get --json: %+v", got)
	}
	if v, isMap := got.Value.(map[string]any); !isMap || v["rps"] != 50.0 {
		t.Errorf("get --json value %#v, want the object {rps: 50}", got.Value)
	}
	q, _ := openDir(t, dir, nil)
	e, err := q.GetListenData(t.Context(), "limits")
	if err != nil || e.Value.Kind != queuetype.ValueJSON {
		t.Errorf("stored limits: %+v, %v; want a JSON value", e, err)
	}
	if e, err := q.GetListenData(t.Context(), "mode"); err != nil || e.Value.Kind != queuetype.ValueText {
		t.Errorf("stored mode: %+v, %v; want a text value", e, err)
	}
}

func TestListen_BadInput(t *testing.T) {
	t.Parallel()
	dir := listenDir(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"listen"}, "listen needs a subcommand: get, set or watch"},
		{[]string{"listen", "get"}, "listen get needs one key, got 0"},
		{[]string{"listen", "get", "nope"}, "no listen key nope in " + dir},
		{[]string{"listen", "set", "k"}, "listen set needs a key and a value, got 1"},
		{[]string{"listen", "set", "--json", "k", "{bad"}, `the value "{bad" is not valid JSON`},
		{[]string{"listen", "set", "", "v"}, "empty listen key"},
		{[]string{"listen", "watch", "a", "b"}, "listen watch takes one key, or --prefix, or neither"},
		{[]string{"listen", "watch", "a", "--prefix", "p"}, "listen watch takes one key, or --prefix, or neither"},
		{[]string{"listen", "watch", "--interval", "soon"}, "not a duration"},
	}
	for _, tt := range tests {
		fails(t, tt.want, append(tt.args, "--dir", dir)...)
	}
	fails(t, "no queue in", "listen", "set", "--dir", filepath.Join(t.TempDir(), "none"), "k", "v")
}

// watch prints the changes of the keys it watches as they happen, and
// joins no listener group.
func TestListen_Watch(t *testing.T) {
	t.Parallel()
	dir := listenDir(t)
	ok(t, "listen", "set", "--dir", dir, "cfg/a", "before")
	watch := startCLI(t, "listen", "watch", "--dir", dir, "--prefix", "cfg/", "--interval", "20ms")
	one := startCLI(t, "listen", "watch", "--dir", dir, "cfg/b", "--json", "--interval", "20ms")
	waitFor(t, "watch's first look", &watch.stderr, containsAll("watching listen data"))
	waitFor(t, "watch's first look", &one.stderr, containsAll("watching listen data"))

	q, _ := openDir(t, dir, nil)
	set := func(key string, v any) {
		if _, err := q.SetListenData(t.Context(), key, v); err != nil {
			t.Fatal(err)
		}
	}
	set("cfg/a", "after")
	set("other", "x")
	set("cfg/b", json.RawMessage(`{"n":1}`))
	out := waitFor(t, "the changes", &watch.stdout, containsAll("cfg/a = after", "cfg/b"))
	if _, err := q.DeleteListenData(t.Context(), "cfg/a"); err != nil {
		t.Fatal(err)
	}
	out = waitFor(t, "the deletion", &watch.stdout, containsAll("deleted  cfg/a"))
	if !regexp.MustCompile(`(?m)^\S+Z  set  cfg/a = after  \(text, version 2\)$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^\S+Z  set  cfg/b = \{"n":1\}  \(json, version 1\)$`).MatchString(out) ||
		strings.Contains(out, "other") || strings.Contains(out, "before") {
		t.Errorf("watch --prefix cfg/ output:\n%s", out)
	}
	line := waitFor(t, "the change of cfg/b", &one.stdout, containsAll("cfg/b"))
	var got listenJSON
	if err := json.Unmarshal([]byte(line), &got); err != nil || got.Event != "set" || got.Key != "cfg/b" || got.Kind != "json" {
		t.Errorf("watch cfg/b --json: %q (%v)", line, err)
	}
	st, err := q.ListenStats(t.Context())
	if err != nil || len(st.Groups) != 0 {
		t.Errorf("listener groups %+v (%v), want none: watch must not join one", st, err)
	}
	for _, b := range []*background{watch, one} {
		if code := b.stop(t); code != 0 {
			t.Errorf("watch exit %d: %s", code, b.stderr.String())
		}
	}
	if strings.Contains(one.stdout.String(), "cfg/a") {
		t.Errorf("watch cfg/b shows cfg/a:\n%s", one.stdout.String())
	}
}
