package driver

import (
	"context"
	"time"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// WaitingRunAt is the run time a message waiting for its dependencies is
// stored with: the latest time a message may carry, so that Promote never
// reaches it and NextDue never reports it as due (NextDue may return it
// when only waiting messages are scheduled; it is never earlier than a
// real run time). The run time the sender asked for is kept with the
// dependency rows and restored when the message is released.
var WaitingRunAt = queuetype.MaxTime

// DependencyStore is implemented by drivers that store dependencies
// between messages (Message.DependsOn). A queue over a driver without it
// refuses messages with dependencies (ErrInvalidArgument).
//
// Contract:
//   - Insert and InsertTx store a message with a non-empty DependsOn
//     waiting: status scheduled, run time WaitingRunAt, whatever Status and
//     RunAt the caller set (the caller's Message is updated to match), with
//     one dependency row per parent that keeps the RunAt asked for. Such a
//     message is never claimed, promoted or reported due while it waits.
//     Every parent must be stored in this shard when the insert runs (an
//     earlier message of the same insert counts); a parent that is not is
//     refused with ErrInvalidArgument naming it, and nothing of the insert
//     is stored. A parent may be in any status, finished ones included.
//   - ResolveDependencies settles the waiting messages whose parents have
//     finished. A child whose parents have all completed is released:
//     pending, or scheduled at the RunAt it was sent with when that is
//     still ahead of Now. A child with a failed parent fails; one with a
//     cancelled or expired parent, or a parent no longer stored (cleaned
//     up), is cancelled; either way with finished time Now and a LastError
//     naming the parent and its status ("dependency <id> failed"), without
//     counting an attempt. Failure wins over cancellation when a child has
//     both. The outcome cascades: a child finished this way finishes its
//     own children in the same call (up to Limit rows per round, while a
//     round changes something). A child that stopped waiting by other
//     means (cancelled through Cancel, expired, requeued after either)
//     keeps its status; its rows are dropped, whatever its parents, and
//     its own children follow its status.
//   - It is safe to run in every process at once (each change applies
//     once), returns the children it finished (failed or cancelled; their
//     callback owner cleared when it is Me, as Expire does), and the
//     number it released. A backend with topics signals TopicWork for the
//     destinations it released and TopicFinished for the owners of those
//     it finished.
//
// The queue runs ResolveDependencies with Promote (every process, each
// maintenance interval, and at once when this process finished a message
// while dependencies are in use). The conformance suite checks it
// (drivertest, Dependencies), with two handles.
type DependencyStore interface {
	// ResolveDependencies releases, fails or cancels waiting messages
	// whose parents have finished; p.Now stamps the changes, p.Limit
	// bounds the rows of one round and p.Me is this instance's callback
	// owner id.
	ResolveDependencies(ctx context.Context, p MaintainParams) (DependencyResult, error)
	// Waiting reports how many messages still wait for dependencies
	// (stored waiting, with dependency rows).
	Waiting(ctx context.Context) (int, error)
}

// DependencyResult reports what ResolveDependencies did.
type DependencyResult struct {
	Released int                  // children made pending (or scheduled at their own RunAt)
	Finished []*queuetype.Message // children failed or cancelled by a parent, as stored afterwards
}

// DependencyError is the LastError of a child finished by its parent
// (stored false: the parent is no longer stored).
func DependencyError(parentID string, parent queuetype.Status, stored bool) string {
	if !stored {
		return "dependency " + parentID + " is no longer stored"
	}
	return "dependency " + parentID + " " + parent.String()
}

// SettledEdge is one dependency row whose parent has finished (or is no
// longer stored), as a backend reads it for ResolveRound.
type SettledEdge struct {
	Child  int64            // the waiting child's seq
	Parent string           // the parent's id
	Status queuetype.Status // the parent's status, when Stored
	Stored bool             // false: the parent is gone
}

// DependencyOps are the statements of one ResolveRound, run by a backend
// inside one transaction. Each is a guarded write, so running a round in
// several handles at once applies each change once.
//
// A round reads only what changed: the backend finds the messages whose
// dependency rows may have settled (a parent with dependants that
// finished or was deleted, a child that stopped waiting or was deleted)
// without reading the rows still waiting: the built-in ones flag parents
// and children when a row is inserted and find the finished or moved ones
// through partial indexes, and mark deleted ones. A round settles the rows
// its marks name and then forgets those marks (clears the flags), so its
// cost follows the messages that changed, not the number still waiting.
type DependencyOps interface {
	// Marks returns up to limit marks, oldest first (opaque numbers).
	Marks(limit int) ([]int64, error)
	// Settled returns up to limit rows, ordered by child, of the messages
	// marks names: rows whose parent finished (or is gone), and every row
	// of a child that no longer waits (or is gone).
	Settled(marks []int64, limit int) ([]SettledEdge, error)
	// Forget deletes marks (marks made since, even of the same message,
	// are kept).
	Forget(marks []int64) error
	// DeleteEdge deletes one row and returns the run time it kept; ok is
	// false when another handle deleted it first.
	DeleteEdge(child int64, parent string) (runAt time.Time, ok bool, err error)
	// Remaining counts the child's rows left.
	Remaining(child int64) (int, error)
	// Release makes a still waiting child ready (or scheduled at runAt);
	// false when it no longer waits.
	Release(child int64, runAt time.Time) (bool, error)
	// Finish fails or cancels a still waiting child with lastError and
	// returns it as stored; nil when it no longer waits.
	Finish(child int64, status queuetype.Status, lastError string) (*queuetype.Message, error)
	// DropChild deletes every row of the child.
	DropChild(child int64) error
}

// ResolveRound runs one round of ResolveDependencies through ops and
// reports what it did and how much it settled (0: nothing is left, as far
// as it knows).
func ResolveRound(ops DependencyOps, limit int) (DependencyResult, int, error) {
	var res DependencyResult
	marks, err := ops.Marks(limit)
	if err != nil || len(marks) == 0 {
		return res, 0, err
	}
	edges, err := ops.Settled(marks, limit)
	if err != nil {
		return res, 0, err
	}
	for start := 0; start < len(edges); {
		end := start
		for end < len(edges) && edges[end].Child == edges[start].Child {
			end++
		}
		if err := resolveChild(ops, edges[start:end], &res); err != nil {
			return res, 0, err
		}
		start = end
	}
	if len(edges) == limit {
		return res, len(edges), nil // more rows of these marks: the next round goes on with them
	}
	if err := ops.Forget(marks); err != nil {
		return res, 0, err
	}
	if len(edges) == 0 && len(marks) < limit {
		return res, 0, nil // the marks named nothing to settle, and no more are waiting
	}
	// Marks made by this round (children it finished or released) are
	// for the next.
	return res, len(edges) + len(marks), nil
}

// resolveChild settles one child given its rows whose parents finished.
func resolveChild(ops DependencyOps, edges []SettledEdge, res *DependencyResult) error {
	child := edges[0].Child
	if status, blame, ok := dependencyOutcome(edges); ok {
		m, err := ops.Finish(child, status, DependencyError(blame.Parent, blame.Status, blame.Stored))
		if err != nil {
			return err
		}
		if m != nil {
			res.Finished = append(res.Finished, m)
		}
		return ops.DropChild(child)
	}
	var runAt time.Time
	deleted := false
	for _, e := range edges {
		at, ok, err := ops.DeleteEdge(child, e.Parent)
		if err != nil {
			return err
		}
		if ok {
			runAt, deleted = at, true
		}
	}
	if !deleted {
		return nil // another handle settled these rows
	}
	if left, err := ops.Remaining(child); err != nil || left > 0 {
		return err
	}
	released, err := ops.Release(child, runAt)
	if released {
		res.Released++
	}
	return err
}

// dependencyOutcome says how a child ends given its settled rows: failed
// when a parent failed, cancelled when one was cancelled, expired or is
// gone, and ok false when every one of them completed. blame is the
// parent named in the child's LastError.
func dependencyOutcome(edges []SettledEdge) (status queuetype.Status, blame SettledEdge, ok bool) {
	for _, e := range edges {
		switch {
		case e.Stored && e.Status == queuetype.StatusFailed:
			return queuetype.StatusFailed, e, true
		case !ok && (!e.Stored || e.Status != queuetype.StatusCompleted):
			status, blame, ok = queuetype.StatusCancelled, e, true
		}
	}
	return status, blame, ok
}
