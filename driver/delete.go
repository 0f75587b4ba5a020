package driver

import "context"

// DeleteResult reports what Delete did with the ids it was given.
type DeleteResult struct {
	// Deleted are the ids deleted, in the order given.
	Deleted []string
	// Processing are the ids refused because their message is running:
	// they stay as they are.
	Processing []string
}

// Deleter is implemented by drivers that delete messages on request
// (Queue.Delete). A queue over a driver without it cannot delete
// (ErrInvalidArgument).
//
// Contract:
//   - Delete removes, in one transaction, every message of ids stored in
//     this shard whatever its status, except processing: a running
//     message is left alone and its id reported in Processing (its
//     attempt's outcome would have nowhere to go). Ids not stored here are
//     in neither list, so the caller can look for them in other shards.
//   - The deleted messages' own dependency rows (those where they are the
//     waiting child) go in the same transaction. Rows naming a deleted
//     message as the parent stay: the next ResolveDependencies finds the
//     parent gone and cancels those children (see DependencyStore).
//   - Routes are not touched: a route to a deleted message is pruned like
//     one to a message cleaned up.
//   - Once Delete returns, Get on any handle gives ErrNotFound for the
//     deleted ids, and a backend with topics signals TopicAny (so waiters
//     and dependency resolution look again).
//
// The conformance suite checks it (drivertest, Delete).
type Deleter interface {
	// Delete deletes the messages with these ids, except running ones.
	Delete(ctx context.Context, ids []string) (DeleteResult, error)
}
