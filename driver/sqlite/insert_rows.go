package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"strings"
	"sync"
	"unsafe"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// The insert path of batches. A batch without dependencies is written with
// multi-row INSERT statements of up to insertChunkMax rows (one prepared
// statement per chunk size, the sizes powers of two), so SQLite runs one
// statement per chunk instead of one per message.
//
// Id routes (migration 0003): a home shard holds an id either as a message
// or as a route. Until migration 0013 a trigger checked every inserted row
// against id_routes; now the insert statements do it in the same
// transaction: a lone insert stores its row only if its id has no route
// (sqlInsertUnrouted; a lone unique insert looks the route up first), and
// a batch checks every row it stored with one statement
// (checkRoutedAfter), whose failure rolls the batch's savepoint back. All
// run under the write lock, like the trigger.

// insertChunkMax is the most rows one insert statement writes (16 bound
// values each, far below SQLite's limit of 32766).
const insertChunkMax = 64

// insertColumns is the number of values insertArgs returns per message.
const insertColumns = 16

// The positions in insertArgs' values of the columns a chunk's rows can
// share. A multi-row statement binds a shared column once (the first
// row's parameter stands in every row), so a batch of messages alike binds
// only their ids and contents row by row. NULLs are never bound: the
// driver clears every binding before it binds a statement's values.
const (
	colType        = 1
	colStatus      = 2
	colDestination = 3
	colSource      = 4
	colPriority    = 6
	colCreated     = 7
	colRunAt       = 8
	colMaxAttempts = 10
	colUnset       = 15
)

// sharings are the sets of shared columns a chunk can use (bit i: column
// i), largest first; a chunk takes the first whose columns are equal in
// all its rows. Few sets keep the prepared statements few (at most
// len(sharings) per chunk size).
var sharings = [...]uint16{
	sharedAlike,
	sharedAlike &^ (1<<colDestination | 1<<colPriority),
	0,
}

const sharedAlike uint16 = 1<<colType | 1<<colStatus | 1<<colDestination | 1<<colSource | 1<<colPriority |
	1<<colCreated | 1<<colRunAt | 1<<colMaxAttempts | 1<<colUnset

