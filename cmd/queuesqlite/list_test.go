package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// listIDs runs list with args and returns the ids of its --json lines and
// its stderr.
func listIDs(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	r := cli(t, append([]string{"list", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("list %v: exit %d: %s", args, r.code, r.stderr)
	}
	var ids []string
	for line := range strings.Lines(r.stdout) {
		var m messageJSON
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("list %v: line %q: %v", args, line, err)
		}
		ids = append(ids, m.ID)
	}
	return ids, r.stderr
}

func sorted(ids ...[]string) []string { return slices.Sorted(slices.Values(slices.Concat(ids...))) }

func TestList_Table(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	out := ok(t, "list", "--dir", s.dir, "--status", "failed")
	if !regexp.MustCompile(`(?m)^ID +STATUS +DESTINATION +PRIORITY +ATTEMPTS +CREATED +LAST ERROR$`).MatchString(out) {
		t.Errorf("no header:\n%s", out)
	}
	for _, id := range s.failed {
		row := regexp.MustCompile(`(?m)^` + id + ` +failed +charge +normal +1/\d+ +\d{4}-\d\d-\d\dT\S+Z +card declined$`)
		if !row.MatchString(out) {
			t.Errorf("no row for %s matching %s:\n%s", id, row, out)
		}
	}
	if strings.Contains(out, s.completed[0]) || strings.Contains(out, s.pending[0]) || strings.Contains(out, "second line") {
		t.Errorf("--status failed shows another status or a second error line:\n%s", out)
	}
	if out := ok(t, "list", "--dir", s.dir, "--until", "1h"); out != "no messages\n" {
		t.Errorf("--until 1h (all were sent since): %q", out)
	}
}

func TestList_Filters(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	q, closeQ := openDir(t, s.dir, nil)
	m := queuesqlite.NewMessage("nobody", 1)
	m.Tags = []string{"nightly", "red"}
	tagged, err := q.Send(t.Context(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	closeQ()
	all := sorted(s.completed, s.failed, s.other, s.pending, []string{tagged})
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"All", nil, all},
		{"StatusComma", []string{"--status", "completed,pending"}, sorted(s.completed, s.pending, []string{tagged})},
		{"StatusRepeated", []string{"--status", "completed", "--status", "FAILED"}, sorted(s.completed, s.failed, s.other)},
		{"Destination", []string{"--destination", "charge"}, sorted(s.failed)},
		{"Tag", []string{"--tag", "nightly"}, []string{tagged}},
		{"Since", []string{"--since", "1h"}, all},
		{"SinceRFC3339", []string{"--since", time.Now().Add(time.Hour).Format(time.RFC3339)}, nil},
		{"Until", []string{"--until", time.Now().Add(time.Hour).Format(time.RFC3339)}, all},
	}
	for _, tt := range tests {
		ids, _ := listIDs(t, append([]string{"--dir", s.dir}, tt.args...)...)
		if slices.Sort(ids); !slices.Equal(ids, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, ids, tt.want)
		}
	}
}

// Pages of --limit with the printed cursor, and --all, see every message
// once.
func TestList_Pages(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	all := sorted(s.completed, s.failed, s.other, s.pending)
	var seen []string
	cursor := regexp.MustCompile(`more messages: add --cursor (\S+)\n`)
	args := []string{"--dir", s.dir, "--limit", "3"}
	for range len(all) {
		ids, stderr := listIDs(t, args...)
		if len(ids) > 3 {
			t.Fatalf("--limit 3 printed %d", len(ids))
		}
		seen = append(seen, ids...)
		m := cursor.FindStringSubmatch(stderr)
		if m == nil {
			break
		}
		args = []string{"--dir", s.dir, "--limit", "3", "--cursor", m[1]}
	}
	if slices.Sort(seen); !slices.Equal(seen, all) {
		t.Errorf("paging with --cursor saw %v, want %v", seen, all)
	}
	ids, stderr := listIDs(t, "--dir", s.dir, "--limit", "2", "--all")
	if slices.Sort(ids); !slices.Equal(ids, all) || stderr != "" {
		t.Errorf("--all saw %v (stderr %q), want %v", ids, stderr, all)
	}
}

func TestList_BadInput(t *testing.T) {
	t.Parallel()
	s := seed(t, 1)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"UnknownStatus", []string{"--status", "completed,done"}, `--status: unknown status "done" (want one of pending, scheduled`},
		{"BadSince", []string{"--since", "yesterday"}, `--since: "yesterday" is neither an RFC 3339 time`},
		{"NegativeUntil", []string{"--until", "-1h"}, `--until: "-1h" is neither`},
		{"SinceAfterUntil", []string{"--since", "1h", "--until", "2h"}, "--since ("},
		{"ZeroLimit", []string{"--limit", "0"}, "--limit must be 1 to 1000, not 0"},
		{"BigLimit", []string{"--limit", "1001"}, "--limit must be 1 to 1000"},
		{"BadCursor", []string{"--cursor", "!!"}, "--cursor: invalid argument: bad page cursor"},
		{"Args", []string{"x"}, `unknown command "x" for "queuesqlite list"`},
		{"MissingQueue", []string{"--dir", filepath.Join(t.TempDir(), "none")}, "no queue in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fails(t, tt.want, append([]string{"list", "--dir", s.dir}, tt.args...)...)
			if r.stdout != "" {
				t.Errorf("stdout on bad input: %q", r.stdout)
			}
		})
	}
}
