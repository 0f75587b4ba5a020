package drivertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// electionName is the election the leader tests hold.
const electionName = "maintenance"

// testLeader checks leader elections: one holder per seat, kept while its
// owner lives whatever the clocks say, handed over when the owner is judged
// dead, retires or resigns.
func testLeader(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	elector := func(t *testing.T) (driver.Driver, driver.Elector) {
		d := open(t).Driver
		e, ok := d.(driver.Elector)
		if !ok {
			t.Skip("the driver holds no leader elections")
		}
		return d, e
	}

	t.Run("OneWinnerAmongCandidates", func(t *testing.T) {
		t.Parallel()
		d, e := elector(t)
		const candidates = 8
		var wg sync.WaitGroup
		got := make([]driver.LeaderState, candidates)
		errs := make([]error, candidates)
		for i := range candidates {
			beat(t, d, candidate(i))
			wg.Go(func() {
				got[i], errs[i] = e.Elect(ctx, driver.ElectParams{Name: electionName, Owner: candidate(i), Now: t0})
			})
		}
		wg.Wait()
		winners := 0
		for i := range candidates {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if got[i].Owner != got[0].Owner || got[i].Term != got[0].Term {
				t.Fatalf("candidates disagree on the leader: %+v and %+v", got[0], got[i])
			}
			if got[i].Owner == candidate(i) {
				winners++
			}
		}
		if winners != 1 || got[0].Term != 1 {
			t.Fatalf("%d winners, term %d; want one winner in term 1", winners, got[0].Term)
		}
		wantLeader(t, e, got[0].Owner, 1)
	})

	t.Run("TheWinnerIsReelected", func(t *testing.T) {
		t.Parallel()
		d, e := elector(t)
		beat(t, d, "a")
		elect(t, e, "a", nil, "a")
		for _, now := range []time.Time{t0.Add(time.Hour), t0.Add(-time.Hour)} {
			st, err := e.Elect(ctx, driver.ElectParams{Name: electionName, Owner: "a", Now: now})
			if err != nil || st.Owner != "a" || st.Term != 1 {
				t.Fatalf("re-election at %v: %+v, %v; want a in term 1", now, st, err)
			}
		}
	})

	t.Run("NoTakeoverFromALiveLeader", func(t *testing.T) {
		t.Parallel()
		d, e := elector(t)
		beat(t, d, "a")
		beat(t, d, "b")
		elect(t, e, "a", nil, "a")
		// Whatever b's clock says and whoever else it judges dead.
		for _, now := range []time.Time{t0.Add(24 * time.Hour), t0.Add(-24 * time.Hour)} {
			st, err := e.Elect(ctx, driver.ElectParams{Name: electionName, Owner: "b", Dead: []string{"c"}, Now: now})
			if err != nil || st.Owner != "a" {
				t.Fatalf("b campaigned at %v against a live leader: %+v, %v", now, st, err)
			}
		}
		if err := e.Resign(ctx, electionName, "b"); err != nil {
			t.Fatal(err)
		}
		wantLeader(t, e, "a", 1) // b's resignation of a seat it does not hold changed nothing
	})

	t.Run("TakeoverFromADeadLeader", func(t *testing.T) {
		t.Parallel()
		d, e := elector(t)
		beat(t, d, "a")
		beat(t, d, "b")
		elect(t, e, "a", nil, "a")
		if st := elect(t, e, "b", []string{"a"}, "b"); st.Term != 2 {
			t.Fatalf("takeover term %d, want 2", st.Term)
		}
		elect(t, e, "a", nil, "b") // the old leader, back, learns it lost
	})

	t.Run("TakeoverFromARetiredOrForgottenLeader", func(t *testing.T) {
		t.Parallel()
		d, e := elector(t)
		beat(t, d, "a")
		beat(t, d, "b")
		elect(t, e, "a", nil, "a")
		if err := d.RetireOwner(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		elect(t, e, "b", nil, "b")
		// A holder without any liveness row (forgotten by a rescue, or it
		// never beat) is dead too.
		elect(t, e, "ghost", []string{"b"}, "ghost")
		elect(t, e, "b", nil, "b")
	})

	t.Run("ResignHandsOverAtOnce", func(t *testing.T) {
		t.Parallel()
		d, e := elector(t)
		beat(t, d, "a")
		beat(t, d, "b")
		elect(t, e, "a", nil, "a")
		elect(t, e, "b", nil, "a")
		if err := e.Resign(ctx, electionName, "a"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := e.Leader(ctx, electionName); err != nil || ok {
			t.Fatalf("seat after resigning: held %v, %v", ok, err)
		}
		if st := elect(t, e, "b", nil, "b"); st.Term != 2 {
			t.Fatalf("term after the hand-over %d, want 2", st.Term)
		}
	})

	t.Run("SeatsAreIndependent", func(t *testing.T) {
		t.Parallel()
		d, e := elector(t)
		beat(t, d, "a")
		beat(t, d, "b")
		elect(t, e, "a", nil, "a")
		if st, err := e.Elect(ctx, driver.ElectParams{Name: "other", Owner: "b", Now: t0}); err != nil || st.Owner != "b" {
			t.Fatalf("b in another election: %+v, %v", st, err)
		}
		wantLeader(t, e, "a", 1)
	})

	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()
		_, e := elector(t)
		for _, p := range []driver.ElectParams{{Owner: "a"}, {Name: electionName}} {
			if _, err := e.Elect(ctx, p); !errors.Is(err, queuetype.ErrInvalidArgument) {
				t.Fatalf("Elect(%+v): %v, want ErrInvalidArgument", p, err)
			}
		}
		if _, ok, err := e.Leader(ctx, electionName); err != nil || ok {
			t.Fatalf("a bad campaign took the seat: %v, %v", ok, err)
		}
	})
}

func candidate(i int) string { return fmt.Sprintf("candidate-%d", i) }

// elect campaigns for owner and checks who leads afterwards.
func elect(t *testing.T, e driver.Elector, owner string, dead []string, want string) driver.LeaderState {
	t.Helper()
	st, err := e.Elect(context.Background(), driver.ElectParams{Name: electionName, Owner: owner, Dead: dead, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if st.Owner != want {
		t.Fatalf("%s campaigned (dead %v): %s leads, want %s", owner, dead, st.Owner, want)
	}
	return st
}

func wantLeader(t *testing.T, e driver.Elector, owner string, term int64) {
	t.Helper()
	st, ok, err := e.Leader(context.Background(), electionName)
	if err != nil || !ok || st.Owner != owner || st.Term != term {
		t.Fatalf("leader %+v (held %v, %v), want %s in term %d", st, ok, err, owner, term)
	}
}
