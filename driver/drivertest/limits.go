package drivertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// limiter skips t unless d enforces claim limits.
func limiter(t *testing.T, d driver.Driver) {
	t.Helper()
	if l, ok := d.(driver.Limiter); !ok || !l.EnforcesClaimLimits() {
		t.Skip("backend does not enforce claim limits")
	}
}

// claimLimited claims up to max of the destinations with their limits.
func claimLimited(t *testing.T, d driver.Driver, owner string, max int, now time.Time, dests []string, limits []driver.ClaimLimit) []*queuetype.Message {
	t.Helper()
	ms, err := d.Claim(context.Background(), driver.ClaimParams{Destinations: dests, Max: max, Owner: owner,
		Now: now, LeaseUntil: now.Add(time.Minute), Me: "me", Limits: limits})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return ms
}

func insertN(t *testing.T, d driver.Driver, prefix, dest string, n int) {
	t.Helper()
	ms := make([]*queuetype.Message, n)
	for i := range ms {
		ms[i] = newMsg(fmt.Sprintf("%s%03d", prefix, i), dest, 1)
	}
	insert(t, d, ms...)
}

// testLimits checks driver.Limiter.
func testLimits(t *testing.T, open OpenFunc) {
	one := func(l driver.ClaimLimit) []driver.ClaimLimit { return []driver.ClaimLimit{l} }
	t.Run("ConcurrencyCountsEveryOwner", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		limiter(t, d)
		insertN(t, d, "c", "x", 10)
		lim := one(driver.ClaimLimit{Concurrency: 3})
		if got := claimLimited(t, d, "a", 2, t0, []string{"x"}, lim); len(got) != 2 {
			t.Fatalf("first claim took %d, want 2 (its max)", len(got))
		}
		got := claimLimited(t, d, "b", 10, t0, []string{"x"}, lim)
		if len(got) != 1 {
			t.Fatalf("a claim by another owner took %d, want 1 (3 at once, 2 running)", len(got))
		}
		if more := claimLimited(t, d, "b", 10, t0, []string{"x"}, lim); len(more) != 0 {
			t.Fatalf("a claim at the limit took %d, want 0", len(more))
		}
		c := completion(got[0], queuetype.StatusCompleted, t0)
		c.Owner = "b"
		completeOne(t, d, c)
		if next := claimLimited(t, d, "b", 10, t0, []string{"x"}, lim); len(next) != 1 {
			t.Fatalf("after a completion a claim took %d, want 1", len(next))
		}
	})
	t.Run("RateIsATokenBucket", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		limiter(t, d)
		insertN(t, d, "r", "x", 30)
		lim := one(driver.ClaimLimit{Rate: 5, Per: time.Minute})
		steps := []struct {
			at   time.Duration
			want int
		}{
			{0, 5}, {0, 0}, {11 * time.Second, 0}, {12 * time.Second, 1},
			// a clock stepped back an hour gives nothing, and refills from there on
			{-time.Hour, 0}, {-time.Hour + 11*time.Second, 0}, {-time.Hour + 12*time.Second, 1},
			{10 * time.Minute, 5}, {10 * time.Minute, 0},
		}
		for _, s := range steps {
			if got := claimLimited(t, d, "o", 30, t0.Add(s.at), []string{"x"}, lim); len(got) != s.want {
				t.Fatalf("claim at t0%+v took %d, want %d", s.at, len(got), s.want)
			}
		}
		lower := one(driver.ClaimLimit{Rate: 2, Per: time.Minute})
		if got := claimLimited(t, d, "o", 30, t0.Add(time.Hour), []string{"x"}, lower); len(got) != 2 {
			t.Fatalf("claim with the rate lowered to 2 took %d, want 2", len(got))
		}
	})
	t.Run("ALateClaimDoesNotTurnTheBucketBack", func(t *testing.T) {
		// Two handles' claims commit out of their Now order: the one
		// stamped a little earlier must not move the bucket's time back
		// and so give the interval between them again.
		t.Parallel()
		d := open(t).Driver
		limiter(t, d)
		insertN(t, d, "s", "x", 10)
		lim := one(driver.ClaimLimit{Rate: 3, Per: time.Hour}) // a token per 20 minutes
		steps := []struct {
			at   time.Duration
			want int
		}{
			{0, 3}, {20 * time.Minute, 1},
			{time.Second, 0},                  // the late one: its Now is 20 minutes behind the bucket
			{20*time.Minute + time.Second, 0}, // had the bucket gone back, 20 minutes would be a token again
			{40 * time.Minute, 1},
		}
		for _, s := range steps {
			if got := claimLimited(t, d, "o", 10, t0.Add(s.at), []string{"x"}, lim); len(got) != s.want {
				t.Fatalf("claim at t0%+v took %d, want %d", s.at, len(got), s.want)
			}
		}
	})
	t.Run("ExpiredMessagesTakeNoToken", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		limiter(t, d)
		old := newMsg("old", "x", 1)
		old.ExpireAt = t0.Add(time.Second)
		insert(t, d, old)
		insertN(t, d, "e", "x", 3)
		lim := one(driver.ClaimLimit{Rate: 2, Per: time.Hour})
		got := claimLimited(t, d, "o", 10, t0.Add(time.Minute), []string{"x"}, lim)
		started := 0
		for _, m := range got {
			if m.Status == queuetype.StatusProcessing {
				started++
			}
		}
		more := claimLimited(t, d, "o", 10, t0.Add(time.Minute), []string{"x"}, lim)
		if started+len(more) != 2 {
			t.Fatalf("started %d then %d with 2 tokens (one message expired), want 2 in all", started, len(more))
		}
	})
	t.Run("UnlimitedDestinationsKeepPriorityOrder", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		limiter(t, d)
		insert(t, d, newMsg("l1", "lim", 3), newMsg("l2", "lim", 3), newMsg("f1", "free", 2), newMsg("f2", "free", 1))
		got := claimLimited(t, d, "o", 10, t0, []string{"lim", "free"},
			[]driver.ClaimLimit{{Concurrency: 1}, {}})
		wantIDs(t, "claim with one destination limited to 1", got, "l1", "f1", "f2")
	})
	t.Run("ConcurrentClaimsOnTwoHandlesNeverExceed", func(t *testing.T) {
		t.Parallel()
		h, b := twoHandles(t, open)
		a := h.Driver
		limiter(t, a)
		insertN(t, a, "p", "x", 200)
		// The concurrency round first: its 7 stay processing, which the
		// rate round (a bucket of its own) does not count.
		rounds := []struct {
			name string
			lim  []driver.ClaimLimit
			want int
		}{
			{"concurrency", one(driver.ClaimLimit{Concurrency: 7}), 7},
			{"rate", one(driver.ClaimLimit{Rate: 9, Per: time.Hour}), 9},
		}
		for _, r := range rounds {
			name, lim := r.name, r.lim
			var mu sync.Mutex
			total := 0
			var wg sync.WaitGroup
			for w := range 8 {
				d := []driver.Driver{a, b}[w%2]
				wg.Go(func() {
					for range 5 {
						ms := claimLimited(t, d, fmt.Sprint(name, w), 2, t0, []string{"x"}, lim)
						mu.Lock()
						total += len(ms)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if total != r.want {
				t.Fatalf("%s limit: 8 workers on two handles took %d in all, want exactly %d", name, total, r.want)
			}
		}
	})
}

// claimQueue claims up to max of dests under the queue limit ql.
func claimQueue(t *testing.T, d driver.Driver, owner string, max int, dests []string, ql driver.QueueLimit) []*queuetype.Message {
	t.Helper()
	ms, err := d.Claim(context.Background(), driver.ClaimParams{Destinations: dests, Max: max, Owner: owner,
		Now: t0, LeaseUntil: t0.Add(time.Minute), Me: "me", QueueLimit: ql})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return ms
}

// testQueueLimits checks ClaimParams.QueueLimit (driver.Limiter).
func testQueueLimits(t *testing.T, open OpenFunc) {
	t.Run("QueueLimitCountsEveryDestinationAndOwner", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		limiter(t, d)
		insertN(t, d, "a", "x", 5)
		insertN(t, d, "b", "y", 5)
		insertN(t, d, "c", "z", 5) // another queue's
		ql := driver.QueueLimit{Name: "q", Concurrency: 4, Destinations: []string{"x", "y"}}
		if got := claimQueue(t, d, "o1", 3, []string{"x"}, ql); len(got) != 3 {
			t.Fatalf("first claim took %d, want 3 (its max)", len(got))
		}
		// y alone (x paused, say): the 3 of x still count.
		got := claimQueue(t, d, "o2", 10, []string{"y"}, ql)
		if len(got) != 1 {
			t.Fatalf("a claim of the queue's other destination took %d, want 1 (4 at once, 3 running)", len(got))
		}
		if more := claimQueue(t, d, "o2", 10, []string{"x", "y"}, ql); len(more) != 0 {
			t.Fatalf("a claim at the queue's limit took %d, want 0", len(more))
		}
		if other := claimLimited(t, d, "o3", 10, t0, []string{"z"}, nil); len(other) != 5 {
			t.Fatalf("a claim of a destination outside the queue took %d, want all 5", len(other))
		}
		c := completion(got[0], queuetype.StatusCompleted, t0)
		c.Owner = "o2"
		completeOne(t, d, c)
		if next := claimQueue(t, d, "o2", 10, []string{"x", "y"}, ql); len(next) != 1 {
			t.Fatalf("after a completion a claim took %d, want 1", len(next))
		}
		// With a destination limit too, the tighter bound holds.
		insertN(t, d, "d", "w", 5)
		both := driver.QueueLimit{Name: "q2", Concurrency: 3, Destinations: []string{"w"}}
		ms, err := d.Claim(context.Background(), driver.ClaimParams{Destinations: []string{"w"}, Max: 10, Owner: "o4",
			Now: t0, LeaseUntil: t0.Add(time.Minute), Me: "me", QueueLimit: both,
			Limits: []driver.ClaimLimit{{Concurrency: 2}}})
		if err != nil || len(ms) != 2 {
			t.Fatalf("claim with a queue limit of 3 and a destination limit of 2: %d, %v; want 2", len(ms), err)
		}
	})
	t.Run("ConcurrentQueueClaimsOnTwoHandlesNeverExceed", func(t *testing.T) {
		t.Parallel()
		h, b := twoHandles(t, open)
		a := h.Driver
		limiter(t, a)
		insertN(t, a, "p", "x", 100)
		insertN(t, a, "q", "y", 100)
		ql := driver.QueueLimit{Name: "q", Concurrency: 7, Destinations: []string{"x", "y"}}
		var mu sync.Mutex
		total := 0
		var wg sync.WaitGroup
		for w := range 8 {
			d := []driver.Driver{a, b}[w%2]
			dests := [][]string{{"x", "y"}, {"x"}, {"y"}}[w%3]
			wg.Go(func() {
				for range 5 {
					ms := claimQueue(t, d, fmt.Sprint("w", w), 2, dests, ql)
					mu.Lock()
					total += len(ms)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if total != ql.Concurrency {
			t.Fatalf("8 workers on two handles took %d in all, want exactly the queue's limit %d", total, ql.Concurrency)
		}
	})
}
