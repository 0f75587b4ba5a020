package fetch_test

import (
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
