package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// wakeTestWait bounds every wait of these tests.
const wakeTestWait = 30 * time.Second

// senderAndListener opens two handles on one fresh schema: the sender and
// a listener whose work topics come out of the returned channel.
func senderAndListener(t *testing.T) (*DB, <-chan string) {
	t.Helper()
	schema := pgtest.Schema(t)
	open := func() *DB {
		d, err := Open(context.Background(), pgtest.DSN(), &Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	sender, listener := open(), open()
	heard := make(chan string, 10_000)
	// Registered here, before any insert (WatchTopics does the same from
	// its own goroutine, which would leave the moment open).
	id := listener.watchers.add(func(tp driver.Topic) {
		if tp.Kind == driver.TopicWork {
			heard <- tp.Key
		}
	})
	t.Cleanup(func() { listener.watchers.remove(id) })
	return sender, heard
}

// awaitHeard reads heard until every destination of want came; it fails
// on one of refused heard first.
func awaitHeard(t *testing.T, heard <-chan string, want []string, refused ...string) {
	t.Helper()
	left := map[string]bool{}
	for _, w := range want {
		left[w] = true
	}
	timeout := time.After(wakeTestWait)
	for len(left) > 0 {
		select {
		case k := <-heard:
			for _, r := range refused {
				if k == r {
					t.Fatalf("the listener heard of %q, whose insert failed", k)
				}
			}
			delete(left, k)
		case <-timeout:
			t.Fatalf("the listener never heard of %d destinations, among them %v", len(left), want[0])
		}
	}
}

// toEach is one ready message for each destination.
func toEach(dests ...string) []*queuetype.Message {
	ms := make([]*queuetype.Message, len(dests))
	for i, dest := range dests {
		ms[i] = groupMsg("m-" + dest)
		ms[i].Destination = dest
	}
	return ms
}

// manyDestinations are n destination names long enough that their
// wake-up takes several notifications.
func manyDestinations(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("dest-%04d-%s", i, strings.Repeat("d", 40))
	}
	return out
}

// An insert that is the handle's only one under way carries its wake-up
// in its own statement: the other handle hears of it, and the notifier
// sends nothing. Its destinations take more than one notification.
func TestWake_ALoneInsertNotifiesInItsStatement(t *testing.T) {
	sender, heard := senderAndListener(t)
	dests := manyDestinations(300)
	if err := sender.Insert(context.Background(), driver.InsertParams{Messages: toEach(dests...)}); err != nil {
		t.Fatal(err)
	}
	awaitHeard(t, heard, dests)
	if n := sender.notifier.sends.Load(); n != 0 {
		t.Errorf("the notifier sent %d statements for a lone insert, want 0", n)
	}
}

// An insert that overlaps another leaves its wake-up to the notifier,
// after its commit.
func TestWake_AnOverlappingInsertNotifiesAfterItsCommit(t *testing.T) {
	sender, heard := senderAndListener(t)
	sender.inserts.underWay.Add(1) // another insert is under way
	defer sender.inserts.underWay.Add(-1)
	dests := manyDestinations(300)
	if err := sender.Insert(context.Background(), driver.InsertParams{Messages: toEach(dests...)}); err != nil {
		t.Fatal(err)
	}
	awaitHeard(t, heard, dests)
	if n := sender.notifier.sends.Load(); n == 0 {
		t.Error("the notifier sent nothing for an insert that overlapped another")
	}
}

// A lone insert that fails notifies nothing: the notification of the next
// one, sent after it failed, comes first.
func TestWake_AFailedInsertNotifiesNothing(t *testing.T) {
	sender, heard := senderAndListener(t)
	ctx := context.Background()
	if err := sender.Insert(ctx, driver.InsertParams{Messages: toEach("first")}); err != nil {
		t.Fatal(err)
	}
	awaitHeard(t, heard, []string{"first"})
	dup := toEach("refused")
	dup[0].ID = "m-first"
	if err := sender.Insert(ctx, driver.InsertParams{Messages: dup}); !errors.Is(err, queuetype.ErrDuplicate) {
		t.Fatalf("insert of a stored id: %v, want ErrDuplicate", err)
	}
	if err := sender.Insert(ctx, driver.InsertParams{Messages: toEach("after")}); err != nil {
		t.Fatal(err)
	}
	awaitHeard(t, heard, []string{"after"}, "refused")
}

// A message stored scheduled wakes nobody, in the statement or after it.
func TestWake_AScheduledMessageNotifiesNothing(t *testing.T) {
	sender, heard := senderAndListener(t)
	ctx := context.Background()
	later := toEach("later")
	later[0].Status, later[0].RunAt = queuetype.StatusScheduled, later[0].RunAt.Add(time.Hour)
	if err := sender.Insert(ctx, driver.InsertParams{Messages: later}); err != nil {
		t.Fatal(err)
	}
	if err := sender.Insert(ctx, driver.InsertParams{Messages: toEach("now")}); err != nil {
		t.Fatal(err)
	}
	awaitHeard(t, heard, []string{"now"}, "later")
	if n := sender.notifier.sends.Load(); n != 0 {
		t.Errorf("the notifier sent %d statements, want 0", n)
	}
}
