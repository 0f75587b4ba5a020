package drivertest

import (
	"context"
	"errors"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// testTx checks the caller's-transaction contract: a transaction of
// another store is refused with ErrForeignTx before anything is written, a
// value the driver cannot use with ErrInvalidArgument, and a native
// transaction (when the backend has one) follows its commit or rollback.
func testTx(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	t.Run("ForeignTransactionIsRefused", func(t *testing.T) {
		t.Parallel()
		h := open(t)
		begin := h.BeginForeign
		others := []driver.Driver{h.Driver}
		if begin == nil {
			other := open(t)
			begin, others = other.BeginTx, append(others, other.Driver)
		}
		if begin == nil {
			t.Skip("backend has no application transactions")
		}
		tx, err := begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		err = h.Driver.InsertTx(ctx, tx, driver.InsertParams{Messages: []*queuetype.Message{newMsg("foreign", "x", 1)}})
		wantErr(t, "insert through another store's transaction", err, queuetype.ErrForeignTx)
		if ls, ok := h.Driver.(driver.ListenStore); ok {
			_, err := ls.SetListenTx(ctx, tx, driver.SetListenParams{Key: "k", Value: value(t, 1), Now: t0})
			wantErr(t, "set listen data through another store's transaction", err, queuetype.ErrForeignTx)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		for _, d := range others {
			_, err := d.Get(ctx, "foreign")
			wantErr(t, "get the refused message", err, queuetype.ErrNotFound)
		}
	})
	t.Run("UnusableTransactionTypeIsRefused", func(t *testing.T) {
		t.Parallel()
		h := open(t)
		for _, tx := range []driver.Tx{nil, "not a transaction", 42} {
			err := h.Driver.InsertTx(ctx, tx, driver.InsertParams{Messages: []*queuetype.Message{newMsg("bad-tx", "x", 1)}})
			wantErr(t, "insert through a non-transaction", err, queuetype.ErrInvalidArgument)
		}
		_, err := h.Driver.Get(ctx, "bad-tx")
		wantErr(t, "get the refused message", err, queuetype.ErrNotFound)
	})
	t.Run("NativeTransactionFollowsItsOutcome", func(t *testing.T) {
		t.Parallel()
		h := open(t)
		if h.BeginNative == nil {
			t.Skip("backend has no native transaction type beyond *sql.Tx")
		}
		for _, commit := range []bool{true, false} {
			tx, end, err := h.BeginNative(ctx)
			if err != nil {
				t.Fatal(err)
			}
			id := map[bool]string{true: "native-committed", false: "native-rolled-back"}[commit]
			if err := h.Driver.InsertTx(ctx, tx, driver.InsertParams{Messages: []*queuetype.Message{newMsg(id, "x", 1)}}); err != nil {
				t.Fatal(err)
			}
			if err := end(commit); err != nil {
				t.Fatal(err)
			}
		}
		wantStatus(t, h.Driver, "native-committed", queuetype.StatusPending)
		_, err := h.Driver.Get(ctx, "native-rolled-back")
		if !errors.Is(err, queuetype.ErrNotFound) {
			t.Fatalf("get rolled back: %v, want ErrNotFound", err)
		}
	})
}
