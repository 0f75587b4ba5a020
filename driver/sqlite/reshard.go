package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/shardkey"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// metaReshardTo marks a reshard in progress (in shard 0's metadata): its
// value is the target shard count, and metaReshardFrom the count before.
// Open refuses the queue while it is set.
const (
	metaReshardTo   = "reshard_to"
	metaReshardFrom = "reshard_from"
)

// reshardBatch is how many messages one move step reads from a file.
const reshardBatch = 2000

// errDirBusy: the directory lock is held in a conflicting way.
var errDirBusy = errors.New("queue directory is locked")

// ReshardResult reports what Reshard did.
type ReshardResult struct {
	From, To int // shard counts before and after
	Moved    int // messages moved to another file
	Total    int // messages in the queue afterwards
	Resumed  bool
}

// Reshard moves every message of the queue in dir to the shard its id (or
// shard key) routes to under a new shard count, then records the new count.
// Nothing is lost or duplicated. It needs the queue to itself: it fails if
// any process has the queue open, and Open fails while it runs. If it is
// interrupted (a crash, a kill), run it again with the same count: it
// resumes where it stopped. Listen data stays in the first file.
//
// Before it changes anything it checks the shard count record against the
// files and that no id is stored in two files (possible in directories
// written before ids were unique per queue); either problem stops it with
// an error naming the fix, and every message stays where it was. A move
// never deletes a source row before its copy is in the target.
func Reshard(ctx context.Context, dir string, to int, o *DirOptions) (*ReshardResult, error) {
	if to < 1 || to > maxShards {
		return nil, fmt.Errorf("%w: reshard to %s (want 1 to %d)", queuetype.ErrInvalidArgument, plural(to, "shard"), maxShards)
	}
	opts, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(ShardPath(dir, 0)); err != nil {
		return nil, fmt.Errorf("reshard %s: no queue there: %w", dir, err)
	}
	lock, err := lockDir(dir, true)
	if errors.Is(err, errDirBusy) {
		return nil, fmt.Errorf("reshard %s: %w: the queue is open in a process; stop every process first", dir, err)
	}
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	r := &resharder{dir: dir, to: to, now: opts.now(), opts: &Options{Synchronous: opts.Synchronous, Logger: opts.Logger, FileMode: opts.FileMode}}
	defer r.close()
	return r.run(ctx)
}

// resharder holds the files of one reshard.
type resharder struct {
	dir   string
	to    int
	now   time.Time // the time of the routes it writes
	opts  *Options
	files map[int]*DB

	examined, total int // messages looked at, of all there are (progress)
}

func (r *resharder) file(ctx context.Context, i int) (*DB, error) {
	if r.files == nil {
		r.files = map[int]*DB{}
	}
	if db, ok := r.files[i]; ok {
		return db, nil
	}
	db, err := Open(ctx, ShardPath(r.dir, i), r.opts)
	if err != nil {
		return nil, err
	}
	r.files[i] = db
	return db, nil
}

func (r *resharder) close() {
	for _, db := range r.files {
		db.Close()
	}
}

func (r *resharder) run(ctx context.Context) (*ReshardResult, error) {
	first, err := r.file(ctx, 0)
	if err != nil {
		return nil, err
	}
	from, resumed, err := r.plan(ctx, first)
	if err != nil {
		return nil, err
	}
	res := &ReshardResult{From: from, To: r.to, Resumed: resumed}
	span := max(from, r.to)
	// Old routes name shards of the old count, and one in a file that
	// receives its message would refuse the move: clear them all first
	// (nothing reads them until the marker is gone), rebuild them last.
	for i := range span {
		db, err := r.file(ctx, i)
		if err == nil {
			err = db.ClearRoutes(ctx)
		}
		if err != nil {
			return res, fmt.Errorf("reshard: clearing id routes of shard %d (run it again to resume): %w", i, err)
		}
	}
	if r.total, err = r.count(ctx, span); err != nil {
		return res, fmt.Errorf("reshard: counting messages (run it again to resume): %w", err)
	}
	reshardProgress(ctx, 0, r.total)
	for i := range span {
		n, err := r.moveOut(ctx, i)
		res.Moved += n
		if err != nil {
			return res, fmt.Errorf("reshard: moving out of shard %d (run it again to resume): %w", i, err)
		}
	}
	for i := range r.to {
		if err := r.routeShard(ctx, i); err != nil {
			return res, fmt.Errorf("reshard: routing the ids of shard %d (run it again to resume): %w", i, err)
		}
	}
	if res.Total, err = r.finish(ctx, first, span); err != nil {
		return res, err
	}
	reshardProgress(ctx, r.total, r.total)
	return res, nil
}

