package drivertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

func testClaim(t *testing.T, open OpenFunc) {
	t.Run("PriorityThenSendOrder", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, keyed("k",
			newMsg("low-1", "x", queuetype.PriorityLow),
			newMsg("normal-1", "x", queuetype.PriorityNormal),
			newMsg("urgent-1", "x", queuetype.PriorityUrgent),
			newMsg("normal-2", "x", queuetype.PriorityNormal),
			newMsg("high-1", "x", queuetype.PriorityHigh),
			newMsg("urgent-2", "x", queuetype.PriorityUrgent),
		)...)
		wantIDs(t, "first claim", claim(t, d, 3, t0, "x"), "urgent-1", "urgent-2", "high-1")
		wantIDs(t, "second claim", claim(t, d, 10, t0, "x"), "normal-1", "normal-2", "low-1")
		wantIDs(t, "third claim", claim(t, d, 10, t0, "x"))
	})

	t.Run("OnlyServedDestinations", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, keyed("k", newMsg("a1", "a", 1), newMsg("b1", "b", 3), newMsg("c1", "c", 2), newMsg("a2", "a", 2))...)
		wantIDs(t, "claim a,c", claim(t, d, 10, t0, "a", "c"), "c1", "a2", "a1")
		wantStatus(t, d, "b1", queuetype.StatusPending)
		prio, ok, err := d.Head(context.Background(), []string{"b"})
		if err != nil || !ok || prio != queuetype.PriorityUrgent {
			t.Fatalf("head of b: %v %v %v", prio, ok, err)
		}
		if _, ok, _ := d.Head(context.Background(), []string{"a", "c"}); ok {
			t.Fatal("head reports work for a and c after they were claimed")
		}
	})

	t.Run("LeasesAndCountsAnAttempt", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("m", "x", 1))
		got := claim(t, d, 1, t0.Add(time.Second), "x")
		if len(got) != 1 {
			t.Fatalf("claimed %d", len(got))
		}
		m := wantStatus(t, d, "m", queuetype.StatusProcessing)
		if m.Attempt != 1 || m.LeaseOwner != "owner-1" || !m.LeaseExpiry.Equal(t0.Add(31*time.Second)) {
			t.Fatalf("after claim: attempt %d owner %q lease %v", m.Attempt, m.LeaseOwner, m.LeaseExpiry)
		}
		if got[0].Attempt != 1 || string(got[0].Content) != `{"n":1}` {
			t.Fatalf("claimed copy: attempt %d content %s", got[0].Attempt, got[0].Content)
		}
	})

	t.Run("ExpiredAreNotRun", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		old := newMsg("old", "x", 3)
		old.ExpireAt = t0.Add(time.Second)
		fresh := newMsg("fresh", "x", 1)
		fresh.ExpireAt = t0.Add(time.Hour)
		insert(t, d, old, fresh)
		got := claim(t, d, 10, t0.Add(time.Minute), "x")
		if len(got) != 2 || got[0].Status != queuetype.StatusExpired || got[1].Status != queuetype.StatusProcessing {
			t.Fatalf("claim returned %v with statuses %v, %v", ids(got), got[0].Status, got[len(got)-1].Status)
		}
		m := wantStatus(t, d, "old", queuetype.StatusExpired)
		if m.Attempt != 0 || m.LeaseOwner != "" || m.FinishedAt.IsZero() {
			t.Fatalf("expired message: attempt %d, lease %q, finished %v", m.Attempt, m.LeaseOwner, m.FinishedAt)
		}
	})

	t.Run("ClaimedCopyIsWhatIsStored", func(t *testing.T) {
		t.Parallel()
		claimedCopyIsWhatIsStored(t, open(t).Driver)
	})

	t.Run("ScheduledWaitsForPromotion", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		later := newMsg("later", "x", 3)
		later.Status, later.RunAt = queuetype.StatusScheduled, t0.Add(time.Minute)
		insert(t, d, later, newMsg("now", "x", 0))
		wantIDs(t, "before due", claim(t, d, 10, t0, "x"), "now")
		due, ok, err := d.NextDue(context.Background())
		if err != nil || !ok || !due.Equal(t0.Add(time.Minute)) {
			t.Fatalf("next due: %v %v %v", due, ok, err)
		}
		for _, tc := range []struct {
			at   time.Time
			want int
		}{{t0.Add(59 * time.Second), 0}, {t0.Add(time.Minute), 1}} {
			n, err := d.Promote(context.Background(), driver.MaintainParams{Now: tc.at})
			if err != nil || n != tc.want {
				t.Fatalf("promote at %v: %d, %v; want %d", tc.at, n, err, tc.want)
			}
		}
		wantIDs(t, "after due", claim(t, d, 10, t0.Add(time.Minute), "x"), "later")
		if _, ok, _ := d.NextDue(context.Background()); ok {
			t.Fatal("next due still reports a message")
		}
	})

	t.Run("SkipsOtherDestinationsBacklog", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		var ms []*queuetype.Message
		for i := range 2000 {
			ms = append(ms, newMsg(fmt.Sprint("other-", i), "other", 3))
		}
		ms = append(ms, newMsg("mine", "mine", 0))
		insert(t, d, ms...)
		wantIDs(t, "claim mine", claim(t, d, 5, t0, "mine"), "mine")
	})
}

