package main

import (
	"context"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// Names of the two columns every table compares.
const (
	oursName  = benchkit.OursName
	floorName = "floor"
)

// system is one queue under test (ours, the floor or a peer).
type system struct {
	// Name labels the system's column, e.g. "goqite (tuned)".
	Name string
	// Note says what settings it runs with; printed under the table.
	Note string
	// Tuned marks a variant that differs from another system only in its
	// polling: it runs only the poll-sensitive scenarios.
	Tuned bool
	// SQLite says it stores into SQLite, so synchronous=FULL applies.
	SQLite bool
	// Shared says other OS processes can open the same queue (its
	// instances implement sharer), so the multi-process scenarios apply.
	Shared bool
	// VsName is the column its ratio is taken against; "" = ours.
	VsName string
	// Open opens a fresh, empty queue as e describes.
	Open func(ctx context.Context, e env) (benchkit.Instance, error)
}

// core says whether s runs every dimension (ours and the floor) rather than
// only the default one (the peers, unless -peers-all).
func (s *system) core() bool { return s.Name == oursName || s.Name == floorName }

// env is what a scenario asks of a system: benchkit's environment plus the
// size of every content.
type env struct {
	benchkit.Env
	// Size is the length of every job's content in bytes.
	Size int
	// Remote says the jobs were sent by another process: with Track, count
	// finished jobs by the queue's outcome hook, as messages sent elsewhere
	// carry no completion callback of this process.
	Remote bool
}
