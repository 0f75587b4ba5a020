package dbtest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// recorder keeps the errors a check reports instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

// TestCheckInvariantsCatchesEachBreak: a shard in a sound state passes, and
// each invariant, broken on a row of its own, is reported (the status sets
// of the checks are built from queuetype, so they must select the right
// rows).
func TestCheckInvariantsCatchesEachBreak(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "queue_shard_0.db")
	d, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var ms []*queuetype.Message
	for i := range 4 {
		ms = append(ms, &queuetype.Message{ID: fmt.Sprint("m", i), Type: queuetype.TypeTask,
			Status: queuetype.StatusPending, Destination: "x", Source: queuetype.SourceDefault,
			Content: []byte(`{}`), CreatedAt: now, UpdatedAt: now, RunAt: now, MaxAttempts: 3})
	}
	if err := d.Insert(context.Background(), driver.InsertParams{Messages: ms}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	clean := &recorder{TB: t}
	CheckInvariants(clean, dir)
	if len(clean.errs) > 0 {
		t.Fatalf("a sound shard was reported: %v", clean.errs)
	}
	breaks := map[string]struct {
		set    string
		status queuetype.Status
	}{
		"processing rows without a lease": {"lease_owner = NULL", queuetype.StatusProcessing},
		"terminal rows without finish":    {"finished_at = NULL", queuetype.StatusCancelled},
		"live rows with a finish time":    {"finished_at = 1", queuetype.StatusScheduled},
		"leases on rows not processing":   {"lease_owner = 'w'", queuetype.StatusRetrying},
	}
	db, i := Open(t, path), 0
	for _, b := range breaks {
		if _, err := db.Exec(`UPDATE messages SET status = ?, `+b.set+` WHERE id = ?`, int(b.status), fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
		i++
	}
	broken := &recorder{TB: t}
	CheckInvariants(broken, dir)
	got := strings.Join(broken.errs, "\n")
	for what := range breaks {
		if !strings.Contains(got, "1 "+what) {
			t.Errorf("%q not reported; got:\n%s", what, got)
		}
	}
}
