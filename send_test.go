package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

func TestQueue_SendStoresEveryField(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, nil)
	m := queuesqlite.NewMessage("resize", map[string]string{"url": "a.jpg"})
	m.Priority = queuesqlite.PriorityHigh
	m.Source = "web"
	m.Tags = []string{"img"}
	m.SetMetadata(map[string]string{"trace": "t1"})
	m.Delay = time.Hour
	m.TTL = 2 * time.Hour
	before := time.Now().UTC()
	id := send(t, q, m, nil)
	got, err := q.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != queuesqlite.StatusScheduled || got.Priority != queuesqlite.PriorityHigh || got.Source != "web" ||
		string(got.Content) != `{"url":"a.jpg"}` || string(got.Metadata) != `{"trace":"t1"}` || got.Tags[0] != "img" {
		t.Fatalf("stored message differs: %+v", got)
	}
	if got.RunAt.Sub(before) < time.Hour || got.ExpireAt.Sub(got.RunAt) < time.Hour-time.Second {
		t.Fatalf("run at %v expire at %v (sent at %v)", got.RunAt, got.ExpireAt, before)
	}
	// Config.MaxAttempts is stored as a stand-in until a worker claims the
	// message and takes its handler's value.
	if got.MaxAttempts != queuesqlite.MaxAttemptsDefault || got.Type != "task" {
		t.Fatalf("defaults: max attempts %d type %q", got.MaxAttempts, got.Type)
	}
	if m.ID != "" {
		t.Fatal("Send modified the caller's message")
	}
}

func TestQueue_SendRejectsBadMessages(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, nil)
	bad := map[string]*queuesqlite.Message{
		"no destination":   queuesqlite.NewMessage("", 1),
		"unencodable":      queuesqlite.NewMessage("x", func() {}),
		"invalid raw JSON": queuesqlite.NewMessage("x", []byte(`{"a":`)),
		"unknown priority": func() *queuesqlite.Message { m := queuesqlite.NewMessage("x", 1); m.Priority = 9; return m }(),
		"metadata not an object": func() *queuesqlite.Message {
			m := queuesqlite.NewMessage("x", 1)
			m.Metadata = []byte(`[1]`)
			return m
		}(),
		"negative delay": func() *queuesqlite.Message { m := queuesqlite.NewMessage("x", 1); m.Delay = -1; return m }(),
		"nil":            nil,
	}
	for name, m := range bad {
		_, err := q.Send(context.Background(), m, nil)
		if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("%s: error %v, want ErrInvalidArgument", name, err)
		}
	}
	st, _ := q.Stats(context.Background())
	if len(st.ByDestination) != 0 {
		t.Fatalf("bad sends stored messages: %v", st.ByDestination)
	}
}

func TestQueue_SendBatchKeepsOrderAndIsAtomic(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, nil)
	ctx := context.Background()
	var ms []*queuesqlite.Message
	for i := range 10 {
		m := queuesqlite.NewMessage("x", i)
		m.ID = fmt.Sprint("m", i)
		ms = append(ms, m)
	}
	ids, err := q.SendBatch(ctx, ms, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids) != "[m0 m1 m2 m3 m4 m5 m6 m7 m8 m9]" {
		t.Fatalf("ids %v", ids)
	}
	fresh := queuesqlite.NewMessage("x", 1)
	fresh.ID = "fresh"
	_, err = q.SendBatch(ctx, []*queuesqlite.Message{fresh, ms[3]}, nil)
	if !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Fatalf("batch with a duplicate: %v", err)
	}
	if _, err := q.Get(ctx, "fresh"); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("half of a failed batch was stored: %v", err)
	}
}

// TestQueue_SendBatchMixesGivenAndGeneratedIDs: in a batch of given and
// empty ids, the given ones are kept and the others generated, each where
// its message was, all distinct and readable; a given id named twice among
// generated ones is refused, naming both messages, and nothing is stored.
func TestQueue_SendBatchMixesGivenAndGeneratedIDs(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, nil)
	ctx := context.Background()
	ms := make([]*queuesqlite.Message, 6)
	for i := range ms {
		ms[i] = queuesqlite.NewMessage("x", i)
	}
	ms[1].ID, ms[4].ID = "given-1", "given-4"
	ids, err := q.SendBatch(ctx, ms, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if want := ms[i].ID; want != "" && id != want || want == "" && len(id) != 36 || seen[id] {
			t.Fatalf("ids %q: id %d wrong, repeated or not generated", ids, i)
		}
		seen[id] = true
		got, err := q.Get(ctx, id)
		if err != nil || string(got.Content) != fmt.Sprint(i) {
			t.Fatalf("message %d (%s): %v, %+v", i, id, err, got)
		}
	}
	again := []*queuesqlite.Message{queuesqlite.NewMessage("x", 0), queuesqlite.NewMessage("x", 1),
		queuesqlite.NewMessage("x", 2), queuesqlite.NewMessage("x", 3)}
	again[1].ID, again[3].ID = "twice", "twice"
	_, err = q.SendBatch(ctx, again, nil)
	if !errors.Is(err, queuesqlite.ErrDuplicate) || !strings.Contains(err.Error(), "messages 1 and 3") {
		t.Fatalf("a batch naming one id twice: %v, want ErrDuplicate naming messages 1 and 3", err)
	}
	st, err := q.Stats(ctx)
	if err != nil || st.ByStatus[queuesqlite.StatusPending] != len(ms) {
		t.Fatalf("stats after the refused batch: %+v (%v), want %d pending", st, err, len(ms))
	}
}

func TestQueue_SendTxFollowsTheApplicationTransaction(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	ctx := context.Background()
	q.Handle("email", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "sent", nil }, nil)
	start(t, q)
	db, err := q.DB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS users (name TEXT)`); err != nil {
		t.Fatal(err)
	}
	for _, commit := range []bool{false, true} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		tx.Exec(`INSERT INTO users VALUES ('ann')`)
		ids, err := q.SendTx(ctx, tx, queuesqlite.NewMessage("email", "welcome ann"))
		if err != nil {
			t.Fatal(err)
		}
		if !commit {
			tx.Rollback()
			if _, err := q.Get(ctx, ids[0]); !errors.Is(err, queuesqlite.ErrNotFound) {
				t.Fatalf("message of a rolled back transaction exists: %v", err)
			}
			continue
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if m := wait(t, q, ids[0]); m.Status != queuesqlite.StatusCompleted || string(m.Result) != `"sent"` {
			t.Fatalf("committed message: %s %s", m.Status, m.Result)
		}
	}
	var users int
	db.QueryRow(`SELECT count(*) FROM users`).Scan(&users)
	if users != 1 {
		t.Fatalf("%d users, want 1", users)
	}
}
