//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// dirLock is an advisory lock on the queue directory's queue.lock file:
// every open queue holds it shared, a reshard holds it exclusively. The
// kernel drops it when the process dies, so a crash never leaves it stale.
type dirLock struct{ f *os.File }

// lockFileName is the lock file in the queue directory.
const lockFileName = "queue.lock"

// lockDir locks dir, creating the lock file with the default mode if needed.
func lockDir(dir string, exclusive bool) (*dirLock, error) {
	return lockDirMode(dir, exclusive, FileModeDefault)
}

// lockDirMode locks dir, creating the lock file with mode if needed. The
// lock file is never opened through a symlink (O_NOFOLLOW): one planted
// there would make the queue create or lock another file.
func lockDirMode(dir string, exclusive bool, mode os.FileMode) (*dirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, mode)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &queuetype.StorageError{Op: "lock queue directory", Path: path,
			Err:  fmt.Errorf("%w: %s is a symlink; the queue does not open its files through links", queuetype.ErrInvalidArgument, lockFileName),
			Hint: "remove it (and find out who put it there); it is recreated as a plain file"}
	}
	if err != nil {
		return nil, fmt.Errorf("lock queue directory: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := flockSoon(f, how); err != nil {
		f.Close()
		return nil, err
	}
	return &dirLock{f: f}, nil
}

// lockBusyPatience is how long a lock that is held elsewhere is tried again
// before the directory is reported busy. A lock is tied to its open file,
// which a child process forked at that moment shares until it execs, so a
// lock just released (a queue just closed, a reshard just done) can linger
// for a few milliseconds; a reshard that is really running holds it far
// longer.
const lockBusyPatience = 2 * time.Second

// lockRetryPause is the pause between two tries of a busy lock.
const lockRetryPause = 10 * time.Millisecond

// flockSoon takes the lock (how: LOCK_SH or LOCK_EX) without blocking,
// trying again for lockBusyPatience while another holder has it; then it
// returns errDirBusy.
func flockSoon(f *os.File, how int) error {
	deadline := time.Now().Add(lockBusyPatience)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("lock queue directory: %w", err)
		}
		if time.Now().After(deadline) {
			return errDirBusy
		}
		time.Sleep(lockRetryPause)
	}
}

func (l *dirLock) unlock() {
	if l != nil {
		l.f.Close() // closing the descriptor releases the lock
	}
}

// lockDirReadOnly takes dir's lock shared through a read-only descriptor,
// creating nothing: without a lock file, or without the right to read it,
// it returns no lock (nil) and the caller reads without one. A reshard in
// progress (the lock held exclusively) is errDirBusy.
func lockDirReadOnly(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission):
		return nil, nil
	case errors.Is(err, syscall.ELOOP):
		return nil, &queuetype.StorageError{Op: "lock queue directory", Path: path,
			Err: fmt.Errorf("%w: %s is a symlink; the queue does not open its files through links", queuetype.ErrInvalidArgument, lockFileName)}
	case err != nil:
		return nil, fmt.Errorf("lock queue directory: %w", err)
	}
	if err := flockSoon(f, syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	return &dirLock{f: f}, nil
}

// fileOwner returns the user id owning the file fi describes.
func fileOwner(fi fs.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