// insertRowsSQL returns sqlInsert for n rows: the row i of the VALUES
// takes the parameters i*insertColumns+1 ... (i+1)*insertColumns, in
// sqlInsert's order, but the first row's for the columns in shared.
//
// OR FAIL: a constraint failure (a duplicate id) ends the statement and
// keeps the rows it wrote before, instead of undoing them, so SQLite
// keeps no statement journal (a copy of every page the statement
// changes). The batch's savepoint undoes them with the rest of the batch.
func insertRowsSQL(n int, shared uint16) string {
	var b strings.Builder
	head, _, _ := strings.Cut(sqlInsert, "VALUES")
	b.WriteString(strings.Replace(head, "INSERT INTO", "INSERT OR FAIL INTO", 1))
	b.WriteString("VALUES ")
	// sqlInsert's values are columns 0..15 with column 7 (created_at)
	// bound twice, as updated_at too.
	order := [...]int{0, 1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, c := range order {
			if j > 0 {
				b.WriteString(", ")
			}
			param := i*insertColumns + c + 1
			if shared&(1<<c) != 0 {
				param = c + 1
			}
			fmt.Fprintf(&b, "?%d", param)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// chunkSize is the rows of the next insert statement for n rows left:
// insertChunkMax, or the largest power of two not above n.
func chunkSize(n int) int {
	if n >= insertChunkMax {
		return insertChunkMax
	}
	k := 1
	for k*2 <= n {
		k *= 2
	}
	return k
}

// maxSeq returns the largest seq stored, 0 for none. Rows inserted after
// it get larger seqs: a rowid table without AUTOINCREMENT gives each new
// row the largest rowid plus one (while that is below math.MaxInt64).
func maxSeq(t *tx) (int64, error) {
	after, _, err := t.queryInt(sqlMaxSeq)
	return after, err
}

// insertRows stores p's messages (none with dependencies) with multi-row
// inserts after the largest seq after, and sets their Seq: the rows get
// after+1, after+2, ... in order, which every statement's last rowid
// confirms. Run it in a savepoint: a failed chunk leaves the earlier ones
// written.
func insertRows(t *tx, p insertBatch, after int64) error {
	if after > math.MaxInt64-int64(len(p.ms)) {
		return fmt.Errorf("insert: the largest seq %d leaves no room for %d more", after, len(p.ms))
	}
	c := chunkPool.Get().(*chunk)
	defer c.release()
	next := after
	for done := 0; done < len(p.ms); {
		k := chunkSize(len(p.ms) - done)
		if err := c.fill(p, done, k); err != nil {
			return err
		}
		last, err := c.exec(t, k)
		if err != nil {
			return err
		}
		if last != next+int64(k) {
			return fmt.Errorf("insert: rows stored up to seq %d, want %d (seqs not assigned in order)", last, next+int64(k))
		}
		for i := done; i < done+k; i++ {
			next++
			p.ms[i].Seq = next
		}
		done += k
	}
	return nil
}

// chunk holds the values of one insert statement, reused from chunk to
// chunk.
type chunk struct {
	args   []any // insertColumns per row
	named  []driver.NamedValue
	boxes  argBoxes
	shared uint16
}

// chunkPool keeps chunks' buffers from batch to batch.
var chunkPool = sync.Pool{New: func() any {
	return &chunk{args: make([]any, 0, insertChunkMax*insertColumns), named: make([]driver.NamedValue, 0, insertChunkMax*insertColumns)}
}}

// release drops c's references to the messages and returns it to chunkPool.
func (c *chunk) release() {
	clear(c.args)
	clear(c.named)
	c.args, c.named, c.boxes = c.args[:0], c.named[:0], argBoxes{}
	chunkPool.Put(c)
}

// fill sets c to the k messages of p from index from on.
func (c *chunk) fill(p insertBatch, from, k int) error {
	c.args = c.args[:0]
	for i := from; i < from+k; i++ {
		var err error
		if c.args, err = appendInsertArgs(c.args, p.ms[i], p.owner(i), p.standIn, &c.boxes); err != nil {
			return err
		}
	}
	c.bind(k)
	return nil
}

// bind sets c.shared and c.named from the k rows of c.args.
func (c *chunk) bind(k int) {
	c.shared = c.sharing(k)
	c.named = c.named[:0]
	for i, v := range c.args {
		row, col := i/insertColumns, i%insertColumns
		if v == nil || (row > 0 && c.shared&(1<<col) != 0) {
			continue // NULL, or bound once with the first row
		}
		c.named = append(c.named, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
}

// sharing returns the first of sharings whose columns are equal in all k
// rows of c.args.
func (c *chunk) sharing(k int) uint16 {
	equal := sharedAlike
	first := c.args[:insertColumns]
	for row := 1; row < k && equal != 0; row++ {
		vals := c.args[row*insertColumns : (row+1)*insertColumns]
		for col := range vals {
			if equal&(1<<col) != 0 && vals[col] != first[col] {
				equal &^= 1 << col
			}
		}
	}
	for _, s := range sharings {
		if s&^equal == 0 {
			return s
		}
	}
	return 0
}

// query returns the insert statement of c's k rows.
func (c *chunk) query(k int) string {
	shared := c.shared
	return cachedSQL(fmt.Sprint("insert/", k, "/", shared), func() string { return insertRowsSQL(k, shared) })
}

// exec runs the insert of c's k rows and returns the last seq stored.
func (c *chunk) exec(t *tx, k int) (int64, error) {
	s, err := t.w.stmt(c.query(k))
	if err != nil {
		return 0, err
	}
	res, err := s.(driver.StmtExecContext).ExecContext(context.Background(), c.named)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// insertBatch is what insertRows writes.
type insertBatch struct {
	ms      []*queuetype.Message
	owners  []string // parallel to ms, or nil
	standIn int
}

func (p insertBatch) owner(i int) string {
	if p.owners == nil {
		return ""
	}
	return p.owners[i]
}

// checkRoutedAfter refuses, with ErrDuplicate, the rows stored after seq
// after whose id has a route in this shard (the id's message is in another
// one). An empty id_routes (every unsharded file) is one look-up.
func checkRoutedAfter(t *tx, after int64) error {
	id, found, err := t.queryString(sqlRoutedAfter, after)
	if err != nil || !found {
		return err
	}
	return routedError(id)
}

// checkNotRouted refuses, with ErrDuplicate, an id that has a route in
// this shard; it runs before a lone unique insert, which has no savepoint.
func checkNotRouted(ins inserter, id string) error {
	_, found, err := ins.queryInt(sqlRouteShard, id)
	if err != nil || !found {
		return err
	}
	return routedError(id)
}

func routedError(id string) error {
	return fmt.Errorf("message id %q: %w: a message with this id is stored in another shard "+
		"(this one, its home, routes it there)", id, queuetype.ErrDuplicate)
}

// appendInsertArgs appends the parameters of sqlInsert for m to dst, as
// insertArgs returns them, boxing the values the messages of a batch
// share (type, destination, source, times) once per batch. The content
// is bound without a copy: the driver copies it while binding.
func appendInsertArgs(dst []any, m *queuetype.Message, callbackOwner string, standIn int, b *argBoxes) ([]any, error) {
	tags, err := encodeTags(m.Tags)
	if err != nil {
		return nil, err
	}
	maxAttempts, unset, err := storedMaxAttempts(m, standIn)
	if err != nil {
		return nil, err
	}
	return append(dst,
		m.ID, b.text(boxType, m.Type), int64(m.Status), b.text(boxDestination, m.Destination),
		b.text(boxSource, m.Source), contentText(m.Content),
		int64(m.Priority), b.int(boxCreated, micros(m.CreatedAt)), b.int(boxRunAt, micros(m.RunAt)), nullMicros(m.ExpireAt),
		maxAttempts, tags, nullJSON(m.Metadata), nullText(m.ShardKey), nullText(callbackOwner), unset,
	), nil
}

// contentText is content as text, sharing its bytes.
func contentText(content []byte) string {
	return unsafe.String(unsafe.SliceData(content), len(content))
}

// The values argBoxes keeps.
const (
	boxType = iota
	boxDestination
	boxSource
	boxCreated
	boxRunAt
	boxCount
)

// argBoxes keeps the last boxed value of each shared column, so a batch
// whose messages share it boxes it once.
type argBoxes struct{ last [boxCount]any }

func (b *argBoxes) text(i int, s string) any {
	if v, ok := b.last[i].(string); ok && v == s {
		return b.last[i]
	}
	b.last[i] = s
	return b.last[i]
}

func (b *argBoxes) int(i int, n int64) any {
	if v, ok := b.last[i].(int64); ok && v == n {
		return b.last[i]
	}
	b.last[i] = n
	return b.last[i]
}
