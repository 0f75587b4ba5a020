package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// testMaxAttempts checks how a message sent without MaxAttempts gets one:
// from the handler of the worker that claims it, not from the sender.
func testMaxAttempts(t *testing.T, open OpenFunc) {
	t.Run("UnsetIsResolvedByTheClaim", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		ctx := context.Background()
		x, y, own := newMsg("x1", "x", 1), newMsg("y1", "y", 1), newMsg("x2", "x", 1)
		x.MaxAttempts, y.MaxAttempts, own.MaxAttempts = 0, 0, 3
		keyed("k", x, y, own)
		if err := d.Insert(ctx, driver.InsertParams{Messages: []*queuetype.Message{x, y, own}, MaxAttemptsDefault: 5}); err != nil {
			t.Fatal(err)
		}
		if m := get(t, d, "x1"); m.MaxAttempts != 5 {
			t.Fatalf("before the claim MaxAttempts reads %d, want the stand-in 5", m.MaxAttempts)
		}
		ms, err := d.Claim(ctx, driver.ClaimParams{Destinations: []string{"x", "y"}, MaxAttempts: []int{2, 7},
			Max: 3, Owner: "owner-1", Now: t0, LeaseUntil: t0.Add(time.Second), Me: "me-1"})
		if err != nil || len(ms) != 3 {
			t.Fatalf("claim: %v, %v", ids(ms), err)
		}
		for id, want := range map[string]int{"x1": 2, "y1": 7, "x2": 3} {
			if m := get(t, d, id); m.MaxAttempts != want {
				t.Errorf("%s after the claim: MaxAttempts %d, want %d", id, m.MaxAttempts, want)
			}
		}
		for _, m := range ms {
			if m.ID == "x1" && m.MaxAttempts != 2 {
				t.Errorf("the claim returned x1 with MaxAttempts %d, want 2", m.MaxAttempts)
			}
		}
		// Rescue now goes by the resolved value: x1 has one attempt left.
		got, err := d.Rescue(ctx, driver.MaintainParams{Now: t0.Add(2 * time.Second), Dead: []string{"owner-1"}})
		if err != nil || len(got) != 3 {
			t.Fatalf("rescue: %v, %v", ids(got), err)
		}
		claim(t, d, 1, t0.Add(3*time.Second), "x")
		if _, err := d.Rescue(ctx, driver.MaintainParams{Now: t0.Add(time.Minute), Dead: []string{"owner-1"}}); err != nil {
			t.Fatal(err)
		}
		if m := wantStatus(t, d, "x1", queuetype.StatusFailed); m.Attempt != 2 {
			t.Fatalf("x1 failed after %d attempts, want 2", m.Attempt)
		}
	})

	t.Run("UnsetNeedsADefault", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		m := newMsg("a", "x", 1)
		m.MaxAttempts = 0
		err := d.Insert(context.Background(), driver.InsertParams{Messages: []*queuetype.Message{m}})
		wantErr(t, "insert without MaxAttempts or a default", err, queuetype.ErrInvalidArgument)
	})
}
