package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// metaShardCount is the key, in shard 0's metadata, of the shard count the
// queue directory was created with. metaShardFiles records, once every
// file of that count exists, the count again: Open then knows that a
// missing file is missing, not about to be created by another process.
const (
	metaShardCount = "shard_count"
	metaShardFiles = "shard_files"
)

// shardFileRE matches the name of a shard file.
var shardFileRE = regexp.MustCompile(`^queue_shard_(\d+)\.db$`)

// ShardPath returns the file of shard i in queue directory dir.
func ShardPath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("queue_shard_%d.db", i))
}

// plural writes n and the noun, "1 shard" or "2 shards".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// openShards opens the directory's shard files. requested is the caller's
// Config.Shards (0 = whatever the directory has, or 1 when it is new). The
// recorded count must agree with the files in the directory; Open creates
// files only while the queue itself is being created.
func openShards(ctx context.Context, dir string, requested int, o *DirOptions) ([]*DB, error) {
	opts := &Options{Synchronous: o.Synchronous, PollInterval: o.PollInterval, Logger: o.Logger, FileMode: o.FileMode}
	_, statErr := os.Stat(ShardPath(dir, 0))
	isNew := errors.Is(statErr, os.ErrNotExist)
	first, err := Open(ctx, ShardPath(dir, 0), opts)
	if err != nil {
		return nil, err
	}
	count, complete, err := shardCount(ctx, first, dir, isNew, requested)
	if err != nil {
		first.Close()
		return nil, err
	}
	dbs := []*DB{first}
	for i := 1; i < count; i++ {
		db, err := Open(ctx, ShardPath(dir, i), opts)
		if err != nil {
			closeAll(dbs)
			return nil, err
		}
		dbs = append(dbs, db)
	}
	if !complete {
		if err := first.SetMeta(ctx, metaShardFiles, strconv.Itoa(count)); err != nil {
			closeAll(dbs)
			return nil, err
		}
	}
	return dbs, nil
}

// shardCount reads (or, for a new queue, records) the shard count, checks
// it against the requested one and against the files present, and reports
// whether every file of the count is known to exist.
func shardCount(ctx context.Context, first *DB, dir string, isNew bool, requested int) (int, bool, error) {
	if err := reshardPending(ctx, first); err != nil {
		return 0, false, err
	}
	stored, ok, err := first.Meta(ctx, metaShardCount)
	if err != nil {
		return 0, false, err
	}
	if !ok {
		if stored, err = recordShardCount(ctx, first, dir, isNew, requested); err != nil {
			return 0, false, err
		}
	}
	n, err := parseShardCount(first.Path(), dir, stored)
	if err != nil {
		return 0, false, err
	}
	complete, err := checkShardFiles(ctx, first, dir, n, true)
	if err != nil {
		return 0, false, err
	}
	if requested != 0 && requested != n {
		return 0, false, mismatch(first.Path(), n, requested)
	}
	return n, complete, nil
}

// reshardPending refuses a queue whose reshard was interrupted.
func reshardPending(ctx context.Context, first *DB) error {
	pending, ok, err := first.Meta(ctx, metaReshardTo)
	if err != nil || !ok {
		return err
	}
	return &queuetype.StorageError{Op: "open", Path: first.Path(),
		Err:  fmt.Errorf("%w: a reshard to %s was interrupted", queuetype.ErrInvalidState, plural(atoiOr(pending, 0), "shard")),
		Hint: fmt.Sprintf("finish it with `queuesqlite reshard --to %s` (it resumes where it stopped)", pending)}
}

// countMissing refuses a directory whose shard count record is missing
// while it holds shard files beyond the first: the count was lost, and
// guessing would hide the other files' messages.
func countMissing(first *DB, dir string) error {
	present, err := shardFiles(dir)
	if err != nil || len(present) == 0 || present[len(present)-1] == 0 {
		return err
	}
	return &queuetype.StorageError{Op: "open", Path: first.Path(),
		Err:  fmt.Errorf("%w: the shard count record is missing, and the directory holds %s", queuetype.ErrShardMismatch, plural(len(present), "shard file")),
		Hint: fixHint(dir)}
}

// recordShardCount records the count of a queue being created and returns
// the count recorded (another process's, if it was first).
func recordShardCount(ctx context.Context, first *DB, dir string, isNew bool, requested int) (string, error) {
	if err := countMissing(first, dir); err != nil {
		// A creator records the count before it creates file 1: one that
		// has done so meanwhile is no loss.
		if stored, ok, merr := first.Meta(ctx, metaShardCount); merr != nil || ok {
			return stored, merr
		}
		return "", err
	}
	n := max(requested, 1)
	if !isNew && n != 1 {
		// A directory whose first shard holds messages but no count was
		// written before the count was recorded: it has one shard. One
		// without messages is being created right now by another
		// process (or its creation was interrupted).
		if st, err := first.Stats(ctx); err != nil {
			return "", err
		} else if len(st.Counts) > 0 {
			return "", mismatch(first.Path(), 1, n)
		}
	}
	// The first process to record a count wins; the others use it.
	return first.InitMeta(ctx, metaShardCount, strconv.Itoa(n))
}

func parseShardCount(path, dir, stored string) (int, error) {
	n, err := strconv.Atoi(stored)
	if err != nil || n < 1 || n > maxShards {
		return 0, &queuetype.StorageError{Op: "open", Path: path,
			Err:  fmt.Errorf("%w: the recorded shard count %q is not a number from 1 to %d", queuetype.ErrCorrupt, stored, maxShards),
			Hint: fixHint(dir)}
	}
	return n, nil
}

