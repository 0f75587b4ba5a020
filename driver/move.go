package driver

import (
	"context"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Exporter is implemented by backends a queue can be moved out of (a move
// from SQLite to PostgreSQL, package migrate).
type Exporter interface {
	// Export returns up to limit messages with seq > after, in seq order,
	// every column included.
	Export(ctx context.Context, after int64, limit int) ([]*Message, error)
}

// Importer is implemented by backends a queue can be moved into.
type Importer interface {
	// Import stores messages exported from another store, keeping every
	// column but seq (a new one is given, in the order of ms), all or
	// none. A message whose id is already stored with every column equal
	// (a copy left by an interrupted move) is skipped, so a move can be
	// repeated; one whose id is stored with other contents fails the call
	// with ErrDuplicate naming it, storing nothing.
	Import(ctx context.Context, ms []*Message) error
}

// ListenImport is the listen data of a store being moved.
type ListenImport struct {
	Entries []*queuetype.ListenEntry // every key's current value
	Changes []*queuetype.Change      // the change log, in seq order
	Groups  []ListenGroup            // each group's cursor (leases are not moved)
}

// ListenImporter is implemented by backends whose listen data can be
// moved into.
type ListenImporter interface {
	// ImportListen stores another store's listen data, all or none:
	// entries take their stored value and version, changes keep their
	// seq (a change already stored with that seq is skipped), and groups
	// take the cursor given (a group already further on keeps its own).
	// Seqs of later changes continue after the highest imported one.
	ImportListen(ctx context.Context, p ListenImport) error
}
