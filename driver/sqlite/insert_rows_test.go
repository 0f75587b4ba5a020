package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// insertedColumns reads back, in seq order, the columns sqlInsert writes,
// in insertArgs' order (updated_at left out: it is created_at).
const insertedColumns = `SELECT seq, id, type, status, destination, source, content, priority, created_at, run_at,
	expire_at, max_attempts, tags, metadata, shard_key, callback_owner, max_attempts_unset FROM messages ORDER BY seq`

const rowsStandIn = 5

// TestInsertRows_StoreWhatOneRowInsertsWould: batches written with
// multi-row statements (chunks of every size, each of the sharings of
// values, NULLs left unbound) store every row exactly as insertArgs gives
// it for a one-row insert, with the Seq each message was given; a batch
// without the optional columns, run through the same prepared statements
// after one with them, stores NULLs.
func TestInsertRows_StoreWhatOneRowInsertsWould(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "shard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var want [][]any
	for _, batch := range []insertBatch{variedBatch(150), alikeBatch(64, true), alikeBatch(64, false)} {
		p := qdriver.InsertParams{Messages: batch.ms, CallbackOwners: batch.owners, MaxAttemptsDefault: rowsStandIn}
		if err := db.Insert(ctx, p); err != nil {
			t.Fatal(err)
		}
		for i, m := range batch.ms {
			args, err := insertArgs(m, batch.owner(i), rowsStandIn)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, append([]any{m.Seq}, args...))
		}
	}
	got := readInserted(t, db)
	if len(got) != len(want) {
		t.Fatalf("%d rows stored, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
}

// TestInsertRows_ChunksTakeEverySharing checks the three sharings the
// batches of TestInsertRows_StoreWhatOneRowInsertsWould go through.
func TestInsertRows_ChunksTakeEverySharing(t *testing.T) {
	for _, c := range []struct {
		name string
		ms   []*queuetype.Message
		want uint16
	}{
		{"alike", alikeBatch(64, true).ms, sharings[0]},
		{"two destinations", variedBatch(150).ms[:64], sharings[1]},
		{"two sources", variedBatch(150).ms[128:], 0},
	} {
		var ch chunk
		if err := ch.fill(insertBatch{ms: c.ms, standIn: rowsStandIn}, 0, len(c.ms)); err != nil {
			t.Fatal(err)
		}
		if ch.shared != c.want {
			t.Errorf("%s: shares columns %b, want %b", c.name, ch.shared, c.want)
		}
	}
}

func readInserted(t *testing.T, db *DB) [][]any {
	t.Helper()
	rows, err := db.read.Query(insertedColumns)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]any, insertColumns+1)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var rowsNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func rowMsg(id string) *queuetype.Message {
	return &queuetype.Message{ID: id, Type: queuetype.TypeTask, Status: queuetype.StatusPending, Destination: "a",
		Source: queuetype.SourceDefault, Content: []byte(fmt.Sprintf(`{"id":%q}`, id)), Priority: queuetype.PriorityNormal,
		CreatedAt: rowsNow, UpdatedAt: rowsNow, RunAt: rowsNow, MaxAttempts: 3}
}

// variedBatch returns n messages: the first 64 alternate two destinations,
// the next 64 vary their priority, run time and MaxAttempts (0: the stand-in),
// the rest alternate two sources; every few carry an expiry, tags,
// metadata, a shard key or a callback owner.
func variedBatch(n int) insertBatch {
	b := insertBatch{owners: make([]string, n), standIn: rowsStandIn}
	for i := range n {
		m := rowMsg(fmt.Sprintf("varied-%03d", i))
		switch {
		case i < 64:
			m.Destination = []string{"a", "b"}[i%2]
		case i < 128:
			m.Priority = queuetype.Priority(i % 4)
			m.RunAt = rowsNow.Add(time.Duration(i) * time.Second)
			m.MaxAttempts = i % 3
		default:
			m.Source = []string{"x", "y"}[i%2]
		}
		if i%5 == 0 {
			m.ExpireAt, m.Tags, m.ShardKey = rowsNow.Add(time.Hour), []string{"t", fmt.Sprint(i)}, fmt.Sprint("key-", i)
		}
		if i%7 == 0 {
			m.Metadata, b.owners[i] = []byte(`{"m":1}`), "owner-1"
		}
		b.ms = append(b.ms, m)
	}
	return b
}

// alikeBatch returns n messages equal but for id and content, with every
// optional column set (full) or none.
func alikeBatch(n int, full bool) insertBatch {
	b := insertBatch{standIn: rowsStandIn}
	if full {
		b.owners = make([]string, n)
	}
	for i := range n {
		m := rowMsg(fmt.Sprintf("alike-%v-%03d", full, i))
		if full {
			m.ExpireAt, m.Tags, m.Metadata, m.ShardKey = rowsNow.Add(time.Hour), []string{"t"}, []byte(`{"m":2}`), "k"
			b.owners[i] = "owner-2"
		}
		b.ms = append(b.ms, m)
	}
	return b
}

// TestRoutedAfter_ReadsOnlyTheNewRows: the id route check of a batch
// reads the new rows by seq and looks each up in id_routes by its key,
// so it costs the batch's rows, not the file's rows or routes.
func TestRoutedAfter_ReadsOnlyTheNewRows(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "shard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.read.Query("EXPLAIN QUERY PLAN "+sqlRoutedAfter, int64(0))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	text := strings.Join(plan, "; ")
	for _, want := range []string{"SEARCH m USING INTEGER PRIMARY KEY (rowid>?)", "SEARCH r USING PRIMARY KEY (id=?)"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan of the route check: %s; want %q", text, want)
		}
	}
	if strings.Contains(text, "SCAN m") {
		t.Errorf("plan of the route check scans messages: %s", text)
	}
}
