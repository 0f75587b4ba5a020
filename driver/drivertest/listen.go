package drivertest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// listenStore returns the harness's listen store, skipping the test when
// the backend has none.
func listenStore(t *testing.T, h *Harness) driver.ListenStore {
	t.Helper()
	ls, ok := h.Driver.(driver.ListenStore)
	if !ok {
		t.Skip("backend does not implement driver.ListenStore")
	}
	return ls
}

func value(t *testing.T, v any) *queuetype.Value {
	t.Helper()
	val, err := queuetype.NewValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return &val
}

func set(t *testing.T, ls driver.ListenStore, key string, v *queuetype.Value, at time.Time) *queuetype.Change {
	t.Helper()
	c, err := ls.SetListen(context.Background(), driver.SetListenParams{Key: key, Value: v, Now: at})
	if err != nil {
		t.Fatalf("set %s: %v", key, err)
	}
	return c
}

func claimGroup(t *testing.T, ls driver.ListenStore, group, owner string, now time.Time) (int64, bool) {
	t.Helper()
	cur, held, err := ls.ClaimListenGroup(context.Background(), driver.ListenLeaseParams{Group: group, Owner: owner, Now: now, Until: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return cur, held
}

func changes(t *testing.T, ls driver.ListenStore, after int64) []*queuetype.Change {
	t.Helper()
	cs, err := ls.ListenChanges(context.Background(), after, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func testListen(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	t.Run("ValuesComeBackAsGiven", func(t *testing.T) {
		t.Parallel()
		ls := listenStore(t, open(t))
		cases := map[string]any{"text": "dark_mode=true", "json": json.RawMessage(`{"a": [1, 2]}`),
			"bytes": []byte{0, 1, 2}, "go": map[string]int{"n": 1}, "empty": ""}
		for key, v := range cases {
			set(t, ls, key, value(t, v), t0)
		}
		for key, v := range cases {
			got, err := ls.GetListen(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if want := value(t, v); !got.Value.Equal(*want) {
				t.Errorf("%s: got kind %d %q, want kind %d %q", key, got.Value.Kind, got.Value.Raw, want.Kind, want.Raw)
			}
		}
		if _, err := ls.GetListen(ctx, "missing"); err == nil {
			t.Fatal("get of a missing key succeeded")
		}
		all, _ := ls.ListListen(ctx, "")
		js, _ := ls.ListListen(ctx, "js")
		if len(all) != len(cases) || len(js) != 1 || js[0].Key != "json" {
			t.Fatalf("list: %d keys, prefix js: %v", len(all), js)
		}
	})

	t.Run("NothingIsLoggedWithoutAGroup", func(t *testing.T) {
		t.Parallel()
		ls := listenStore(t, open(t))
		if c := set(t, ls, "k", value(t, "v1"), t0); c == nil || c.Seq != 0 {
			t.Fatalf("change without a group: %+v", c)
		}
		if cs := changes(t, ls, 0); len(cs) != 0 {
			t.Fatalf("%d changes logged with no listener group", len(cs))
		}
	})

	t.Run("RealChangesAreLoggedInOrder", func(t *testing.T) {
		t.Parallel()
		ls := listenStore(t, open(t))
		if cur, held := claimGroup(t, ls, "g", "o1", t0); !held || cur != 0 {
			t.Fatalf("claim new group: cursor %d held %v", cur, held)
		}
		first := set(t, ls, "k", value(t, "v1"), t0)
		if set(t, ls, "k", value(t, "v1"), t0) != nil {
			t.Fatal("setting an equal value reported a change")
		}
		second := set(t, ls, "k", value(t, json.RawMessage(`"v1"`)), t0) // same bytes, other kind: a change
		set(t, ls, "other", value(t, 1), t0)
		del := set(t, ls, "k", nil, t0)
		if set(t, ls, "k", nil, t0) != nil {
			t.Fatal("deleting a missing key reported a change")
		}
		cs := changes(t, ls, 0)
		if len(cs) != 4 {
			t.Fatalf("%d changes logged, want 4", len(cs))
		}
		for i := 1; i < len(cs); i++ {
			if cs[i].Seq <= cs[i-1].Seq {
				t.Fatalf("seqs not strictly increasing: %d then %d", cs[i-1].Seq, cs[i].Seq)
			}
		}
		if cs[0].Seq != first.Seq || cs[0].Old != nil || cs[0].New.String() != "v1" {
			t.Fatalf("first change: %+v", cs[0])
		}
		if cs[1].Seq != second.Seq || cs[1].Old.Kind != queuetype.ValueText || cs[1].New.Kind != queuetype.ValueJSON {
			t.Fatalf("second change: %+v", cs[1])
		}
		if !cs[3].Deleted() || cs[3].Seq != del.Seq || cs[3].Old.String() != `"v1"` {
			t.Fatalf("deletion: %+v", cs[3])
		}
		if after := changes(t, ls, cs[1].Seq); len(after) != 2 {
			t.Fatalf("changes after seq %d: %d", cs[1].Seq, len(after))
		}
	})

	t.Run("GroupLeaseAndCursor", func(t *testing.T) {
		t.Parallel()
		ls := listenStore(t, open(t))
		claimGroup(t, ls, "other-group", "x", t0) // so that changes are logged
		set(t, ls, "k", value(t, "before"), t0)
		cur, held := claimGroup(t, ls, "g", "o1", t0)
		if !held || cur != 1 {
			t.Fatalf("new group starts at cursor %d (held %v), want the newest change 1", cur, held)
		}
		if _, held := claimGroup(t, ls, "g", "o2", t0.Add(time.Second)); held {
			t.Fatal("a second owner claimed a live lease")
		}
		adv := func(owner string, seq int64) bool {
			ok, err := ls.AdvanceListenGroup(ctx, driver.ListenLeaseParams{Group: "g", Owner: owner, Seq: seq, Now: t0, Until: t0.Add(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !adv("o1", 5) || adv("o2", 9) || !adv("o1", 3) {
			t.Fatal("advance is not fenced by the lease owner")
		}
		// o1 has no liveness row: once judged ownerless, its expired lease is taken.
		now := t0.Add(2 * time.Minute)
		cur, held, err := ls.ClaimListenGroup(ctx, driver.ListenLeaseParams{Group: "g", Owner: "o2", Now: now,
			Until: now.Add(time.Minute), Ownerless: []string{"o1"}})
		if err != nil || !held || cur != 5 {
			t.Fatalf("claim after lease expiry: cursor %d held %v (%v); want 5 (never moved back)", cur, held, err)
		}
		if err := ls.ReleaseListenGroup(ctx, "g", "o2"); err != nil {
			t.Fatal(err)
		}
		if _, held := claimGroup(t, ls, "g", "o3", t0.Add(2*time.Minute)); !held {
			t.Fatal("claim after release failed")
		}
	})

	t.Run("PruneAndFailures", func(t *testing.T) {
		t.Parallel()
		ls := listenStore(t, open(t))
		claimGroup(t, ls, "a", "o", t0)
		claimGroup(t, ls, "b", "o", t0)
		for i := range 10 {
			set(t, ls, "k", value(t, fmt.Sprint(i)), t0.Add(time.Duration(i)*time.Hour))
		}
		advance := func(group string, seq int64) {
			if _, err := ls.AdvanceListenGroup(ctx, driver.ListenLeaseParams{Group: group, Owner: "o", Seq: seq, Now: t0, Until: t0.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		advance("a", 6)
		advance("b", 3)
		prune := func(before time.Time, keep int) int {
			n, err := ls.PruneListenChanges(ctx, driver.PruneParams{Before: before, Keep: keep})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := prune(t0.Add(-time.Hour), 1000); n != 3 {
			t.Fatalf("pruned %d, want 3 (every group is past seq 3)", n)
		}
		if n := prune(t0.Add(4*time.Hour+time.Minute), 1000); n != 2 {
			t.Fatalf("pruned %d by age, want 2 (seqs 4 and 5)", n)
		}
		if n := prune(t0.Add(-time.Hour), 2); n != 3 {
			t.Fatalf("pruned %d by count cap, want 3 (keep 9 and 10)", n)
		}
		if first, last, _ := ls.ListenHead(ctx); first != 9 || last != 10 {
			t.Fatalf("head %d..%d, want 9..10", first, last)
		}
		if err := ls.RecordListenFailure(ctx, driver.ListenFailure{Group: "a", Listener: "l", Key: "k", Seq: 7, Attempts: 3, Error: "boom", Now: t0}); err != nil {
			t.Fatal(err)
		}
		groups, _ := ls.ListenGroups(ctx)
		if len(groups) != 2 || groups[0].Name != "a" || groups[0].Failures != 1 || groups[0].Cursor != 6 {
			t.Fatalf("groups: %+v", groups)
		}
		if err := ls.DropListenGroup(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if groups, _ := ls.ListenGroups(ctx); len(groups) != 1 {
			t.Fatalf("after drop: %+v", groups)
		}
	})

	t.Run("SetListenTxFollowsTheTransaction", func(t *testing.T) {
		t.Parallel()
		h := open(t)
		ls := listenStore(t, h)
		claimGroup(t, ls, "g", "o", t0)
		for _, commit := range []bool{false, true} {
			tx, err := h.BeginTx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ls.SetListenTx(ctx, tx, driver.SetListenParams{Key: "k", Value: value(t, fmt.Sprint(commit)), Now: t0}); err != nil {
				t.Fatal(err)
			}
			if commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := ls.GetListen(ctx, "k")
		if err != nil || got.Value.String() != "true" {
			t.Fatalf("after commit: %v %v", got, err)
		}
		if cs := changes(t, ls, 0); len(cs) != 1 || cs[0].New.String() != "true" {
			t.Fatalf("changes: %d", len(cs))
		}
	})
}
