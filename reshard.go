package queuesqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
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
func Reshard(ctx context.Context, dir string, to int, cfg *Config) (*ReshardResult, error) {
	if to < 1 || to > ShardsMax {
		return nil, fmt.Errorf("%w: reshard to %d shards (want 1 to %d)", ErrInvalidArgument, to, ShardsMax)
	}
	c, err := cfg.resolve()
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
	r := &resharder{dir: dir, to: to, opts: &sqlite.Options{Synchronous: c.Synchronous, Logger: c.Logger}}
	defer r.close()
	return r.run(ctx)
}

// resharder holds the files of one reshard.
type resharder struct {
	dir   string
	to    int
	opts  *sqlite.Options
	files map[int]*sqlite.DB
}

func (r *resharder) file(ctx context.Context, i int) (*sqlite.DB, error) {
	if r.files == nil {
		r.files = map[int]*sqlite.DB{}
	}
	if db, ok := r.files[i]; ok {
		return db, nil
	}
	db, err := sqlite.Open(ctx, ShardPath(r.dir, i), r.opts)
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
	for i := range span {
		n, err := r.moveOut(ctx, i)
		res.Moved += n
		if err != nil {
			return res, fmt.Errorf("reshard: moving out of shard %d (run it again to resume): %w", i, err)
		}
	}
	if res.Total, err = r.finish(ctx, first, span); err != nil {
		return res, err
	}
	return res, nil
}

// plan reads the current count and records the target, or picks up an
// interrupted reshard's target.
func (r *resharder) plan(ctx context.Context, first *sqlite.DB) (from int, resumed bool, err error) {
	stored, ok, err := first.Meta(ctx, metaShardCount)
	if err != nil {
		return 0, false, err
	}
	from = 1
	if ok {
		if from, err = strconv.Atoi(stored); err != nil {
			return 0, false, fmt.Errorf("reshard: %w: shard count %q", ErrCorrupt, stored)
		}
	}
	if pending, ok, err := first.Meta(ctx, metaReshardTo); err != nil {
		return 0, false, err
	} else if ok {
		if pending != strconv.Itoa(r.to) {
			return 0, false, fmt.Errorf("%w: an interrupted reshard to %s shards must be finished first (run reshard --to %s)",
				ErrInvalidState, pending, pending)
		}
		if was, ok, err := first.Meta(ctx, metaReshardFrom); err == nil && ok {
			from, _ = strconv.Atoi(was)
		}
		return from, true, nil
	}
	if err := first.SetMeta(ctx, metaReshardFrom, strconv.Itoa(from)); err != nil {
		return 0, false, err
	}
	return from, false, first.SetMeta(ctx, metaReshardTo, strconv.Itoa(r.to))
}

// moveOut moves every message of file i that belongs elsewhere: copy to the
// target (idempotent), then delete here. A crash between the two leaves a
// copy in both files, which the next run resolves (the copy is skipped,
// the original deleted).
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
	}
}

func (r *resharder) moveBatch(ctx context.Context, src *sqlite.DB, i int, ms []*Message) (int, error) {
	byTarget := map[int][]*Message{}
	var seqs []int64
	for _, m := range ms {
		key := m.ShardKey
		if key == "" {
			key = m.ID
		}
		if t := shardFor(key, r.to); t != i {
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
func (r *resharder) finish(ctx context.Context, first *sqlite.DB, span int) (int, error) {
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
			return 0, fmt.Errorf("reshard: shard %d still holds %d message(s); run it again", i, n)
		}
		total += n
	}
	if err := first.SetMeta(ctx, metaShardCount, strconv.Itoa(r.to)); err != nil {
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
