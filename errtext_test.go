package queuesqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// TestSend_ErrorNamesTheMessageIndexOnlyInABatch: a single Send's error
// says what is wrong without a "message 0" that refers to nothing the
// caller wrote; a batch's error keeps the index of the bad message.
func TestSend_ErrorNamesTheMessageIndexOnlyInABatch(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, nil)
	ctx := context.Background()
	_, err := q.Send(ctx, queuesqlite.NewMessage("", 1), nil)
	if !errors.Is(err, queuesqlite.ErrInvalidArgument) || strings.Contains(err.Error(), "message 0") {
		t.Errorf("single send: %v; want ErrInvalidArgument without a message index", err)
	}
	_, err = q.SendBatch(ctx, []*queuesqlite.Message{queuesqlite.NewMessage("a", 1), queuesqlite.NewMessage("", 2)}, nil)
	if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), "message 1: ") {
		t.Errorf("batch: %v; want ErrInvalidArgument naming message 1", err)
	}
}

// TestWait_TimeoutSaysTheMessageHadNotFinished: Wait's deadline is not a
// storage error: the error matches context.DeadlineExceeded and says the
// message had not finished, with its status.
func TestWait_TimeoutSaysTheMessageHadNotFinished(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, nil)
	id := send(t, q, queuesqlite.NewMessage("nobody", 1), nil)
	for _, d := range []time.Duration{0, 20 * time.Millisecond} { // expired at the call, and while waiting
		ctx, cancel := context.WithTimeout(context.Background(), d)
		_, err := q.Wait(ctx, id)
		cancel()
		var se *queuesqlite.StorageError
		if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &se) ||
			!strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "not finished") {
			t.Errorf("wait with %v: %v; want DeadlineExceeded saying %s had not finished, not a storage error", d, err, id)
		}
	}
}

// TestSendTx_OnAnotherDatabaseIsAnInvalidArgument: a transaction begun on a
// database other than the queue's gets an error that says so, not "no such
// table: messages".
func TestSendTx_OnAnotherDatabaseIsAnInvalidArgument(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, nil)
	other, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = q.SendTx(ctx, tx, queuesqlite.NewMessage("job", 1))
	if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), "DB()") {
		t.Fatalf("SendTx on another database: %v; want ErrInvalidArgument pointing at q.DB()", err)
	}
}