// claimedCopyIsWhatIsStored claims, over two destinations, a plain message,
// one that expired while it waited, and two sent without MaxAttempts (one
// of a destination whose handler sets it, one whose handler does not): each
// copy the claim returns must equal the stored row read back, field by
// field, so a backend that computes the returned copy apart from the update
// cannot drift from what it stores.
func claimedCopyIsWhatIsStored(t *testing.T, d driver.Driver) {
	ctx := context.Background()
	plain := newMsg("plain", "x", queuetype.PriorityHigh)
	plain.Tags, plain.Metadata = []string{"a", "b"}, []byte(`{"k":"v"}`)
	expired := newMsg("expired", "y", queuetype.PriorityUrgent)
	expired.ExpireAt = t0.Add(time.Second)
	unsetX := newMsg("unset-x", "x", queuetype.PriorityNormal)
	unsetY := newMsg("unset-y", "y", queuetype.PriorityLow)
	unsetX.MaxAttempts, unsetY.MaxAttempts = 0, 0
	err := d.Insert(ctx, driver.InsertParams{Messages: []*queuetype.Message{plain, expired, unsetX, unsetY},
		MaxAttemptsDefault: 5, CallbackOwners: []string{"me-1", "me-1", "me-1", "me-1"}})
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	got, err := d.Claim(ctx, driver.ClaimParams{
		Destinations: []string{"x", "y"}, MaxAttempts: []int{7, 0}, Max: 10, Owner: "owner-1", Now: now,
		LeaseUntil: now.Add(30 * time.Second), Me: "me-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "claim", got, "expired", "plain", "unset-x", "unset-y")
	for _, m := range got {
		stored := get(t, d, m.ID)
		if a, b := claimedFields(m), claimedFields(stored); a != b {
			t.Errorf("claimed copy of %s differs from the stored row:\nclaimed %s\nstored  %s", m.ID, a, b)
		}
	}
	if m := get(t, d, "unset-x"); m.MaxAttempts != 7 {
		t.Errorf("unset-x has MaxAttempts %d after the claim, want the handler's 7", m.MaxAttempts)
	}
	if m := get(t, d, "unset-y"); m.MaxAttempts != 5 {
		t.Errorf("unset-y has MaxAttempts %d after the claim, want the stand-in 5", m.MaxAttempts)
	}
}

// claimedFields prints every stored field of m in one comparable line.
func claimedFields(m *queuetype.Message) string {
	return fmt.Sprintf("id=%s type=%s status=%v dest=%s source=%s content=%s result=%s prio=%d created=%v updated=%v "+
		"run=%v expire=%v finished=%v attempt=%d max=%d retries=%d error=%q tags=%q meta=%s owner=%q lease=%v key=%q",
		m.ID, m.Type, m.Status, m.Destination, m.Source, m.Content, m.Result, m.Priority,
		m.CreatedAt.UnixMicro(), m.UpdatedAt.UnixMicro(), m.RunAt.UnixMicro(), m.ExpireAt.UnixMicro(),
		m.FinishedAt.UnixMicro(), m.Attempt, m.MaxAttempts, m.RetryCount, m.LastError, m.Tags, m.Metadata,
		m.LeaseOwner, m.LeaseExpiry.UnixMicro(), m.ShardKey)
}