// checkShardFiles checks the shard files in dir against the recorded
// count n: none may lie beyond it, and once the queue's files are complete
// none may be missing (while creating, the caller creates the missing ones).
// It reports whether the files are complete.
func checkShardFiles(ctx context.Context, first *DB, dir string, n int, creating bool) (bool, error) {
	made, ok, err := first.Meta(ctx, metaShardFiles)
	if err != nil {
		return false, err
	}
	if ok && made != strconv.Itoa(n) {
		return false, &queuetype.StorageError{Op: "open", Path: first.Path(),
			Err:  fmt.Errorf("%w: shard 0 records %s, but the queue's files were made for %s", queuetype.ErrShardMismatch, plural(n, "shard"), made),
			Hint: fixHint(dir)}
	}
	missing, beyond, err := compareShardFiles(dir, n)
	if err != nil {
		return false, err
	}
	if beyond >= 0 {
		return false, &queuetype.StorageError{Op: "open", Path: first.Path(),
			Err:  fmt.Errorf("%w: shard 0 records %s, but %s exists", queuetype.ErrShardMismatch, plural(n, "shard"), ShardPath(dir, beyond)),
			Hint: fixHint(dir)}
	}
	if len(missing) > 0 && (ok || !creating) {
		return false, &queuetype.StorageError{Op: "open", Path: first.Path(),
			Err: fmt.Errorf("%w: the queue has %s, but the files of shards %v are missing", queuetype.ErrShardMismatch, plural(n, "shard"), missing),
			Hint: "restore the missing files from a backup; if they are lost for good, `queuesqlite doctor --fix-shard-count --dir " +
				dir + "` records the count of the files present (their messages are gone)"}
	}
	return ok, nil
}

// compareShardFiles lists the shards below n whose file is missing in dir,
// and the highest shard file at or beyond n (-1 when there is none).
func compareShardFiles(dir string, n int) (missing []int, beyond int, err error) {
	present, err := shardFiles(dir)
	if err != nil {
		return nil, -1, err
	}
	beyond = -1
	have := map[int]bool{}
	for _, i := range present {
		have[i] = true
		if i >= n {
			beyond = i
		}
	}
	for i := range n {
		if !have[i] {
			missing = append(missing, i)
		}
	}
	return missing, beyond, nil
}

// fixHint names the fix for a shard count record that disagrees with the
// files.
func fixHint(dir string) string {
	return fmt.Sprintf("if no file was lost, record the number of shard files present with `queuesqlite doctor --fix-shard-count --dir %s`", dir)
}

// shardFiles returns the indexes of the shard files in dir, in order.
func shardFiles(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list shard files: %w", err)
	}
	var out []int
	for _, e := range entries {
		if m := shardFileRE.FindStringSubmatch(e.Name()); m != nil {
			if i, err := strconv.Atoi(m[1]); err == nil {
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

func mismatch(path string, have, want int) error {
	return &queuetype.StorageError{Op: "open", Path: path,
		Err:  fmt.Errorf("%w: the queue has %s, Config.Shards asks for %d", queuetype.ErrShardMismatch, plural(have, "shard"), want),
		Hint: fmt.Sprintf("open with Shards: %d (or 0 to use what is there), or move the messages with `queuesqlite reshard --to %d`", have, want)}
}

func closeAll(dbs []*DB) {
	for _, db := range dbs {
		db.Close()
	}
}

// RepairResult reports what RepairShardCount did.
type RepairResult struct {
	From string // the record found ("" when it was missing)
	To   int    // the count recorded: the number of shard files present
}

// RepairShardCount rewrites the shard count record of the queue in dir to
// the number of shard files present, for a record that was lost or
// damaged. The files must be numbered 0 to N-1 without a gap; a missing
// file cannot be repaired this way (restore it). Like Reshard it needs the
// queue to itself.
func RepairShardCount(ctx context.Context, dir string) (*RepairResult, error) {
	present, err := shardFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(present) == 0 {
		return nil, fmt.Errorf("repair shard count %s: no queue there (%s not found): %w", dir, ShardPath(dir, 0), queuetype.ErrNotFound)
	}
	for k, i := range present {
		if i != k {
			return nil, fmt.Errorf("repair shard count %s: %w: %s is missing (files are numbered from 0 without gaps); restore it from a backup",
				dir, queuetype.ErrShardMismatch, ShardPath(dir, k))
		}
	}
	lock, err := lockDir(dir, true)
	if errors.Is(err, errDirBusy) {
		return nil, fmt.Errorf("repair shard count %s: %w: the queue is open in a process; stop every process first", dir, err)
	}
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	first, err := Open(ctx, ShardPath(dir, 0), nil)
	if err != nil {
		return nil, err
	}
	defer first.Close()
	if pending, ok, err := first.Meta(ctx, metaReshardTo); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("repair shard count %s: %w: a reshard to %s is unfinished; run `queuesqlite reshard --to %s`",
			dir, queuetype.ErrInvalidState, plural(atoiOr(pending, 0), "shard"), pending)
	}
	was, _, err := first.Meta(ctx, metaShardCount)
	if err != nil {
		return nil, err
	}
	n := strconv.Itoa(len(present))
	for _, key := range []string{metaShardCount, metaShardFiles} {
		if err := first.SetMeta(ctx, key, n); err != nil {
			return nil, err
		}
	}
	return &RepairResult{From: was, To: len(present)}, nil
}
