package driver

import (
	"context"
	"io/fs"
	"log/slog"
	"sync"
	"time"
)

// DirConfig is what the queue hands a directory backend when a program
// opens a queue by directory (queuesqlite.Open and OpenReadOnly).
type DirConfig struct {
	// Shards is the shard count asked for: 0 takes what the directory has
	// (1 for a new one).
	Shards int
	// Synchronous, PollInterval and FileMode are the queue's Config
	// values, already checked.
	Synchronous  string
	PollInterval time.Duration
	FileMode     fs.FileMode
	Logger       *slog.Logger
	// Now is the queue's clock reading at open (for the id routes a
	// backend builds).
	Now time.Time
	// ReadOnly opens an existing queue for reading only: nothing is created
	// or written.
	ReadOnly bool
}

// Dir is a queue directory a backend opened: one driver per shard, and
// the release of whatever the directory holds (a lock file) once they are
// closed.
type Dir struct {
	Shards  []Driver
	Release func()
}

// DirBackend opens the queue stored in a directory.
type DirBackend func(ctx context.Context, dir string, c DirConfig) (*Dir, error)

var (
	dirMu      sync.RWMutex
	dirBackend DirBackend
)

// RegisterDirBackend makes b the backend that opens queues by directory.
// The SQLite driver registers itself when its package is imported
// (import _ "github.com/queue-sqlite/queuesqlite/driver/sqlite"), as
// database/sql drivers do. A second registration panics: two backends for
// one kind of directory is a programming error.
func RegisterDirBackend(b DirBackend) {
	dirMu.Lock()
	defer dirMu.Unlock()
	if dirBackend != nil {
		panic("queuesqlite/driver: a directory backend is registered twice")
	}
	dirBackend = b
}

// RegisteredDirBackend returns the registered directory backend, or nil.
func RegisteredDirBackend() DirBackend {
	dirMu.RLock()
	defer dirMu.RUnlock()
	return dirBackend
}
