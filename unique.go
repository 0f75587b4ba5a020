package queuesqlite

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// UniqueOpts makes a message unique; see queuetype.UniqueOpts.
type UniqueOpts = queuetype.UniqueOpts

// MaxUniqueKeyLength bounds UniqueOpts.Key, in bytes.
const MaxUniqueKeyLength = queuetype.MaxUniqueKeyLength

// SendResult is what a send did with one message.
type SendResult struct {
	// ID is the message's id: the new one's, or, for a duplicate, the id of
	// the unique message already stored.
	ID string
	// Duplicate is true when the message was not stored because a message
	// with the same unique key holds it (see UniqueOpts).
	Duplicate bool
}

// SendUnique is Send that also says whether m was a duplicate of a unique
// message already stored (m.Unique): then nothing is stored, the result
// holds the stored message's id, the error is nil, and cb is not
// registered (use Wait on the id). Send and SendBatch treat a duplicate
// the same way without saying so.
//
// Unique keys are per queue: every message with one key goes to one
// shard, and that shard's write lock orders the look-up of the key and
// the insert, across processes. The key is scoped by destination and
// ShardKey: with a ShardKey, the message's shard is the ShardKey's and
// only messages with the same ShardKey are its duplicates; without one,
// the shard is picked by the key.
func (q *Queue) SendUnique(ctx context.Context, m *Message, cb Callback) (SendResult, error) {
	res, err := q.sendBatch(ctx, []*Message{m}, cb)
	if err != nil {
		return SendResult{}, err
	}
	return res[0], nil
}

// SendBatchUnique is SendBatch that also says which messages were
// duplicates (see SendUnique). A duplicate is not an error for the batch:
// the other messages are stored, and a message that duplicates an earlier
// one of the same batch gets that one's id.
func (q *Queue) SendBatchUnique(ctx context.Context, ms []*Message, cb Callback) ([]SendResult, error) {
	return q.sendBatch(ctx, ms, cb)
}

// uniqueSet holds the keys of a batch's unique rows and, after the insert,
// the id stored for each duplicate. A nil set (no unique rows) is valid.
type uniqueSet struct {
	keys     map[*Message]driver.UniqueKey
	mu       sync.Mutex
	existing map[*Message]string
}

// uniqueKeys derives the keys of the unique rows and moves each to its
// key's shard; nil when no row is unique.
func (q *Queue) uniqueKeys(ms, rows []*Message) *uniqueSet {
	var u *uniqueSet
	now := q.now()
	for i, m := range rows {
		if m.Unique == nil {
			continue
		}
		if u == nil {
			u = &uniqueSet{keys: map[*Message]driver.UniqueKey{}, existing: map[*Message]string{}}
		}
		key := uniqueDigest(m, now)
		u.keys[m] = driver.UniqueKey{Key: key, States: m.Unique.StateMask()}
		q.placeUnique(m, key, ms[i].ID == "")
	}
	return u
}

// placeUnique draws a generated id for a unique message without a
// ShardKey until its home is the key's shard, where a sharded store puts
// the message (package driver/shard), so no id route is needed. A given id
// keeps its route.
func (q *Queue) placeUnique(m *Message, key string, generated bool) {
	n := q.nShards
	if n == 1 || m.ShardKey != "" || !generated {
		return
	}
	for ShardFor(m.ID, n) != ShardFor(key, n) {
		m.ID = newID()
	}
}

// uniqueDigest derives the stored key: a SHA-256 of the destination, the
// ShardKey, the key (or, without one, the content) and the period the send
// falls in, each length-prefixed so no two inputs collide.
func uniqueDigest(m *Message, now time.Time) string {
	h := sha256.New()
	part := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	part([]byte(m.Destination))
	part([]byte(m.ShardKey))
	if m.Unique.Key != "" {
		part([]byte("key"))
		part([]byte(m.Unique.Key))
	} else {
		part([]byte("content"))
		part(m.Content)
	}
	var period int64
	if m.Unique.Period > 0 {
		period = now.UTC().Truncate(m.Unique.Period).UnixMicro()
	}
	part(fmt.Appendf(nil, "%d/%d", m.Unique.Period, period))
	return hex.EncodeToString(h.Sum(nil))
}

// has reports whether part holds a unique row.
func (u *uniqueSet) has(part []*Message) bool {
	if u == nil {
		return false
	}
	for _, m := range part {
		if _, ok := u.keys[m]; ok {
			return true
		}
	}
	return false
}

// insertUnique stores the rows with their unique keys and records the
// duplicates.
func (q *Queue) insertUnique(ctx context.Context, p driver.InsertParams, u *uniqueSet) error {
	ui, ok := q.d.(driver.UniqueInserter)
	if !ok {
		return fmt.Errorf("%w: the storage driver keeps no unique keys", ErrInvalidArgument)
	}
	keys := make([]driver.UniqueKey, len(p.Messages))
	for i, m := range p.Messages {
		keys[i] = u.keys[m]
	}
	existing, err := ui.InsertUnique(ctx, p, keys)
	if err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, id := range existing {
		if id != "" {
			u.existing[p.Messages[i]] = id
		}
	}
	return nil
}

// duplicateIDs returns the (unstored) ids of the duplicate rows.
func (u *uniqueSet) duplicateIDs() []string {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	var ids []string
	for m := range u.existing {
		ids = append(ids, m.ID)
	}
	return ids
}

// results gives each row's send result, withdrawing the callbacks
// registered for duplicates (their ids were never stored).
func (u *uniqueSet) results(rows []*Message, withCallback bool, take func([]string)) []SendResult {
	out := make([]SendResult, len(rows))
	for i, m := range rows {
		out[i].ID = m.ID
		if u == nil {
			continue
		}
		if id, dup := u.existing[m]; dup {
			out[i] = SendResult{ID: id, Duplicate: true}
			if withCallback {
				take([]string{m.ID})
			}
		}
	}
	return out
}

// refuseUniqueTx refuses unique messages in SendTx: their key lives in
// its own shard, and the caller's transaction may not be on it.
func refuseUniqueTx(rows []*Message) error {
	for i, m := range rows {
		if m.Unique != nil {
			return fmt.Errorf("message %d: %w: SendTx does not take unique messages (Unique); send them with Send or SendUnique", i, ErrInvalidArgument)
		}
	}
	return nil
}
