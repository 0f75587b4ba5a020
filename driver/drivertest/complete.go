package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// completion builds the outcome of the attempt claimed in m.
func completion(m *queuetype.Message, status queuetype.Status, now time.Time) *driver.Completion {
	return &driver.Completion{Seq: m.Seq, Attempt: m.Attempt, Owner: m.LeaseOwner, Status: status, Now: now, Me: "me-1"}
}

func completeOne(t *testing.T, d driver.Driver, c *driver.Completion) {
	t.Helper()
	if err := d.Complete(context.Background(), []*driver.Completion{c}); err != nil {
		t.Fatalf("complete: %v", err)
	}
}

func testComplete(t *testing.T, open OpenFunc) {
	// Table of outcomes: given a claimed message (attempt 1), the completion,
	// then the row we want.
	cases := []struct {
		name        string
		status      queuetype.Status
		result      string
		errText     string
		runAt       time.Time
		uncharge    bool
		wantAttempt int
		wantRetries int
		wantDone    bool
	}{
		{name: "Completed", status: queuetype.StatusCompleted, result: `{"ok":true}`, wantAttempt: 1, wantDone: true},
		{name: "Failed", status: queuetype.StatusFailed, errText: "boom", wantAttempt: 1, wantDone: true},
		{name: "Retrying", status: queuetype.StatusRetrying, errText: "try later", runAt: t0.Add(time.Minute), wantAttempt: 1, wantRetries: 1},
		{name: "Snoozed", status: queuetype.StatusScheduled, runAt: t0.Add(time.Hour), uncharge: true, wantAttempt: 0},
		{name: "Released", status: queuetype.StatusPending, uncharge: true, wantAttempt: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := open(t).Driver
			insert(t, d, newMsg("m", "x", 1))
			m := claim(t, d, 1, t0, "x")[0]
			c := completion(m, tc.status, t0.Add(time.Second))
			c.Error, c.RunAt, c.Uncharge = tc.errText, tc.runAt, tc.uncharge
			if tc.result != "" {
				c.Result = []byte(tc.result)
			}
			completeOne(t, d, c)
			if !c.Applied {
				t.Fatal("completion by the lease holder was not applied")
			}
			got := wantStatus(t, d, "m", tc.status)
			if got.Attempt != tc.wantAttempt || got.RetryCount != tc.wantRetries {
				t.Errorf("attempt %d retries %d, want %d %d", got.Attempt, got.RetryCount, tc.wantAttempt, tc.wantRetries)
			}
			if got.FinishedAt.IsZero() == tc.wantDone {
				t.Errorf("finished at %v, want finished=%v", got.FinishedAt, tc.wantDone)
			}
			if string(got.Result) != tc.result || got.LastError != tc.errText {
				t.Errorf("result %q error %q", got.Result, got.LastError)
			}
			if !tc.runAt.IsZero() && !got.RunAt.Equal(tc.runAt) {
				t.Errorf("run at %v, want %v", got.RunAt, tc.runAt)
			}
			if got.LeaseOwner != "" || !got.LeaseExpiry.IsZero() {
				t.Errorf("lease kept after completion: %q %v", got.LeaseOwner, got.LeaseExpiry)
			}
		})
	}

	t.Run("FencedAgainstStaleAttempts", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("m", "x", 1))
		m := claim(t, d, 1, t0, "x")[0]
		stale := []*driver.Completion{
			{Seq: m.Seq, Attempt: m.Attempt + 1, Owner: m.LeaseOwner, Status: queuetype.StatusCompleted, Now: t0},
			{Seq: m.Seq, Attempt: m.Attempt, Owner: "someone-else", Status: queuetype.StatusCompleted, Now: t0},
		}
		if err := d.Complete(context.Background(), stale); err != nil {
			t.Fatal(err)
		}
		for i, c := range stale {
			if c.Applied {
				t.Errorf("stale completion %d was applied", i)
			}
		}
		wantStatus(t, d, "m", queuetype.StatusProcessing)
		good := completion(m, queuetype.StatusCompleted, t0)
		completeOne(t, d, good)
		again := completion(m, queuetype.StatusFailed, t0)
		completeOne(t, d, again)
		if !good.Applied || again.Applied {
			t.Fatalf("applied: first %v, second %v; want true, false", good.Applied, again.Applied)
		}
		wantStatus(t, d, "m", queuetype.StatusCompleted)
	})

	t.Run("ErrorKeptWhenLaterAttemptSucceeds", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("m", "x", 1))
		m := claim(t, d, 1, t0, "x")[0]
		c := completion(m, queuetype.StatusRetrying, t0)
		c.Error, c.RunAt = "first failure", t0
		completeOne(t, d, c)
		if _, err := d.Promote(context.Background(), driver.MaintainParams{Now: t0}); err != nil {
			t.Fatal(err)
		}
		m = claim(t, d, 1, t0, "x")[0]
		if m.Attempt != 2 {
			t.Fatalf("second claim attempt %d", m.Attempt)
		}
		completeOne(t, d, completion(m, queuetype.StatusCompleted, t0))
		got := wantStatus(t, d, "m", queuetype.StatusCompleted)
		if got.LastError != "first failure" || got.RetryCount != 1 || got.Attempt != 2 {
			t.Fatalf("after success: error %q retries %d attempt %d", got.LastError, got.RetryCount, got.Attempt)
		}
	})
}
