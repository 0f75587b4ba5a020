package queuesqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// DeleteResult reports what Delete did with each id it was given.
type DeleteResult struct {
	Deleted    []string // deleted, in the order given
	Processing []string // refused: running (see Delete)
	NotFound   []string // no shard holds them
}

// Delete removes messages for good, in any status except processing, from
// whichever shard holds each. A deleted message's own dependency rows go
// with it; messages that depend on it (Message.DependsOn) are cancelled
// by the next promoter pass, as for a parent cleaned up. No callback fires
// (this process forgets the ones it holds for them) and Wait on a deleted
// message answers ErrNotFound.
//
// Every id is tried; the result says what happened to each. A running
// message is left as it is and the error wraps ErrInvalidState (its
// attempt's outcome would have nowhere to go: delete it once the attempt
// has ended); otherwise, when some ids are not stored, it wraps
// ErrNotFound. A queue whose storage cannot delete fails with
// ErrInvalidArgument.
func (q *Queue) Delete(ctx context.Context, ids ...string) (*DeleteResult, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	del, ok := q.d.(driver.Deleter)
	if !ok {
		return nil, fmt.Errorf("%w: the queue's storage cannot delete messages", ErrInvalidArgument)
	}
	r, err := del.Delete(ctx, ids) // a sharded store looks in the id's home, then follows its route
	res := &DeleteResult{Deleted: r.Deleted, Processing: r.Processing}
	if err == nil {
		res.NotFound = notFound(ids, r)
	}
	for _, id := range res.Deleted {
		q.callbacks.Take(id) // it will never fire
		q.waiters.wake(id)   // Wait answers ErrNotFound now
	}
	if r := q.run.Load(); len(res.Deleted) > 0 && r != nil {
		r.maint.MessageFinished() // their dependants, if dependencies are in use
	}
	res.inOrder(ids)
	if err != nil {
		return res, err
	}
	return res, res.err()
}

// inOrder sorts each list of r in the order the ids were given (shards
// answer one after another).
func (r *DeleteResult) inOrder(ids []string) {
	pos := make(map[string]int, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		pos[ids[i]] = i
	}
	for _, l := range [][]string{r.Deleted, r.Processing, r.NotFound} {
		slices.SortStableFunc(l, func(a, b string) int { return pos[a] - pos[b] })
	}
}

// notFound returns the ids r settles in neither list, in the order given.
func notFound(ids []string, r driver.DeleteResult) []string {
	settled := make(map[string]bool, len(r.Deleted)+len(r.Processing))
	for _, id := range append(r.Deleted, r.Processing...) {
		settled[id] = true
	}
	var out []string
	for _, id := range ids {
		if !settled[id] {
			out = append(out, id)
		}
	}
	return out
}

// err is the error of a delete that left some ids: running ones first.
func (r *DeleteResult) err() error {
	switch {
	case len(r.Processing) > 0:
		return fmt.Errorf("delete %s: %w: processing; a running message is deleted once its attempt has ended",
			quoteIDs(r.Processing), ErrInvalidState)
	case len(r.NotFound) > 0:
		return fmt.Errorf("delete %s: %w", quoteIDs(r.NotFound), ErrNotFound)
	}
	return nil
}

// quoteIDs names a few ids for an error message.
func quoteIDs(ids []string) string {
	const shown = 5
	parts := make([]string, 0, shown+1)
	for i, id := range ids {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(ids)-shown))
			break
		}
		parts = append(parts, fmt.Sprintf("%q", id))
	}
	return "message " + strings.Join(parts, ", ")
}
