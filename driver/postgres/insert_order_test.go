package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// The seqs of a batch follow its send order, for a batch grouped with
// others (below groupMaxMessages) and one stored on its own, with some
// columns NULL on some rows, and every message gets the seq stored for it.
func TestInsert_SeqsFollowSendOrder(t *testing.T) {
	db := openSchema(t, pgtest.Schema(t), nil)
	ctx := context.Background()
	for _, n := range []int{7, 1500} {
		p := sendLike(n)
		for i, m := range p.Messages {
			m.ID = fmt.Sprintf("n%d-%05d", n, n-i) // ids in the opposite order
			if i%3 == 0 {
				m.MaxAttempts, m.Metadata, m.Tags, m.ShardKey = 5, []byte(`{"k":1}`), []string{"t"}, "s"
				m.ExpireAt = m.RunAt.Add(3600e9)
				p.CallbackOwners[i] = ""
			}
		}
		if err := db.Insert(ctx, p); err != nil {
			t.Fatal(err)
		}
		for i, m := range p.Messages {
			if i > 0 && m.Seq <= p.Messages[i-1].Seq {
				t.Fatalf("batch of %d: message %d got seq %d after %d", n, i, m.Seq, p.Messages[i-1].Seq)
			}
			if i%97 != 0 && i != n-1 {
				continue
			}
			stored, err := db.Get(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Seq != m.Seq || stored.ShardKey != m.ShardKey || (i%3 == 0) != (stored.MaxAttempts == 5) {
				t.Errorf("batch of %d, message %d: stored seq %d shard %q max %d, given seq %d shard %q",
					n, i, stored.Seq, stored.ShardKey, stored.MaxAttempts, m.Seq, m.ShardKey)
			}
			if stored.Status != queuetype.StatusPending {
				t.Errorf("message %d stored %s", i, stored.Status)
			}
		}
	}
}
