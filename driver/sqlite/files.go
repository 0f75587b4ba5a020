package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// FileModeDefault is the mode of a database file Open creates: readable and
// writable by its owner only. SQLite gives the -wal and -shm files it
// creates beside a database the database file's mode.
const FileModeDefault os.FileMode = 0o600

// logSuffixes are the files SQLite keeps beside a database in WAL mode.
var logSuffixes = []string{"-wal", "-shm"}

// createFile makes sure path is a regular file that is not a symlink,
// creating it empty with mode when it does not exist, so that SQLite (which
// would create it 0644 less the umask) never makes it wider than mode. Its
// -wal and -shm files, if present, must not be symlinks either: the queue
// would write through them to another file. A file made here is created
// exclusively (O_EXCL, which never follows a symlink) and closed at once:
// no SQLite connection of this process can have it open yet, so closing it
// drops no lock.
func createFile(path string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	switch {
	case err == nil:
		return f.Close()
	case !errors.Is(err, fs.ErrExist):
		return &queuetype.StorageError{Op: "open", Path: path, Err: fmt.Errorf("create: %w", err)}
	}
	return checkNotLinks(path, true)
}

// checkNotLinks refuses a database file (when the database must exist) or
// log file that is a symlink or not a regular file. A log file that does
// not exist is fine.
func checkNotLinks(path string, mustExist bool) error {
	for _, p := range append([]string{path}, path+logSuffixes[0], path+logSuffixes[1]) {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) && (p != path || !mustExist) {
			continue
		}
		if err != nil {
			return &queuetype.StorageError{Op: "open", Path: path, Err: err}
		}
		what := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			what = "a symlink"
		case !fi.Mode().IsRegular():
			what = "not a regular file"
		}
		if what != "" {
			return &queuetype.StorageError{Op: "open", Path: path,
				Err:  fmt.Errorf("%w: %s is %s; the queue does not open its files through links", queuetype.ErrInvalidArgument, p, what),
				Hint: "remove it (and find out who put it there); the queue's files must be real files in its directory"}
		}
	}
	return nil
}

// readOnlyImmutable reports whether a read-only open of path should tell
// SQLite the file cannot change (immutable=1). A read-only connection to a
// file in WAL mode otherwise creates the -wal and -shm files when they are
// missing, and leaves them behind, or fails where it cannot create them (a
// read-only file system: "unable to open database file"). With no -wal
// file, the database file holds every committed transaction, so reading it
// as immutable is exact, creates nothing and takes no lock. The cost: a
// process that starts writing the file while it is open this way is not
// seen, and a checkpoint it runs meanwhile could make a read fail; on
// read-only media nothing can write. With a -wal file (a process has the
// queue open, or one crashed), the log must be read: the file is opened
// with mode=ro, which uses the -shm file that is there.
func readOnlyImmutable(path string) bool {
	_, err := os.Lstat(path + logSuffixes[0])
	return errors.Is(err, fs.ErrNotExist)
}

// readOnlyParams adds the URI parameters of a read-only open.
func (d *DB) readOnlyParams(q url.Values) {
	if !d.opts.ReadOnly {
		return
	}
	q.Set("mode", "ro")
	if d.immutable {
		q.Set("immutable", "1")
	}
}
