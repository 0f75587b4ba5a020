package fetch_test

import (
	"fmt"
	"testing"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

func TestFetcher_SecondClaimWhileTheBacklogIsDeep(t *testing.T) {
	t.Parallel()
	st := &store{gate: make(chan struct{})}
	st.add(msgs("m", 100, queuetype.StatusProcessing)...)
	// Delivered messages keep their slots: 30 slots, claims of up to 10.
	_, _, k, _, _ := setup(t, st, setupOpts{slots: 30, maxBatch: 10, claimers: 2})

	st.gate <- struct{}{} // the first claim comes back full
	waitFor(t, "two claims in flight", func() bool { return st.maxActive() == 2 })
	st.gate <- struct{}{}
	st.gate <- struct{}{}
	waitFor(t, "three full claims delivered", func() bool { d, _ := k.counts(); return d == 30 })
	if got := st.maxActive(); got != 2 {
		t.Fatalf("%d claims ran at once, want 2 (Claimers)", got)
	}
}

func TestFetcher_NoSecondClaimWhileClaimsComeBackShort(t *testing.T) {
	t.Parallel()
	st := &store{}
	st.add(msgs("m", 3, queuetype.StatusProcessing)...)
	f, _, k, _, _ := setup(t, st, setupOpts{slots: 10, maxBatch: 10, claimers: 2})

	waitFor(t, "the first claim", func() bool { d, _ := k.counts(); return d == 3 })
	st.add(msgs("n", 2, queuetype.StatusProcessing)...)
	f.Wake()
	waitFor(t, "delivery after Wake", func() bool { d, _ := k.counts(); return d == 5 })
	if got := st.callsSnapshot(); len(got) != 2 {
		t.Fatalf("claims %v, want 2: short claims start no second claimer", got)
	}
}

func TestFetcher_ClaimersBeyondTwoNeedSlotsToFill(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ slots, claimers, want int }{
		{slots: 50, claimers: 4, want: 2},  // 25 slots a claimer: two
		{slots: 100, claimers: 4, want: 4}, // enough slots for all four
		{slots: 100, claimers: 1, want: 1}, // Claimers bounds it
	} {
		t.Run(fmt.Sprint(c.slots, "slots", c.claimers, "claimers"), func(t *testing.T) {
			t.Parallel()
			st := &store{gate: make(chan struct{})}
			st.add(msgs("m", 10*c.slots, queuetype.StatusProcessing)...)
			_, slots, k, _, _ := setup(t, st, setupOpts{slots: c.slots, maxBatch: 10, claimers: c.claimers})

			// Each claim takes 10 slots, which its messages keep; each full
			// claim keeps its claimer claiming and calls in one more, until
			// the slots run out.
			waitFor(t, "the first claim", func() bool { return st.activeNow() == 1 })
			for done := 1; done*10 <= c.slots; done++ {
				st.gate <- struct{}{}
				want := min(c.want, done+1, (c.slots-10*done)/10)
				waitFor(t, fmt.Sprint(want, " claims in flight after ", done), func() bool {
					d, _ := k.counts()
					return d == 10*done && st.activeNow() == want
				})
			}
			if got := st.maxActive(); got != c.want {
				t.Fatalf("%d claims ran at once over %d slots, want %d", got, c.slots, c.want)
			}
			slots.Release(c.slots)
			close(st.gate) // what the released slots claim comes back at once
		})
	}
}