// count returns how many messages the first span files hold.
func (r *resharder) count(ctx context.Context, span int) (int, error) {
	total := 0
	for i := range span {
		db, err := r.file(ctx, i)
		if err != nil {
			return 0, err
		}
		st, err := db.Stats(ctx)
		if err != nil {
			return 0, err
		}
		for _, byStatus := range st.Counts {
			for _, n := range byStatus {
				total += n
			}
		}
	}
	return total, nil
}

// plan reads the current count and records the target, or picks up an
// interrupted reshard's target.
func (r *resharder) plan(ctx context.Context, first *DB) (from int, resumed bool, err error) {
	stored, ok, err := first.Meta(ctx, metaShardCount)
	if err != nil {
		return 0, false, err
	}
	from = 1
	if ok {
		if from, err = parseShardCount(first.Path(), r.dir, stored); err != nil {
			return 0, false, fmt.Errorf("reshard: %w", err)
		}
	}
	if pending, ok, err := first.Meta(ctx, metaReshardTo); err != nil {
		return 0, false, err
	} else if ok {
		if pending != strconv.Itoa(r.to) {
			return 0, false, fmt.Errorf("%w: an interrupted reshard to %s must be finished first (run reshard --to %s)",
				queuetype.ErrInvalidState, plural(atoiOr(pending, 0), "shard"), pending)
		}
		if was, ok, err := first.Meta(ctx, metaReshardFrom); err == nil && ok {
			from, _ = strconv.Atoi(was)
		}
		return from, true, nil
	}
	if _, err := checkShardFiles(ctx, first, r.dir, from, false); err != nil {
		return 0, false, err
	}
	if err := r.checkUniqueIDs(ctx, from); err != nil {
		return 0, false, err
	}
	if err := r.checkNoneWaiting(ctx, from); err != nil {
		return 0, false, err
	}
	if err := first.SetMeta(ctx, metaReshardFrom, strconv.Itoa(from)); err != nil {
		return 0, false, err
	}
	return from, false, first.SetMeta(ctx, metaReshardTo, strconv.Itoa(r.to))
}

// moveOut moves every message of file i that belongs elsewhere: copy to the
// target (idempotent), then delete here. A crash between the two leaves a
// copy in both files, which the next run resolves (the copy, equal in every
// column, is skipped, the original deleted). A different message with the
// same id in the target stops the move (Import fails, naming the id) before
// anything of the batch is deleted: a source row is deleted only once its
// copy is in the target.
func (r *resharder) moveOut(ctx context.Context, i int) (int, error) {
	src, err := r.file(ctx, i)
	if err != nil {
		return 0, err
	}
	moved := 0
	var after int64
	for {
		ms, err := src.Export(ctx, after, reshardBatch)
		if err != nil || len(ms) == 0 {
			return moved, err
		}
		after = ms[len(ms)-1].Seq
		n, err := r.moveBatch(ctx, src, i, ms)
		moved += n
		if err != nil {
			return moved, err
		}
		// A file receiving messages is examined after them, so the count
		// can pass the total; the display stops at it.
		r.examined = min(r.examined+len(ms), r.total)
		reshardProgress(ctx, r.examined, r.total)
	}
}

