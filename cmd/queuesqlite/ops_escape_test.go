package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// get, list, tail, cancel and listen print text a sender chose (ids,
// destinations, tags, content, results, errors, listen keys and values)
// escaped, in tables and in JSON.
func TestOps_EscapeSenderText(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	q, closeQ := openDir(t, dir, &queuesqlite.Config{Workers: 1})
	q.Handle(hostile, func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, errors.New("declined " + hostile + "\n" + hostile + ": " + queuesqlite.ErrSkipRetry.Error())
	}, &queuesqlite.HandlerOpts{MaxAttempts: 1})
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	m := queuesqlite.NewMessage(hostile, map[string]string{"s": hostile})
	m.ID, m.Tags = "id"+hostile, []string{hostile}
	m.SetMetadata(map[string]string{"m": hostile})
	id, err := q.Send(t.Context(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), testDeadline)
	defer cancel()
	if got, err := q.Wait(ctx, id); err != nil || got.Status != queuesqlite.StatusFailed {
		t.Fatalf("wait: %v %v", got, err)
	}
	if _, err := q.SetListenData(t.Context(), "key"+hostile, "value"+hostile); err != nil {
		t.Fatal(err)
	}
	closeQ()
	escaped := []string{`evil\x1b]0;pwned\x07`, `evil\u001b]0;pwned\u0007`}
	for _, args := range [][]string{
		{"get", id}, {"get", id, "--json"}, {"list"}, {"list", "--json"}, {"list", "--tag", hostile},
		{"listen", "get", "key" + hostile}, {"listen", "get", "key" + hostile, "--json"},
	} {
		r := cli(t, append(args, "--dir", dir)...)
		assertTerminalSafe(t, strings.Join(args, " "), r.stdout+r.stderr)
		if r.code != 0 || !strings.Contains(r.stdout, escaped[0]) && !strings.Contains(r.stdout, escaped[1]) {
			t.Errorf("%q: exit %d, want the sender's text escaped:\n%s\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{
		{"get", "nope" + hostile}, {"cancel", "nope" + hostile}, {"cancel", id}, {"list", "--status", hostile},
		{"list", "--since", hostile}, {"listen", "get", "nope" + hostile}, {"listen", "set", "--json", "k", hostile},
	} {
		r := cli(t, append(args, "--dir", dir)...)
		assertTerminalSafe(t, strings.Join(args, " "), r.stdout+r.stderr)
		if r.code != 1 || !strings.Contains(r.stderr, `\x1b`) {
			t.Errorf("%q: exit %d, want 1 with the input escaped in the error:\n%s", args, r.code, r.stderr)
		}
	}
	for _, args := range [][]string{{"tail", "--since", "1h"}, {"tail", "--since", "1h", "--json"}} {
		b := startCLI(t, append(args, "--dir", dir, "--interval", "20ms")...)
		out := waitFor(t, "the failure", &b.stdout, func(s string) bool { return strings.Contains(s, "pwned") })
		b.stop(t)
		assertTerminalSafe(t, strings.Join(args, " "), out+b.stderr.String())
	}
	var v messageJSON
	if err := json.Unmarshal([]byte(ok(t, "get", "--dir", dir, id, "--json")), &v); err != nil || v.ID != id || v.Tags[0] != hostile {
		t.Errorf("get --json does not decode to the exact strings: %+v %v", v, err)
	}
}
