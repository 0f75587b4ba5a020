package drivertest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// RunRouter checks the id routes of a backend that implements
// driver.Router (the drivers of sharded queues): the home shard of an id
// holds it as a message or as a route to one shard, never both.
func RunRouter(t *testing.T, open OpenFunc) {
	t.Run("PutAndRenew", func(t *testing.T) { testRoutePut(t, open) })
	t.Run("ExclusiveWithMessages", func(t *testing.T) { testRouteExclusive(t, open) })
	t.Run("EveryInsertPathRefusesARoutedID", func(t *testing.T) { testRouteRefusedByEveryInsert(t, open) })
	t.Run("DropAndPrune", func(t *testing.T) { testRouteDrop(t, open) })
}

func router(t *testing.T, h *Harness) driver.Router {
	t.Helper()
	r, ok := h.Driver.(driver.Router)
	if !ok {
		t.Fatal("the driver does not implement driver.Router")
	}
	return r
}

func testRoutePut(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	r := router(t, open(t))
	a := &driver.Route{ID: "a", Shard: 2, At: t0, Token: 1}
	if err := r.PutRoutes(ctx, []*driver.Route{a}); err != nil || !a.Created {
		t.Fatalf("new route: created %v, %v", a.Created, err)
	}
	again := &driver.Route{ID: "a", Shard: 2, At: t0.Add(time.Minute), Token: 2}
	if err := r.PutRoutes(ctx, []*driver.Route{again}); err != nil || again.Created {
		t.Fatalf("same route again: created %v, %v; want renewed", again.Created, err)
	}
	got, ok, err := r.Route(ctx, "a")
	if err != nil || !ok || got.Shard != 2 || got.Token != 2 || !got.At.Equal(again.At) {
		t.Fatalf("route a: %+v %v %v; want shard 2, the renewal's token and time", got, ok, err)
	}
	// A route to another shard is a duplicate, and fails the whole call.
	b := &driver.Route{ID: "b", Shard: 1, At: t0, Token: 3}
	other := &driver.Route{ID: "a", Shard: 3, At: t0, Token: 4}
	if err := r.PutRoutes(ctx, []*driver.Route{b, other}); !errors.Is(err, queuetype.ErrDuplicate) {
		t.Fatalf("route a to another shard: %v, want ErrDuplicate", err)
	}
	if _, ok, _ := r.Route(ctx, "b"); ok {
		t.Fatal("a failed PutRoutes stored part of its routes")
	}
	if _, ok, err := r.Route(ctx, "none"); ok || err != nil {
		t.Fatalf("route of an unknown id: %v %v", ok, err)
	}
}

func testRouteExclusive(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	h := open(t)
	r := router(t, h)
	insert(t, h.Driver, newMsg("here", "d", queuetype.PriorityNormal))
	if err := r.PutRoutes(ctx, []*driver.Route{{ID: "here", Shard: 1, At: t0, Token: 1}}); !errors.Is(err, queuetype.ErrDuplicate) {
		t.Fatalf("route for an id stored here: %v, want ErrDuplicate", err)
	}
	if err := r.PutRoutes(ctx, []*driver.Route{{ID: "away", Shard: 1, At: t0, Token: 1}}); err != nil {
		t.Fatal(err)
	}
	err := h.Driver.Insert(ctx, driver.InsertParams{Messages: []*queuetype.Message{newMsg("away", "d", queuetype.PriorityNormal)}})
	if !errors.Is(err, queuetype.ErrDuplicate) {
		t.Fatalf("insert of a routed id: %v, want ErrDuplicate", err)
	}
	tx, err := h.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	err = h.Driver.InsertTx(ctx, tx, driver.InsertParams{Messages: []*queuetype.Message{newMsg("away", "d", queuetype.PriorityNormal)}})
	if !errors.Is(err, queuetype.ErrDuplicate) {
		t.Fatalf("InsertTx of a routed id: %v, want ErrDuplicate", err)
	}
	stored, err := r.StoredIDs(ctx, []string{"here", "away", "none"})
	if err != nil || len(stored) != 1 || !stored["here"] {
		t.Fatalf("stored ids: %v %v; want only here", stored, err)
	}
}

// routedBatchSize is the size of the batches testRouteRefusedByEveryInsert
// sends: more than one insert statement of any backend that writes rows in
// chunks of up to 64 (the SQLite driver does).
const routedBatchSize = 150

