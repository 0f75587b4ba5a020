package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// testListFilters checks List's tag and creation-time filters, alone, with
// the older filters and with paging.
func testListFilters(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	t.Parallel()
	d := open(t).Driver
	tagged := func(id string, minute int, tags ...string) *driver.Message {
		m := newMsg(id, "a", 1)
		m.CreatedAt = t0.Add(time.Duration(minute) * time.Minute)
		m.Tags = tags
		return m
	}
	insert(t, d, keyed("k", tagged("m0", 0, "red"), tagged("m1", 1, "blue", "red"), tagged("m2", 2),
		tagged("m3", 3, "redder"), tagged("m4", 4, "red"), tagged("m5", 5, `r"e%d_`))...)
	list := func(p driver.ListParams) []*driver.Message {
		t.Helper()
		ms, err := d.List(ctx, p)
		if err != nil {
			t.Fatalf("list %+v: %v", p, err)
		}
		return ms
	}
	wantIDs(t, "tag red", list(driver.ListParams{Tag: "red"}), "m0", "m1", "m4")
	wantIDs(t, "tag with quotes and wildcards", list(driver.ListParams{Tag: `r"e%d_`}), "m5")
	wantIDs(t, "tag absent", list(driver.ListParams{Tag: "green"}))
	wantIDs(t, "from minute 1", list(driver.ListParams{CreatedFrom: t0.Add(time.Minute)}), "m1", "m2", "m3", "m4", "m5")
	wantIDs(t, "before minute 2", list(driver.ListParams{CreatedBefore: t0.Add(2 * time.Minute)}), "m0", "m1")
	wantIDs(t, "range", list(driver.ListParams{CreatedFrom: t0.Add(time.Minute), CreatedBefore: t0.Add(4 * time.Minute)}), "m1", "m2", "m3")
	wantIDs(t, "tag and range", list(driver.ListParams{Tag: "red", CreatedFrom: t0.Add(time.Minute)}), "m1", "m4")
	wantIDs(t, "tag and other destination", list(driver.ListParams{Tag: "red", Destination: "b"}))
	page1 := list(driver.ListParams{Tag: "red", Limit: 2})
	wantIDs(t, "tag page 1", page1, "m0", "m1")
	wantIDs(t, "tag page 2", list(driver.ListParams{Tag: "red", Limit: 2, AfterSeq: page1[1].Seq}), "m4")
}
