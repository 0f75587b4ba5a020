package drivertest

import (
	"context"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

func testCallbacks(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	t.Run("FinishedFindsOwnersTerminalMessages", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		ms := []*queuetype.Message{newMsg("mine", "x", 1), newMsg("theirs", "x", 1), newMsg("waiting", "y", 1)}
		err := d.Insert(ctx, driver.InsertParams{Messages: ms, CallbackOwners: []string{"sender-a", "sender-b", "sender-a"}})
		if err != nil {
			t.Fatal(err)
		}
		// Another instance ("me-1", not the owner) completes both x messages.
		for _, m := range claim(t, d, 2, t0, "x") {
			completeOne(t, d, completion(m, queuetype.StatusCompleted, t0))
		}
		got, err := d.Finished(ctx, "sender-a", 10)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "finished for sender-a", got, "mine")
		if err := d.AckCallbacks(ctx, []int64{got[0].Seq}); err != nil {
			t.Fatal(err)
		}
		if again, _ := d.Finished(ctx, "sender-a", 10); len(again) != 0 {
			t.Fatalf("after ack: %v", ids(again))
		}
	})

	t.Run("OwnerCompletingItselfNeedsNoAck", func(t *testing.T) {
		t.Parallel()
		d := open(t).Driver
		err := d.Insert(ctx, driver.InsertParams{Messages: []*queuetype.Message{newMsg("m", "x", 1)}, CallbackOwners: []string{"me-1"}})
		if err != nil {
			t.Fatal(err)
		}
		completeOne(t, d, completion(claim(t, d, 1, t0, "x")[0], queuetype.StatusCompleted, t0))
		if got, _ := d.Finished(ctx, "me-1", 10); len(got) != 0 {
			t.Fatalf("own completion still waits for a callback: %v", ids(got))
		}
	})
}
