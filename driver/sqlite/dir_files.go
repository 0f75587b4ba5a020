package sqlite

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// dirMode is the mode of the directories Open creates for a file mode: the
// same bits, plus search permission wherever read is given.
func dirMode(file fs.FileMode) fs.FileMode {
	return file | (file&0o444)>>2
}

// rootUID owns system directories; a queue directory it owns is trusted.
const rootUID = 0

// prepareDir creates the queue directory dir (and its parents) if needed
// and refuses one that other users could write to: they could replace or
// link the queue's files. That is a directory owned by another user (root
// excepted), or writable by every user. A directory writable by its group is refused too,
// unless mode (Config.FileMode) gives the group write permission; a sticky
// bit does not make a world-writable directory acceptable.
func prepareDir(dir string, mode fs.FileMode) error {
	if err := os.MkdirAll(dir, dirMode(mode)); err != nil {
		return fmt.Errorf("open queue: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("open queue: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("open queue: %w: %s is not a directory", queuetype.ErrInvalidArgument, dir)
	}
	perm := fi.Mode().Perm()
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() && uid != rootUID {
		return &queuetype.StorageError{Op: "open", Path: dir,
			Err: fmt.Errorf("%w: the queue directory is owned by another user (uid %d), who could replace the queue's files",
				queuetype.ErrInvalidArgument, uid),
			Hint: fmt.Sprintf("chown %d %s (the user running the queue must own its directory), or give the queue a directory of its own", os.Geteuid(), dir)}
	}
	switch {
	case perm&0o002 != 0:
		return unsafeDir(dir, fi.Mode(), "every user", "chmod o-w "+dir+" (or give the queue a directory of its own)")
	case perm&0o020 != 0 && mode&0o020 == 0:
		return unsafeDir(dir, fi.Mode(), "its group",
			"chmod g-w "+dir+", or set Config.FileMode to 0660 if the group is meant to share the queue")
	}
	return nil
}

func unsafeDir(dir string, mode fs.FileMode, who, fix string) error {
	return &queuetype.StorageError{Op: "open", Path: dir,
		Err:  fmt.Errorf("%w: the queue directory is writable by %s (mode %v), who could replace the queue's files", queuetype.ErrInvalidArgument, who, mode),
		Hint: fix}
}
