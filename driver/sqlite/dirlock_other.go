//go:build !unix

package sqlite

import (
	"io/fs"
	"os"
)

// dirLock is a no-op where advisory file locks are not available: there,
// stop every process before a reshard.
type dirLock struct{}

func lockDir(string, bool) (*dirLock, error) { return &dirLock{}, nil }

func lockDirMode(string, bool, os.FileMode) (*dirLock, error) { return &dirLock{}, nil }

func lockDirReadOnly(string) (*dirLock, error) { return &dirLock{}, nil }

func (*dirLock) unlock() {}

// fileOwner is unknown here: no owner check.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
