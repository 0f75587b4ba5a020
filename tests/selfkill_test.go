package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// Test 3: a handler that kills its own process every time it runs. Each
// death leaves the message leased to a dead process; once the lease
// expires the attempt is counted, and after MaxAttempts the message ends
// failed. The other messages keep flowing through the restarted processes
// meanwhile.
func TestSelfKillingHandler_FailsAfterMaxAttempts(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	jobs := size.selfKillJobs
	const maxAttempts = 3
	bombID := sendBombAndJobs(t, qdir, jobs, maxAttempts)
	raw := openRaw(t, qdir)
	bombStatus := func() queuesqlite.Status { return raw.rows("id = ?", bombID)[bombID].Status }
	completedJobs := func() int { return len(raw.ids("destination = 'job' AND status = ?", queuesqlite.StatusCompleted)) }

	spec := workerSpec{Dir: qdir, Records: dir, Workers: 4, Lease: time.Second, Maintenance: 100 * time.Millisecond,
		MaxAttempts: 100, StopAfter: 5 * time.Second, WorkFor: 5 * time.Millisecond,
		Handlers: map[string]string{"job": "record", "bomb": "selfkill"}}
	var deaths []int // completed jobs at each death
	var c *child
	start := time.Now()
	for life := 0; ; life++ {
		spec.Name = fmt.Sprint("life", life)
		c = startChild(t, dir, spec.Name, "worker", spec)
		waitUntil(t, "the child to die or the bomb to fail", func() bool {
			return c.hasExited() || bombStatus() == queuesqlite.StatusFailed
		})
		if !c.hasExited() {
			break
		}
		if !killedBy(c.state, syscall.SIGKILL) {
			t.Fatalf("life %d ended with %v, not by its own SIGKILL\n%s", life, c.state, c.stderrTail())
		}
		deaths = append(deaths, completedJobs())
		if life > 2*maxAttempts {
			t.Fatalf("the bomb killed %d processes; it should have failed after %d attempts", len(deaths), maxAttempts)
		}
	}
	failedAt := completedJobs()
	bombFailedAfter := time.Since(start)
	waitAlive(t, "every job completed", func() bool { return completedJobs() == jobs }, c)
	c.signal(syscall.SIGTERM)
	if st := c.wait(); !c.exitedCleanly(st) {
		t.Errorf("last life ended with %v\n%s", st, c.stderrTail())
	}

	bomb := raw.rows("id = ?", bombID)[bombID]
	var ran []int
	for _, r := range readRecords(t, dir)[bombID] {
		ran = append(ran, r.Attempt)
	}
	t.Logf("the self-killing handler killed %d processes (runs %v), failed after %v with attempt %d/%d: %q; jobs completed at each death %v, when it failed %d, in all %d of %d",
		len(deaths), ran, bombFailedAfter.Round(time.Millisecond), bomb.Attempt, maxAttempts, bomb.LastError.String,
		deaths, failedAt, completedJobs(), jobs)
	if len(deaths) != maxAttempts || len(ran) != maxAttempts {
		t.Errorf("%d deaths and runs %v, want %d of each", len(deaths), ran, maxAttempts)
	}
	if bomb.Status != queuesqlite.StatusFailed || bomb.Attempt != maxAttempts || !strings.Contains(bomb.LastError.String, "lease") {
		t.Errorf("bomb: %s attempt %d error %q; want failed at attempt %d after an expired lease",
			bomb.Status, bomb.Attempt, bomb.LastError.String, maxAttempts)
	}
	if len(deaths) > 0 && failedAt <= deaths[0] {
		t.Errorf("no job completed between the first death (%d completed) and the bomb's failure (%d)", deaths[0], failedAt)
	}
}

// sendBombAndJobs sends one urgent self-killing message with maxAttempts,
// then jobs ordinary ones; it returns the bomb's id.
func sendBombAndJobs(t *testing.T, qdir string, jobs, maxAttempts int) string {
	t.Helper()
	q, err := queuesqlite.Open(qdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	bomb := queuesqlite.NewMessage("bomb", nil)
	bomb.Priority, bomb.MaxAttempts = queuesqlite.PriorityUrgent, maxAttempts
	id, err := q.Send(context.Background(), bomb, nil)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]*queuesqlite.Message, jobs)
	for i := range batch {
		batch[i] = queuesqlite.NewMessage("job", i)
		batch[i].MaxAttempts = 100
	}
	if _, err := q.SendBatch(context.Background(), batch, nil); err != nil {
		t.Fatal(err)
	}
	return id
}