// testRouteRefusedByEveryInsert: a batch holding a routed id, at its start,
// in its middle or at its end, is refused with ErrDuplicate and stores
// nothing, whichever insert writes it (plain, with dependencies, unique, in
// a caller's transaction); a lone unique insert is refused too.
func testRouteRefusedByEveryInsert(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	h := open(t)
	r := router(t, h)
	if err := r.PutRoutes(ctx, []*driver.Route{{ID: "away", Shard: 1, At: t0, Token: 1}}); err != nil {
		t.Fatal(err)
	}
	insert(t, h.Driver, newMsg("parent", "d", queuetype.PriorityNormal))
	paths := map[string]func([]*queuetype.Message) error{
		"Insert": func(ms []*queuetype.Message) error {
			return h.Driver.Insert(ctx, driver.InsertParams{Messages: ms})
		},
		"InsertWithDependencies": func(ms []*queuetype.Message) error {
			ms[len(ms)/3].DependsOn = []string{"parent"}
			return h.Driver.Insert(ctx, driver.InsertParams{Messages: ms})
		},
		"InsertTx": func(ms []*queuetype.Message) error { return insertInRolledBackTx(t, h, ms) },
	}
	if u, ok := h.Driver.(driver.UniqueInserter); ok {
		paths["InsertUnique"] = func(ms []*queuetype.Message) error {
			_, err := u.InsertUnique(ctx, driver.InsertParams{Messages: ms}, []driver.UniqueKey{{Key: "k", States: unfinished}})
			return err
		}
	}
	for name, insertFn := range paths {
		for _, at := range []int{-1, 0, routedBatchSize / 2, routedBatchSize - 1} {
			ms := routedBatch(at)
			if err := insertFn(ms); !errors.Is(err, queuetype.ErrDuplicate) {
				t.Fatalf("%s of %d messages with the routed id at %d: %v, want ErrDuplicate", name, len(ms), at, err)
			}
			stored, err := r.StoredIDs(ctx, idsOf(ms))
			if err != nil || len(stored) != 0 {
				t.Fatalf("%s refused with the routed id at %d but stored %d of its messages (%v)", name, at, len(stored), err)
			}
		}
	}
}

// routedBatch returns routedBatchSize new messages, the one at index at
// with the routed id "away"; with at -1, that one message alone.
func routedBatch(at int) []*queuetype.Message {
	if at < 0 {
		return []*queuetype.Message{newMsg("away", "d", queuetype.PriorityNormal)}
	}
	ms := make([]*queuetype.Message, routedBatchSize)
	for i := range ms {
		ms[i] = newMsg(fmt.Sprintf("new-%d", i), "d", queuetype.PriorityNormal)
	}
	ms[at].ID = "away"
	return ms
}

// insertInRolledBackTx inserts ms in a caller's transaction, which it rolls
// back (whatever a refused insert wrote is the caller's to discard).
func insertInRolledBackTx(t *testing.T, h *Harness, ms []*queuetype.Message) error {
	ctx := context.Background()
	tx, err := h.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	return h.Driver.InsertTx(ctx, tx, driver.InsertParams{Messages: ms})
}

func idsOf(ms []*queuetype.Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func testRouteDrop(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	r := router(t, open(t))
	var rs []*driver.Route
	for i, id := range []string{"r0", "r1", "r2", "r3"} {
		rs = append(rs, &driver.Route{ID: id, Shard: 1, At: t0.Add(time.Duration(i) * time.Hour), Token: int64(i)})
	}
	if err := r.PutRoutes(ctx, rs); err != nil {
		t.Fatal(err)
	}
	// Paged in (At, ID) order, only those before the cut-off.
	var seen []string
	var afterAt time.Time
	afterID := ""
	for {
		page, err := r.OldRoutes(ctx, t0.Add(150*time.Minute), afterAt, afterID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			seen = append(seen, p.ID)
		}
		afterAt, afterID = page[len(page)-1].At, page[len(page)-1].ID
	}
	if len(seen) != 3 || seen[0] != "r0" || seen[2] != "r2" {
		t.Fatalf("old routes: %v, want r0 r1 r2", seen)
	}
	// A drop with an outdated token (the route was renewed) keeps it.
	stale := &driver.Route{ID: "r1", Token: 99}
	if n, err := r.DropRoutes(ctx, []*driver.Route{stale, rs[0]}); err != nil || n != 1 {
		t.Fatalf("drop: %d, %v; want 1 (r0 only)", n, err)
	}
	if _, ok, _ := r.Route(ctx, "r0"); ok {
		t.Fatal("r0 still routed after its drop")
	}
	if _, ok, _ := r.Route(ctx, "r1"); !ok {
		t.Fatal("a drop with an outdated token deleted r1")
	}
}
