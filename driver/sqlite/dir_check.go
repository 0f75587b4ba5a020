package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// FileCheck is the verdict on one shard file of a queue directory.
type FileCheck struct {
	Shard int
	Path  string
	Err   error // nil when the file is sound; wraps ErrCorrupt when damaged
}

// CheckDir checks every shard file of the queue in dir on its own, without
// opening the queue: each file is opened read-only (which reads its header
// and schema; nothing is created or written, so it works on a read-only
// file system) and given a full integrity check. Unlike Open, which stops at the
// first damaged file, it reports on all of them. It fails only when dir
// holds no queue.
func CheckDir(ctx context.Context, dir string) ([]FileCheck, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "queue_shard_*.db"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("check %s: no queue there (%s not found): %w", dir, ShardPath(dir, 0), queuetype.ErrNotFound)
	}
	var out []FileCheck
	for i := 0; len(out) < len(paths); i++ {
		p := ShardPath(dir, i)
		if _, err := os.Stat(p); err != nil {
			continue // a gap in the numbering: an interrupted reshard left no file there
		}
		out = append(out, FileCheck{Shard: i, Path: p, Err: checkFile(ctx, p)})
	}
	return out, nil
}

// checkFile opens path read-only (so a check creates and changes nothing,
// and works on a read-only file system) and runs the full check.
func checkFile(ctx context.Context, path string) error {
	db, err := Open(ctx, path, &Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Check(ctx)
}
