package shard_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/drivertest"
	"github.com/queue-sqlite/queuesqlite/driver/shard"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/internal/shardkey"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// testShards is how many SQLite shards the conformance run composes.
const testShards = 3

// openStore opens a fresh store of testShards SQLite files.
func openStore(t *testing.T) *drivertest.Harness {
	t.Helper()
	dir := t.TempDir()
	d := openAt(t, dir)
	return &drivertest.Harness{
		Driver: d,
		Reopen: func(t *testing.T) driver.Driver { return openAt(t, dir) },
		BeginTx: func(ctx context.Context) (*sql.Tx, error) {
			app, err := d.(driver.AppDB).AppDB()
			if err != nil {
				return nil, err
			}
			return app.BeginTx(ctx, nil)
		},
	}
}

// openAt opens a sharded handle on the files in dir and closes it when t
// ends.
func openAt(t *testing.T, dir string) driver.Driver {
	t.Helper()
	var shards []driver.Driver
	for i := range testShards {
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, fmt.Sprintf("shard-%d.db", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, db)
	}
	d, err := shard.New(shards)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestConformance(t *testing.T) {
	drivertest.Run(t, openStore)
}

func TestConformanceUnique(t *testing.T) {
	drivertest.RunUnique(t, openStore)
}

// TestInsertTxRefusesAnotherShardsKey: a transaction is on shard 0's file,
// so a message whose ShardKey routes to another shard is refused, naming
// the shards, with nothing stored; one without a key is stored in shard 0
// and found by id through its route.
func TestInsertTxRefusesAnotherShardsKey(t *testing.T) {
	h := openStore(t)
	ctx := context.Background()
	key := ""
	for i := 0; key == ""; i++ {
		if k := fmt.Sprint("key-", i); shardkey.For(k, testShards) != shard.TxShard {
			key = k
		}
	}
	tx, err := h.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	keyedMsg := msg("keyed")
	keyedMsg.ShardKey = key
	err = h.Driver.InsertTx(ctx, tx, driver.InsertParams{Messages: []*queuetype.Message{msg("free"), keyedMsg}})
	if !errors.Is(err, queuetype.ErrInvalidArgument) || !strings.Contains(err.Error(), "ShardKey") {
		t.Fatalf("insert of a key of another shard in a tx: %v, want ErrInvalidArgument naming the ShardKey", err)
	}
	if err := h.Driver.InsertTx(ctx, tx, driver.InsertParams{Messages: []*queuetype.Message{msg("free")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	m, err := h.Driver.Get(ctx, "free")
	if err != nil || m.Shard != shard.TxShard {
		t.Fatalf("get: %+v, %v, want it in shard %d", m, err, shard.TxShard)
	}
	if _, err := h.Driver.Get(ctx, "keyed"); !errors.Is(err, queuetype.ErrNotFound) {
		t.Fatalf("the refused message is stored: %v", err)
	}
}

// TestListPageMergesShardsBySendTime: ListPage pages every message once,
// oldest first across shards, and a bad cursor is refused.
func TestListPageMergesShardsBySendTime(t *testing.T) {
	d := openStore(t).Driver
	ctx := context.Background()
	const n = 30
	var ms []*queuetype.Message
	for i := range n {
		m := msg(fmt.Sprint("m", i))
		m.CreatedAt = m.CreatedAt.Add(time.Duration(i) * time.Millisecond)
		ms = append(ms, m)
	}
	if err := d.Insert(ctx, driver.InsertParams{Messages: ms}); err != nil {
		t.Fatal(err)
	}
	p := d.(driver.Pager)
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, next, err := p.ListPage(ctx, driver.ListParams{Limit: 7}, cursor)
		if err != nil || pages > n {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, m := range page {
			got = append(got, m.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for i, id := range got {
		if id != fmt.Sprint("m", i) || len(got) != n {
			t.Fatalf("paged %v, want m0..m%d in order", got, n-1)
		}
	}
	if _, _, err := p.ListPage(ctx, driver.ListParams{}, "bm90IGEgY3Vyc29y"); !errors.Is(err, queuetype.ErrInvalidArgument) {
		t.Fatalf("bad cursor: %v", err)
	}
}

// TestSeqCarriesTheShard: every seq handed out splits into its shard, and
// Complete, ExtendLeases and AckCallbacks find it there.
func TestSeqCarriesTheShard(t *testing.T) {
	if local, s := shard.Split(shard.Seq(12345, 7)); local != 12345 || s != 7 {
		t.Fatalf("split: %d, %d", local, s)
	}
	d := openStore(t).Driver
	ctx := context.Background()
	var ms []*queuetype.Message
	for i := range 12 {
		ms = append(ms, msg(fmt.Sprint("m", i)))
	}
	if err := d.Insert(ctx, driver.InsertParams{Messages: ms}); err != nil {
		t.Fatal(err)
	}
	shards := map[int]bool{}
	for _, m := range ms {
		if _, s := shard.Split(m.Seq); s != m.Shard {
			t.Fatalf("%s: seq %d names shard %d, stored in %d", m.ID, m.Seq, s, m.Shard)
		}
		shards[m.Shard] = true
	}
	if len(shards) < 2 {
		t.Fatalf("12 ids all in one shard: %v", shards)
	}
	now := ms[0].CreatedAt
	got, err := d.Claim(ctx, driver.ClaimParams{Destinations: []string{"x"}, Max: 100, Owner: "o", Now: now, LeaseUntil: now.Add(time.Minute), Me: "me"})
	if err != nil || len(got) != len(ms) {
		t.Fatalf("claim: %d, %v", len(got), err)
	}
	var cs []*driver.Completion
	for _, m := range got {
		cs = append(cs, &driver.Completion{Seq: m.Seq, Attempt: m.Attempt, Owner: "o", Status: queuetype.StatusCompleted, Now: now, Me: "me"})
	}
	if err := d.Complete(ctx, cs); err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		if !c.Applied {
			t.Fatalf("completion of %s not applied", got[i].ID)
		}
		if m, _ := d.Get(ctx, got[i].ID); m.Status != queuetype.StatusCompleted {
			t.Fatalf("%s: %s after its completion", m.ID, m.Status)
		}
	}
}

func msg(id string) *queuetype.Message {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &queuetype.Message{ID: id, Type: queuetype.TypeTask, Status: queuetype.StatusPending, Destination: "x",
		Source: queuetype.SourceDefault, Content: []byte(`{}`), Priority: 1, CreatedAt: t0, UpdatedAt: t0, RunAt: t0, MaxAttempts: 3}
}
