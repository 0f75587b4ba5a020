package drivertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// testPause checks driver.Pauser: a set of pauses shared by every handle,
// idempotent both ways, validated, and announced to other handles.
func testPause(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	pauser := func(t *testing.T, d driver.Driver) driver.Pauser {
		p, ok := d.(driver.Pauser)
		if !ok {
			t.Skip("the driver stores no pauses")
		}
		return p
	}

	t.Run("EmptyStoreHasNone", func(t *testing.T) {
		t.Parallel()
		p := pauser(t, open(t).Driver)
		wantPauses(t, p, "")
	})

	t.Run("PauseResumeAndOrder", func(t *testing.T) {
		t.Parallel()
		p := pauser(t, open(t).Driver)
		setPaused(t, p, driver.PauseQueue, "slow", true, t0)
		setPaused(t, p, driver.PauseDestination, "b", true, t0.Add(time.Second))
		setPaused(t, p, driver.PauseDestination, "a", true, t0.Add(2*time.Second))
		wantPauses(t, p, "destination:a@2s destination:b@1s queue:slow@0s")
		setPaused(t, p, driver.PauseDestination, "b", false, t0)
		wantPauses(t, p, "destination:a@2s queue:slow@0s")
	})

	t.Run("KindsAreSeparate", func(t *testing.T) {
		t.Parallel()
		p := pauser(t, open(t).Driver)
		setPaused(t, p, driver.PauseDestination, "x", true, t0)
		setPaused(t, p, driver.PauseQueue, "x", true, t0)
		setPaused(t, p, driver.PauseQueue, "x", false, t0)
		wantPauses(t, p, "destination:x@0s")
	})

	t.Run("IdempotentBothWays", func(t *testing.T) {
		t.Parallel()
		p := pauser(t, open(t).Driver)
		setPaused(t, p, driver.PauseDestination, "a", true, t0)
		setPaused(t, p, driver.PauseDestination, "a", true, t0.Add(time.Hour)) // keeps the first time
		wantPauses(t, p, "destination:a@0s")
		setPaused(t, p, driver.PauseDestination, "a", false, t0)
		setPaused(t, p, driver.PauseDestination, "a", false, t0)
		setPaused(t, p, driver.PauseDestination, "never-paused", false, t0)
		wantPauses(t, p, "")
	})

	t.Run("BadInputIsRefused", func(t *testing.T) {
		t.Parallel()
		p := pauser(t, open(t).Driver)
		for _, bad := range []driver.PauseParams{
			{Kind: driver.PauseDestination, Name: "", Paused: true, Now: t0},
			{Kind: 0, Name: "a", Paused: true, Now: t0},
			{Kind: 9, Name: "a", Paused: false, Now: t0},
		} {
			wantErr(t, fmt.Sprintf("SetPaused(%+v)", bad), p.SetPaused(ctx, bad), queuetype.ErrInvalidArgument)
		}
		wantPauses(t, p, "")
	})

	t.Run("PauseDoesNotChangeClaims", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		p := pauser(t, d)
		insert(t, d, newMsg("m1", "a", queuetype.PriorityNormal))
		setPaused(t, p, driver.PauseDestination, "a", true, t0)
		// The store records pauses; leaving paused destinations out of
		// the claim is the queue's part.
		wantIDs(t, "claim of a paused destination", claim(t, d, 10, t0, "a"), "m1")
	})

	t.Run("VisibleToAnotherHandleWithAChangeSignal", func(t *testing.T) {
		t.Parallel()
		h, b := twoHandles(t, open)
		pa, pb := pauser(t, h.Driver), pauser(t, b)
		drain(b.Changes())
		setPaused(t, pa, driver.PauseDestination, "a", true, t0)
		wantPauses(t, pb, "destination:a@0s")
		select {
		case <-b.Changes():
		case <-time.After(eventually):
			t.Fatal("the other handle's Changes did not fire after a pause")
		}
		setPaused(t, pb, driver.PauseDestination, "a", false, t0)
		wantPauses(t, pa, "")
	})
}

func setPaused(t *testing.T, p driver.Pauser, kind driver.PauseKind, name string, paused bool, now time.Time) {
	t.Helper()
	if err := p.SetPaused(context.Background(), driver.PauseParams{Kind: kind, Name: name, Paused: paused, Now: now}); err != nil {
		t.Fatalf("SetPaused(%s %q, %v): %v", kind, name, paused, err)
	}
}

// wantPauses compares the stored pauses, as "kind:name@since-t0" joined by
// spaces, with want.
func wantPauses(t *testing.T, p driver.Pauser, want string) {
	t.Helper()
	got, err := p.Paused(context.Background())
	if err != nil {
		t.Fatalf("paused: %v", err)
	}
	s := ""
	for i, st := range got {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s:%s@%v", st.Kind, st.Name, st.Since.Sub(t0))
	}
	if s != want {
		t.Fatalf("paused: got %q, want %q", s, want)
	}
}
