package queuesqlite

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// FinishedOpts selects messages for ListFinished.
type FinishedOpts struct {
	// Statuses are the terminal statuses to keep; nil = completed, failed,
	// expired and cancelled. A status that is not terminal is refused.
	Statuses    []Status
	Destination string    // "" = all
	Since       time.Time // only messages that finished at or after this
	// Limit bounds the answer (default ListPageDefault, at most
	// ListPageMax).
	Limit int
}

// ListFinished returns the messages that finished at or after opts.Since,
// across all shards, earliest finish first (ties: lower shard, then send
// order), at most opts.Limit: the earliest ones when more match. To read
// on, call again with Since set to the last message's FinishedAt and skip
// the messages already seen at that instant. A message's FinishedAt is
// stamped by the process that finished it, just before it commits, so a
// message may appear with a FinishedAt a little earlier than one already
// listed; a follower re-reads a short window before its newest finish (see
// the CLI's tail).
func (q *Queue) ListFinished(ctx context.Context, opts *FinishedOpts) ([]*Message, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	p, err := opts.params()
	if err != nil {
		return nil, err
	}
	fl, ok := q.d.(driver.FinishedLister)
	if !ok {
		return nil, fmt.Errorf("%w: this storage backend cannot list finished messages", ErrInvalidArgument)
	}
	return fl.ListFinished(ctx, p) // a sharded store merges by finish time, then shard, then seq
}

// params validates opts and makes the driver's filter.
func (o *FinishedOpts) params() (driver.FinishedListParams, error) {
	var p driver.FinishedListParams
	if o != nil {
		p = driver.FinishedListParams{Statuses: o.Statuses, Destination: o.Destination, Since: o.Since, Limit: o.Limit}
	}
	p.Limit = cmp.Or(p.Limit, ListPageDefault)
	if p.Limit < 0 || p.Limit > ListPageMax {
		return p, fmt.Errorf("%w: finished list limit %d (want 1..%d)", ErrInvalidArgument, p.Limit, ListPageMax)
	}
	for _, s := range p.Statuses {
		if !s.Terminal() {
			return p, fmt.Errorf("%w: status %s is not a finished one (want completed, failed, expired or cancelled)", ErrInvalidArgument, s)
		}
	}
	return p, nil
}
