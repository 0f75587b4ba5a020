package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// claimCompleter returns d as a driver.ClaimCompleter, or skips t.
func claimCompleter(t *testing.T, d driver.Driver) driver.ClaimCompleter {
	t.Helper()
	cc, ok := d.(driver.ClaimCompleter)
	if !ok {
		t.Skip("backend does not implement driver.ClaimCompleter")
	}
	return cc
}

// claimParams are the suite's claim of up to max of dests at now.
func claimParams(max int, now time.Time, dests ...string) driver.ClaimParams {
	return driver.ClaimParams{Destinations: dests, Max: max, Owner: "owner-1", Now: now,
		LeaseUntil: now.Add(30 * time.Second), Me: "me-1"}
}

func testClaimComplete(t *testing.T, open OpenFunc) {
	t.Run("Fenced", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		cc := claimCompleter(t, d)
		insert(t, d, keyed("k", newMsg("a", "x", 1), newMsg("b", "x", 1))...)
		ms := claim(t, d, 2, t0, "x")
		good := completion(ms[0], queuetype.StatusCompleted, t0)
		stale := completion(ms[1], queuetype.StatusCompleted, t0)
		stale.Owner = "someone-else"
		got, err := cc.CompleteAndClaim(context.Background(), []*driver.Completion{good, stale}, claimParams(5, t0, "x"))
		if err != nil {
			t.Fatal(err)
		}
		if !good.Applied || stale.Applied {
			t.Fatalf("applied: lease holder %v, stale %v; want true, false", good.Applied, stale.Applied)
		}
		wantIDs(t, "claimed", got)
		wantStatus(t, d, "a", queuetype.StatusCompleted)
		if m := wantStatus(t, d, "b", queuetype.StatusProcessing); m.LeaseOwner != "owner-1" {
			t.Fatalf("stale completion moved the lease to %q", m.LeaseOwner)
		}
	})

	t.Run("ClaimSeesCompletions", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		cc := claimCompleter(t, d)
		insert(t, d, keyed("k", newMsg("a", "x", 2), newMsg("b", "x", 2), newMsg("c", "x", 1))...)
		ms := claim(t, d, 2, t0, "x") // a and b
		release := completion(ms[0], queuetype.StatusPending, t0)
		release.Uncharge = true
		done := completion(ms[1], queuetype.StatusCompleted, t0)
		got, err := cc.CompleteAndClaim(context.Background(), []*driver.Completion{release, done}, claimParams(5, t0, "x"))
		if err != nil {
			t.Fatal(err)
		}
		if !release.Applied || !done.Applied {
			t.Fatalf("applied: release %v, completed %v", release.Applied, done.Applied)
		}
		// a is ready again (and outranks c); b is finished.
		wantIDs(t, "claimed", got, "a", "c")
		if got[0].Attempt != 1 || got[0].LeaseOwner != "owner-1" {
			t.Fatalf("released and claimed again: attempt %d owner %q, want 1 owner-1", got[0].Attempt, got[0].LeaseOwner)
		}
		wantStatus(t, d, "b", queuetype.StatusCompleted)
	})

	t.Run("ClaimSeesFreedSlot", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		cc := claimCompleter(t, d)
		limiter(t, d)
		insert(t, d, keyed("k", newMsg("a", "x", 1), newMsg("b", "x", 1))...)
		one := []driver.ClaimLimit{{Concurrency: 1}}
		first := claimLimited(t, d, "owner-1", 2, t0, []string{"x"}, one)
		wantIDs(t, "first claim", first, "a")
		p := claimParams(2, t0, "x")
		p.Limits = one
		got, err := cc.CompleteAndClaim(context.Background(),
			[]*driver.Completion{completion(first[0], queuetype.StatusCompleted, t0)}, p)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "claim after the completion freed the slot", got, "b")
	})

	t.Run("ErrorAppliesNothing", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		cc := claimCompleter(t, d)
		insert(t, d, keyed("k", newMsg("a", "x", 1), newMsg("b", "x", 1), newMsg("c", "x", 1))...)
		ms := claim(t, d, 2, t0, "x")
		good := completion(ms[0], queuetype.StatusCompleted, t0)
		bad := completion(ms[1], queuetype.Status(99), t0) // no such status: the store refuses it
		got, err := cc.CompleteAndClaim(context.Background(), []*driver.Completion{good, bad}, claimParams(5, t0, "x"))
		if err == nil {
			t.Fatalf("a completion to status 99 succeeded (claimed %v)", ids(got))
		}
		if good.Applied || bad.Applied || len(got) != 0 {
			t.Fatalf("after the error: applied %v %v, claimed %v; want nothing", good.Applied, bad.Applied, ids(got))
		}
		wantStatus(t, d, "a", queuetype.StatusProcessing)
		wantStatus(t, d, "b", queuetype.StatusProcessing)
		if m := wantStatus(t, d, "c", queuetype.StatusPending); m.Attempt != 0 {
			t.Fatalf("unclaimed message has attempt %d", m.Attempt)
		}
	})

	t.Run("StaleOnlyStillClaims", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		cc := claimCompleter(t, d)
		insert(t, d, keyed("k", newMsg("a", "x", 1), newMsg("b", "x", 1))...)
		m := claim(t, d, 1, t0, "x")[0]
		stale := completion(m, queuetype.StatusCompleted, t0)
		stale.Attempt++
		got, err := cc.CompleteAndClaim(context.Background(), []*driver.Completion{stale}, claimParams(5, t0, "x"))
		if err != nil {
			t.Fatal(err)
		}
		if stale.Applied {
			t.Fatal("completion of a later attempt than the lease's was applied")
		}
		wantIDs(t, "claimed", got, "b")
		wantStatus(t, d, "a", queuetype.StatusProcessing)
	})
}