func (r *resharder) moveBatch(ctx context.Context, src *DB, i int, ms []*queuetype.Message) (int, error) {
	byTarget := map[int][]*queuetype.Message{}
	var seqs []int64
	for _, m := range ms {
		key := m.ShardKey
		if key == "" {
			key = m.ID
		}
		if t := shardkey.For(key, r.to); t != i {
			byTarget[t] = append(byTarget[t], m)
			seqs = append(seqs, m.Seq)
		}
	}
	for t, part := range byTarget {
		dst, err := r.file(ctx, t)
		if err != nil {
			return 0, err
		}
		if err := dst.Import(ctx, part); err != nil {
			return 0, err
		}
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	return len(seqs), src.DeleteSeqs(ctx, seqs)
}

// finish records the new count, clears the marker and removes files the new
// count no longer uses (they are empty by now).
func (r *resharder) finish(ctx context.Context, first *DB, span int) (int, error) {
	total := 0
	for i := range span {
		db, err := r.file(ctx, i)
		if err != nil {
			return 0, err
		}
		n, err := db.Count(ctx)
		if err != nil {
			return 0, err
		}
		if i >= r.to && n > 0 {
			return 0, fmt.Errorf("reshard: shard %d still holds %s; run it again", i, plural(n, "message"))
		}
		total += n
	}
	for _, key := range []string{metaShardCount, metaShardFiles} {
		if err := first.SetMeta(ctx, key, strconv.Itoa(r.to)); err != nil {
			return 0, err
		}
	}
	if err := first.SetMeta(ctx, metaIDRoutes, "1"); err != nil { // rebuilt above
		return 0, err
	}
	for i := r.to; i < span; i++ {
		r.files[i].Close()
		delete(r.files, i)
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(ShardPath(r.dir, i) + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return total, fmt.Errorf("reshard: remove unused shard file: %w", err)
			}
		}
	}
	// Last: until the marker is gone, a rerun finishes the job.
	if err := first.DeleteMeta(ctx, metaReshardFrom); err != nil {
		return total, err
	}
	return total, first.DeleteMeta(ctx, metaReshardTo)
}

// routeShard writes, in their home shards under the new count, the routes
// of file i's messages stored outside their id's home (those whose shard key
// routes them elsewhere). Routes of an interrupted run are renewed.
func (r *resharder) routeShard(ctx context.Context, i int) error {
	if r.to == 1 {
		return nil
	}
	return routeFile(ctx, r.file, r.to, i, r.now, nil)
}

// checkNoneWaiting refuses to start while a message waits for
// dependencies: its dependency rows name it by seq, which a move changes.
func (r *resharder) checkNoneWaiting(ctx context.Context, from int) error {
	for i := range from {
		db, err := r.file(ctx, i)
		if err != nil {
			return err
		}
		n, err := db.Waiting(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: reshard: shard %d holds %s waiting for dependencies (Message.DependsOn); "+
				"run the queue until they are released or finished, or cancel them, then reshard",
				queuetype.ErrInvalidState, i, plural(n, "message"))
		}
	}
	return nil
}

// checkUniqueIDs refuses to start when an id is stored in two files (a
// directory written before ids were unique per queue): moving would have
// to drop one of them. It merges the files' ids, each read in order from
// its unique index, so it holds only a page of ids per file.
func (r *resharder) checkUniqueIDs(ctx context.Context, from int) error {
	if from == 1 {
		return nil
	}
	cursors := make([]*idCursor, from)
	for i := range from {
		db, err := r.file(ctx, i)
		if err != nil {
			return err
		}
		cursors[i] = &idCursor{db: db}
		if err := cursors[i].fill(ctx); err != nil {
			return err
		}
	}
	for {
		low, lowAt := "", -1
		for i, c := range cursors {
			if !c.done() && (lowAt < 0 || c.head() < low) {
				low, lowAt = c.head(), i
			}
		}
		if lowAt < 0 {
			return nil
		}
		for i, c := range cursors {
			if i != lowAt && !c.done() && c.head() == low {
				return fmt.Errorf("reshard: message id %q: %w: it is stored in shards %d and %d (written before ids were unique per queue); "+
					"nothing was moved: keep one of the two (delete the other row, e.g. with sqlite3 %s \"DELETE FROM messages WHERE id = '...'\"), then run reshard again",
					low, queuetype.ErrDuplicate, lowAt, i, ShardPath(r.dir, i))
			}
		}
		if err := cursors[lowAt].next(ctx); err != nil {
			return err
		}
	}
}

// idCursor walks one file's message ids in order, a page at a time.
type idCursor struct {
	db   *DB
	page []string
	pos  int
	last bool
}

func (c *idCursor) done() bool   { return c.pos >= len(c.page) && c.last }
func (c *idCursor) head() string { return c.page[c.pos] }

func (c *idCursor) fill(ctx context.Context) error {
	after := ""
	if len(c.page) > 0 {
		after = c.page[len(c.page)-1]
	}
	page, err := c.db.IDsAfter(ctx, after, reshardBatch)
	c.page, c.pos, c.last = page, 0, len(page) < reshardBatch
	return err
}

func (c *idCursor) next(ctx context.Context) error {
	c.pos++
	if c.pos < len(c.page) || c.last {
		return nil
	}
	return c.fill(ctx)
}
