package driver

import (
	"context"
	"time"
)

// PauseKind says what a pause applies to.
type PauseKind uint8

// The kinds of pause. The values are stored; do not renumber them.
const (
	// PauseDestination pauses the messages of one destination (handler
	// name), in every process.
	PauseDestination PauseKind = 1
	// PauseQueue pauses one named worker queue: in every process, the
	// destinations whose handlers that process assigned to the queue.
	PauseQueue PauseKind = 2
)

// Valid reports whether k is one of the kinds above.
func (k PauseKind) Valid() bool { return k == PauseDestination || k == PauseQueue }

// String names the kind: "destination" or "queue".
func (k PauseKind) String() string {
	switch k {
	case PauseDestination:
		return "destination"
	case PauseQueue:
		return "queue"
	}
	return "unknown"
}

// PauseParams pauses or resumes one destination or queue.
type PauseParams struct {
	Kind   PauseKind
	Name   string    // the destination or queue name; required
	Paused bool      // true pauses, false resumes
	Now    time.Time // stored as Since of a new pause
}

// PauseState is one stored pause.
type PauseState struct {
	Kind  PauseKind
	Name  string
	Since time.Time // when it was paused (the Now of the SetPaused that paused it)
}

// Pauser is implemented by drivers that store pauses: a set of (Kind, Name)
// pairs shared by every handle on the store. A sharded store (package
// shard) keeps its pauses in its first shard. A queue over a driver without it cannot pause
// (Queue.Pause fails with ErrInvalidArgument).
//
// The store only records pauses; it never filters a claim by them, so
// Claim stays as it is: each queue instance reads Paused (on every change
// signal and at least once per maintenance interval), caches the set and
// leaves paused destinations out of ClaimParams.Destinations. A message
// claimed before the pause was seen runs to its end.
//
// Contract:
//   - SetPaused with Paused true records (Kind, Name) with Since = Now; when
//     it is recorded already it keeps its first Since (pausing twice is not
//     an error and changes nothing). With Paused false it deletes the pair;
//     resuming what is not paused is not an error either.
//   - Kind must be Valid and Name non-empty, else ErrInvalidArgument,
//     nothing written.
//   - Once SetPaused returns, Paused on every handle of the store returns
//     the new set, and the other handles' change signals fire (Changes, or
//     a TopicAny signal for a TopicWatcher), so that they notice within
//     their poll interval rather than at their next maintenance pass.
//   - Paused returns every recorded pause, ordered by Kind then Name. A
//     store written by an older version, without pauses, has none (no
//     error), so read-only handles can read old files.
//
// The conformance suite checks it (drivertest, Pause).
type Pauser interface {
	// SetPaused records or deletes one pause.
	SetPaused(ctx context.Context, p PauseParams) error
	// Paused returns every recorded pause.
	Paused(ctx context.Context) ([]PauseState, error)
}
