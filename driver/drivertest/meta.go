package drivertest

import (
	"context"
	"fmt"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// testMeta checks driver.MetaScanner.
func testMeta(t *testing.T, open OpenFunc) {
	t.Run("PrefixedPagesAndDeletes", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		ms, ok := d.(driver.MetaScanner)
		if !ok {
			t.Skip("backend does not list metadata")
		}
		ctx := context.Background()
		for _, k := range []string{"grou", "group", "group/b", "group/a", "group/c", "groupx", "h/a"} {
			if err := d.SetMeta(ctx, k, "v-"+k); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		after := "group/"
		for {
			page, err := ms.MetaPrefixed(ctx, "group/", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				got = append(got, e.Key+"="+e.Value)
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].Key
		}
		if want := "[group/a=v-group/a group/b=v-group/b group/c=v-group/c]"; fmt.Sprint(got) != want {
			t.Fatalf("pages of group/: %v, want %s", got, want)
		}
		if err := ms.DeleteMeta(ctx, "group/b"); err != nil {
			t.Fatal(err)
		}
		if err := ms.DeleteMeta(ctx, "group/none"); err != nil {
			t.Fatalf("deleting an absent key: %v", err)
		}
		if _, ok, err := d.Meta(ctx, "group/b"); err != nil || ok {
			t.Fatalf("group/b after its delete: stored %v, %v", ok, err)
		}
		page, err := ms.MetaPrefixed(ctx, "group/", "group/", 10)
		if err != nil || len(page) != 2 {
			t.Fatalf("after a delete: %v, %v; want group/a and group/c", page, err)
		}
	})
}
