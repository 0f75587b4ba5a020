package queuesqlite

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/queue-sqlite/queuesqlite/driver/shard"
)

// Ids are unique per queue: a sharded store keeps them so with id routes
// (see package driver/shard).

// checkBatchIDs refuses a batch that names one id twice. Only the ids the
// sender gave (ms[i].ID) are compared: generated ones never repeat (see
// fillIDs), and the store's unique index refuses a given id that equals a
// generated one, as it refuses any id stored already.
func checkBatchIDs(ms, rows []*Message) error {
	var seen map[string]int
	for i, m := range rows {
		if ms[i].ID == "" {
			continue
		}
		if seen == nil {
			seen = make(map[string]int)
		}
		if j, dup := seen[m.ID]; dup {
			return fmt.Errorf("messages %d and %d: id %q: %w: an id names one message of the queue", j, i, m.ID, ErrDuplicate)
		}
		seen[m.ID] = i
	}
	return nil
}

// homeZeroIDs draws the ids SendTx generates until their home is the
// shard a transaction is on (shard.TxShard), so the store needs no id
// route for them outside the application's transaction. A given id keeps
// its home; the store routes it there.
func (q *Queue) homeZeroIDs(ms, rows []*Message) {
	if q.nShards == 1 {
		return
	}
	for i, r := range rows {
		if ms[i].ID != "" || r.ShardKey != "" || len(r.DependsOn) > 0 {
			continue
		}
		for ShardFor(r.ID, q.nShards) != shard.TxShard {
			r.ID = newID()
		}
	}
}

// Generated ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, 12
// bits counting within the millisecond, 62 random bits. The counter part
// makes ids of one process strictly increasing, so they never repeat and
// the id index only grows at its end. A batch reserves its counter values
// at once and reads its random bits with one read.
var idClock struct {
	sync.Mutex
	last int64 // the latest ms<<12 | counter handed out
}

// idSubMilli is the number of counter values per millisecond.
const idSubMilli = 1 << 12

// idLen is the length of a UUID's text form.
const idLen = 36

// newID returns one fresh id.
func newID() string {
	var id [1]string
	fillIDs(id[:])
	return id[0]
}

// fillIDs sets ids to fresh ids, in increasing order, sharing one string.
func fillIDs(ids []string) {
	n := len(ids)
	if n == 0 {
		return
	}
	first := reserveIDClock(n)
	text := make([]byte, (idLen+8)*n) // the ids, then their random bits
	random := text[idLen*n:]
	_, _ = rand.Read(random) // never fails (crypto/rand)
	var u [16]byte
	for i := range n {
		at := first + int64(i)
		binary.BigEndian.PutUint64(u[0:8], uint64(at>>12)<<16|0x7000|uint64(at&(idSubMilli-1)))
		copy(u[8:], random[8*i:8*i+8])
		u[8] = u[8]&0x3f | 0x80 // the RFC 9562 variant
		formatUUID(text[idLen*i:idLen*(i+1)], &u)
	}
	all := unsafe.String(&text[0], idLen*n) // text is not written again
	for i := range ids {
		ids[i] = all[idLen*i : idLen*(i+1)]
	}
}

// reserveIDClock reserves n consecutive clock values, the first no earlier
// than now (with the counter part the sub-millisecond time, as
// github.com/google/uuid does) and after every value handed out before.
func reserveIDClock(n int) int64 {
	nanos := time.Now().UnixNano()
	now := nanos/1e6*idSubMilli + nanos%1e6*idSubMilli/1e6
	idClock.Lock()
	defer idClock.Unlock()
	first := max(now, idClock.last+1)
	idClock.last = first + int64(n) - 1
	return first
}

// formatUUID writes u's text form (8-4-4-4-12 hex digits) to dst.
func formatUUID(dst []byte, u *[16]byte) {
	hex.Encode(dst[0:8], u[0:4])
	dst[8] = '-'
	hex.Encode(dst[9:13], u[4:6])
	dst[13] = '-'
	hex.Encode(dst[14:18], u[6:8])
	dst[18] = '-'
	hex.Encode(dst[19:23], u[8:10])
	dst[23] = '-'
	hex.Encode(dst[24:36], u[10:16])
}
