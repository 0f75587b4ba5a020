package sqlite

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// TestStatusLiteralsMatchQueuetype: every status literal the SQL is built
// from is the number of its queuetype.Status, and the sets hold exactly
// the statuses they are named for.
func TestStatusLiteralsMatchQueuetype(t *testing.T) {
	literals := map[string]queuetype.Status{
		stPending: queuetype.StatusPending, stProcessing: queuetype.StatusProcessing,
		stCompleted: queuetype.StatusCompleted, stFailed: queuetype.StatusFailed,
		stRetrying: queuetype.StatusRetrying, stExpired: queuetype.StatusExpired,
		stCancelled: queuetype.StatusCancelled, stScheduled: queuetype.StatusScheduled,
	}
	if len(literals) != len(queuetype.AllStatuses) {
		t.Fatalf("%d distinct status literals, want %d", len(literals), len(queuetype.AllStatuses))
	}
	for lit, s := range literals {
		if want := strconv.Itoa(int(s)); lit != want {
			t.Errorf("status %s: literal %q, want %q", s, lit, want)
		}
	}
	sets := map[string]struct {
		got  string
		keep func(queuetype.Status) bool
	}{
		"terminal": {stTerminal, queuetype.Status.Terminal},
		"timed":    {stTimed, func(s queuetype.Status) bool { return s == queuetype.StatusRetrying || s == queuetype.StatusScheduled }},
		"not started": {stNotStarted, func(s queuetype.Status) bool {
			return s == queuetype.StatusPending || s == queuetype.StatusRetrying || s == queuetype.StatusScheduled
		}},
		"requeueable": {stRequeueable, func(s queuetype.Status) bool { return s.Terminal() && s != queuetype.StatusCompleted }},
	}
	for name, set := range sets {
		var want []string
		for _, s := range queuetype.AllStatuses {
			if set.keep(s) {
				want = append(want, strconv.Itoa(int(s)))
			}
		}
		if w := strings.Join(want, ", "); set.got != w {
			t.Errorf("set %s: %q, want %q", name, set.got, w)
		}
	}
}

// TestStatusStatementsUseThePartialIndexes: the statements built from the
// status constants still name the literal statuses the partial indexes are
// defined on, so SQLite uses them (a bound parameter would not).
func TestStatusStatementsUseThePartialIndexes(t *testing.T) {
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "shard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cases := map[string]string{
		claimSelectSQL(1): "messages_ready",
		claimSelectSQL(2): "messages_ready",
		claimUpdateSQL(2): "INTEGER PRIMARY KEY",
		headSQL(2):        "messages_ready",
		sqlNextDue:        "messages_due",
		sqlPromote:        "messages_due",
		sqlExpire:         "messages_expiry",
		sqlRescue:         "messages_leased",
		sqlStatsOldest:    "messages_ready",
		sqlFinished:       "messages_callback",
	}
	for query, index := range cases {
		rows, err := d.read.Query(`EXPLAIN QUERY PLAN `+query, make([]any, maxParam(query))...)
		if err != nil {
			t.Fatalf("explain %.60q: %v", query, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if !strings.Contains(strings.Join(plan, "\n"), index) {
			t.Errorf("%.60q does not use %s: %v", query, index, plan)
		}
	}
}

// maxParam returns the highest ?N parameter of query.
func maxParam(query string) int {
	n := 0
	for _, m := range regexp.MustCompile(`\?(\d+)`).FindAllStringSubmatch(query, -1) {
		if i, _ := strconv.Atoi(m[1]); i > n {
			n = i
		}
	}
	return n
}
