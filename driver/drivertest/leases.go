package drivertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

func testLeases(t *testing.T, open OpenFunc) {
	t.Run("ExtendReportsWhatIsStillHeld", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("a", "x", 1), newMsg("b", "x", 1))
		ms := claim(t, d, 2, t0, "x")
		completeOne(t, d, completion(ms[1], queuetype.StatusCompleted, t0))
		held, err := d.ExtendLeases(context.Background(), driver.LeaseParams{
			Owner: "owner-1", Seqs: []int64{ms[0].Seq, ms[1].Seq}, Attempts: []int{1, 1}, Until: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(held) != fmt.Sprint([]int64{ms[0].Seq}) {
			t.Fatalf("held %v, want only %d", held, ms[0].Seq)
		}
		if got := get(t, d, "a"); !got.LeaseExpiry.Equal(t0.Add(time.Hour)) {
			t.Fatalf("lease of a runs to %v", got.LeaseExpiry)
		}
		held, _ = d.ExtendLeases(context.Background(), driver.LeaseParams{Owner: "intruder", Seqs: []int64{ms[0].Seq}, Attempts: []int{1}, Until: t0})
		if len(held) != 0 {
			t.Fatal("another owner extended the lease")
		}
	})

	t.Run("RescueCountsTheAttempt", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		m := newMsg("m", "x", 1)
		m.MaxAttempts = 2
		insert(t, d, m)
		for attempt := 1; attempt <= 2; attempt++ {
			claimed := claim(t, d, 1, t0, "x")
			if len(claimed) != 1 || claimed[0].Attempt != attempt {
				t.Fatalf("attempt %d: claimed %v", attempt, ids(claimed))
			}
			early, _ := d.Rescue(context.Background(), driver.MaintainParams{Now: t0.Add(time.Hour)})
			if len(early) != 0 {
				t.Fatal("rescued the lease of an owner nobody judged dead")
			}
			got, err := d.Rescue(context.Background(), driver.MaintainParams{Now: t0, Dead: []string{"owner-1"}})
			if err != nil || len(got) != 1 {
				t.Fatalf("rescue: %v, %v", ids(got), err)
			}
		}
		failed := wantStatus(t, d, "m", queuetype.StatusFailed)
		if failed.Attempt != 2 || failed.LastError == "" || failed.FinishedAt.IsZero() {
			t.Fatalf("after last rescue: attempt %d error %q finished %v", failed.Attempt, failed.LastError, failed.FinishedAt)
		}
	})

	t.Run("StaleWorkerCannotOverwriteRescuedAttempt", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		insert(t, d, newMsg("m", "x", 1))
		first := claim(t, d, 1, t0, "x")[0]
		if _, err := d.Rescue(context.Background(), driver.MaintainParams{Now: t0.Add(time.Minute), Dead: []string{"owner-1"}}); err != nil {
			t.Fatal(err)
		}
		second := claim(t, d, 1, t0.Add(time.Minute), "x")[0]
		late := completion(first, queuetype.StatusFailed, t0.Add(time.Minute))
		completeOne(t, d, late)
		if late.Applied {
			t.Fatal("the stale attempt's completion was applied")
		}
		completeOne(t, d, completion(second, queuetype.StatusCompleted, t0.Add(time.Minute)))
		wantStatus(t, d, "m", queuetype.StatusCompleted)
	})
}
