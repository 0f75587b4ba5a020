package drivertest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// testOwners checks lease-owner liveness: rescue and listener-group
// takeover follow the owners judged dead, never the clock in the params.
func testOwners(t *testing.T, open OpenFunc) {
	ctx := context.Background()

	t.Run("RenewalMatchesTheAttempt", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("m", "x", 1))
		first := claim(t, d, 1, t0, "x")[0]
		if _, err := d.Rescue(ctx, driver.MaintainParams{Now: t0, Dead: []string{"owner-1"}}); err != nil {
			t.Fatal(err)
		}
		second := claim(t, d, 1, t0, "x")[0] // the same owner claims it again
		extend := func(attempt int) []int64 {
			held, err := d.ExtendLeases(ctx, driver.LeaseParams{Owner: "owner-1", Seqs: []int64{first.Seq},
				Attempts: []int{attempt}, Until: t0.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			return held
		}
		if held := extend(first.Attempt); len(held) != 0 {
			t.Fatalf("attempt %d renewed a lease that now belongs to attempt %d", first.Attempt, second.Attempt)
		}
		if held := extend(second.Attempt); len(held) != 1 {
			t.Fatalf("attempt %d could not renew its own lease", second.Attempt)
		}
		if _, err := d.ExtendLeases(ctx, driver.LeaseParams{Owner: "owner-1", Seqs: []int64{first.Seq}}); err == nil {
			t.Fatal("a renewal without attempts was accepted")
		}
	})

	t.Run("RescueIgnoresTheClockOfLiveOwners", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("m", "x", 1))
		claim(t, d, 1, t0, "x") // lease until t0+30s
		beat(t, d, "owner-1")
		for _, now := range []time.Time{t0.Add(time.Hour), t0.Add(-time.Hour)} {
			got, err := d.Rescue(ctx, driver.MaintainParams{Now: now, Dead: []string{"someone-else"}})
			if err != nil || len(got) != 0 {
				t.Fatalf("rescue at %v of a live owner's lease: %v, %v", now, ids(got), err)
			}
		}
		// Judged dead: rescued even though its stored lease has not run out.
		got, err := d.Rescue(ctx, driver.MaintainParams{Now: t0.Add(-time.Hour), Dead: []string{"owner-1"}})
		if err != nil || len(got) != 1 || got[0].Status != queuetype.StatusPending {
			t.Fatalf("rescue of a dead owner's lease: %v, %v", ids(got), err)
		}
		if slices.ContainsFunc(owners(t, d), func(s driver.OwnerState) bool { return s.Owner == "owner-1" }) {
			t.Fatal("a dead owner that holds nothing is still listed")
		}
	})

	t.Run("OwnerlessLeasesNeedTheirLeaseTimeToo", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("m", "x", 1))
		claim(t, d, 1, t0, "x") // owner-1 never beat: no liveness row
		if got := owners(t, d); len(got) != 1 || got[0].Owner != "owner-1" || !got[0].NoRow {
			t.Fatalf("owners %+v, want owner-1 without a row", got)
		}
		p := driver.MaintainParams{Now: t0.Add(29 * time.Second), Ownerless: []string{"owner-1"}}
		if got, _ := d.Rescue(ctx, p); len(got) != 0 {
			t.Fatal("rescued an ownerless lease before its lease time")
		}
		p.Now = t0.Add(31 * time.Second)
		if got, err := d.Rescue(ctx, p); err != nil || len(got) != 1 {
			t.Fatalf("ownerless rescue: %v, %v", ids(got), err)
		}
	})

	t.Run("BeatAndRetire", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		beat(t, d, "o")
		beat(t, d, "o")
		got := owners(t, d)
		if len(got) != 1 || got[0].Beats != 2 || got[0].Lease != 30*time.Second || got[0].Gone || got[0].NoRow {
			t.Fatalf("after two beats: %+v", got)
		}
		if err := d.RetireOwner(ctx, "o"); err != nil {
			t.Fatal(err)
		}
		if got := owners(t, d); len(got) != 1 || !got[0].Gone {
			t.Fatalf("after retiring: %+v", got)
		}
	})

	t.Run("ListenGroupIsTakenOnlyFromADeadHolder", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		ls := listenStore(t, st)
		beat(t, st.Driver, "o1")
		if _, held := claimGroup(t, ls, "g", "o1", t0); !held {
			t.Fatal("first claim failed")
		}
		for _, now := range []time.Time{t0.Add(time.Hour), t0.Add(-time.Hour)} {
			if _, held := claimGroup(t, ls, "g", "o2", now); held {
				t.Fatalf("o2 took a live holder's group at %v", now)
			}
		}
		_, held, err := ls.ClaimListenGroup(ctx, driver.ListenLeaseParams{Group: "g", Owner: "o2", Now: t0,
			Until: t0.Add(time.Minute), Dead: []string{"o1"}})
		if err != nil || !held {
			t.Fatalf("claim from a dead holder: held %v, %v", held, err)
		}
	})

	t.Run("RescueFreesADeadOwnersListenGroup", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		ls := listenStore(t, st)
		beat(t, st.Driver, "o1")
		claimGroup(t, ls, "g", "o1", t0)
		if _, err := st.Driver.Rescue(ctx, driver.MaintainParams{Now: t0, Dead: []string{"o1"}}); err != nil {
			t.Fatal(err)
		}
		groups, err := ls.ListenGroups(ctx)
		if err != nil || len(groups) != 1 || groups[0].LeaseOwner != "" {
			t.Fatalf("after the holder's rescue: %+v, %v; want the group free", groups, err)
		}
		if len(owners(t, st.Driver)) != 0 {
			t.Fatal("the dead owner is still listed once it holds nothing")
		}
	})
}

func beat(t *testing.T, d driver.Driver, owner string) {
	t.Helper()
	if err := d.BeatOwner(context.Background(), driver.OwnerParams{Owner: owner, Lease: 30 * time.Second, Now: t0}); err != nil {
		t.Fatal(err)
	}
}

func owners(t *testing.T, d driver.Driver) []driver.OwnerState {
	t.Helper()
	got, err := d.Owners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return got
}
