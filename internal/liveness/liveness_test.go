package liveness

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

type rows []driver.OwnerState

func (r *rows) Owners(context.Context) ([]driver.OwnerState, error) { return *r, nil }

// monoAt gives a tracker a hand-moved monotonic clock.
func monoAt(tr *Tracker, at *time.Duration) {
	base := time.Now()
	tr.mono = func() time.Time { return base.Add(*at) }
}

func TestTracker_JudgesByBeatsNotClocks(t *testing.T) {
	const lease = time.Second
	src := &rows{{Owner: "a", Beats: 1, Lease: lease}, {Owner: "b", Beats: 1, Lease: lease},
		{Owner: "self", Beats: 1, Lease: lease}, {Owner: "gone", Beats: 4, Lease: lease, Gone: true},
		{Owner: "old", NoRow: true}}
	tr := New(src, "self", 2*lease)
	var at time.Duration
	monoAt(tr, &at)
	observe := func() Verdict {
		t.Helper()
		v, err := tr.Observe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := observe(); !slices.Equal(v.Dead, []string{"gone"}) || len(v.Ownerless) != 0 {
		t.Fatalf("at first sight: %+v; only the retired owner is dead before a lease was watched", v)
	}
	at = lease - time.Millisecond
	(*src)[0].Beats = 2 // a beats, b does not
	if v := observe(); !slices.Equal(v.Dead, []string{"gone"}) {
		t.Fatalf("just under a lease: %+v", v)
	}
	at = lease
	if v := observe(); !slices.Equal(v.Dead, []string{"b", "gone"}) || len(v.Ownerless) != 0 {
		t.Fatalf("after a lease: %+v; want b (stood still) and gone, never self", v)
	}
	at = 2 * lease
	if v := observe(); !slices.Equal(v.Ownerless, []string{"old"}) {
		t.Fatalf("after the fallback: %+v; want old as ownerless", v)
	}
	// b's row is forgotten, then b comes back: watched afresh.
	*src = rows{{Owner: "b", Beats: 1, Lease: lease}}
	observe()
	*src = rows{}
	observe()
	*src = rows{{Owner: "b", Beats: 1, Lease: lease}}
	if v := observe(); len(v.Dead) != 0 {
		t.Fatalf("an owner seen again after it was forgotten was judged at once: %+v", v)
	}
}

// flaky is a source whose reads fail while down is set.
type flaky struct {
	rows rows
	down bool
}

func (f *flaky) Owners(ctx context.Context) ([]driver.OwnerState, error) {
	if f.down {
		return nil, errors.New("connection refused")
	}
	return f.rows, nil
}

// After reads failed (the store was down, so no one could beat), every
// owner is watched for a whole lease again from the first read that works:
// one that had not beaten for a lease only because the store was down is
// not judged dead at once, and is once it stays still for a lease.
func TestTracker_WatchesAfreshAfterAFailedRead(t *testing.T) {
	const lease = time.Second
	src := &flaky{rows: rows{{Owner: "a", Beats: 1, Lease: lease}, {Owner: "held", NoRow: true}}}
	tr := New(src, "self", lease)
	var at time.Duration
	monoAt(tr, &at)
	if _, err := tr.Observe(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.down = true
	at = lease / 2
	if _, err := tr.Observe(context.Background()); err == nil {
		t.Fatal("a failed read reported no error")
	}
	src.down = false
	at = 3 * lease
	v, err := tr.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Dead) != 0 || len(v.Ownerless) != 0 {
		t.Fatalf("right after the store came back: %+v; want no verdict before a lease of watching", v)
	}
	at = 4 * lease
	if v, _ := tr.Observe(context.Background()); !slices.Equal(v.Dead, []string{"a"}) || !slices.Equal(v.Ownerless, []string{"held"}) {
		t.Fatalf("a lease after the store came back: %+v; want a dead and held ownerless", v)
	}
}
