package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// hostile holds text a sender chooses: terminal escape sequences (ESC, BEL,
// an 8-bit CSI) and a bidi override that would reorder the line.
const hostile = "evil\x1b]0;pwned\x07\x1b[2J\u009b31m\u202etxt.exe\r"

// assertTerminalSafe fails if out has a byte or rune that a terminal
// interprets: control characters other than newline and tab, C1 controls,
// bidi controls.
func assertTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for _, r := range out {
		if (unicode.IsControl(r) && r != '\n' && r != '\t') || unicode.Is(unicode.Bidi_Control, r) {
			t.Fatalf("%s prints %U raw:\n%q", what, r, out)
		}
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain é 日本", "plain é 日本"},
		{"a\x1b[31mb", `a\x1b[31mb`},
		{"bell\x07 del\x7f", `bell\x07 del\x7f`},
		{"csi\u009bx", `csi\u009bx`},
		{"rtl\u202eabc\u2066", `rtl\u202eabc\u2066`},
		{"tab\tnl\ncr\r", `tab\tnl\ncr\r`},
		{"bad\xffutf8", `bad\xffutf8`},
	}
	for _, tt := range tests {
		if got := clean(tt.in, 100); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("x", 1000)
	if got := clean(long, 10); !strings.HasPrefix(got, "xxxxxxxxxx") || strings.Count(got, "x") != 10 || !strings.Contains(got, "990 more bytes") {
		t.Errorf("clean of 1000 bytes cut at 10: %q", got)
	}
	if got := cleanLines("one\x1b\ntwo", 100); got != "one\\x1b\ntwo" {
		t.Errorf("cleanLines keeps newlines only: %q", got)
	}
}

// An invalid content is not echoed whole (it may hold a secret) and not
// raw.
func TestSend_InvalidContentIsCutAndEscaped(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	secret := `{"token":"` + strings.Repeat("s3cr3t", 50) + `"` + hostile
	r := fails(t, "is not valid JSON", "send", "--dir", dir, "x", secret)
	assertTerminalSafe(t, "send's error", r.stderr)
	if strings.Contains(r.stderr, strings.Repeat("s3cr3t", 5)) {
		t.Fatalf("send echoes the content whole:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "more bytes") {
		t.Fatalf("send's error does not say the content was cut:\n%s", r.stderr)
	}
}

// `send ""` is refused before the queue is created.
func TestSend_InvalidMessageCreatesNothing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	fails(t, "no destination", "send", "--dir", dir, "", "{}")
	fails(t, "message id longer", "send", "--dir", dir, "x", "{}", "--id", strings.Repeat("i", queuetype.MaxIDLength+1))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused send created %s (stat: %v)", dir, err)
	}
}

// Destinations, ids and error texts chosen by a sender are printed escaped
// by every command that shows them.
func TestOutput_EscapesSenderText(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	q, closeQ := openDir(t, dir, &queuesqlite.Config{Workers: 1})
	q.Handle(hostile, func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, errors.New("declined " + hostile + strings.Repeat(" and more", 100) + ": " + queuesqlite.ErrSkipRetry.Error())
	}, &queuesqlite.HandlerOpts{MaxAttempts: 1})
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	m := queuesqlite.NewMessage(hostile, 1)
	m.ID = "id" + hostile
	m.Tags = []string{hostile}
	id, err := q.Send(t.Context(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), testDeadline)
	defer cancel()
	if got, err := q.Wait(ctx, id); err != nil || got.Status != queuesqlite.StatusFailed {
		t.Fatalf("wait: %v %v", got, err)
	}
	closeQ()
	for _, args := range [][]string{
		{"stats"}, {"stats", "--json"}, {"failed", "list"}, {"failed", "list", "--json"},
		{"failed", "retry", "id" + hostile}, {"doctor"},
	} {
		r := cli(t, append(args, "--dir", dir)...)
		assertTerminalSafe(t, strings.Join(args, " "), r.stdout+r.stderr)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, `evil\x1b]0;pwned\x07`) && !strings.Contains(r.stdout, `evil\u001b]0;pwned\u0007`) && args[0] != "doctor" {
			t.Errorf("%v does not show the destination or id escaped:\n%s", args, r.stdout)
		}
	}
	r := cli(t, "failed", "retry", "--dir", dir, "nope"+hostile)
	assertTerminalSafe(t, "failed retry of a missing id", r.stdout+r.stderr)
	if r.code != 1 || !strings.Contains(r.stderr, `nopeevil\x1b]0;pwned`) {
		t.Fatalf("retry of a missing id: exit %d, stderr %q", r.code, r.stderr)
	}
}
