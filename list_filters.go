package queuesqlite

import (
	"cmp"
	"context"
	"fmt"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/shard"
)

// Page sizes of ListPage and ListenChanges.
const (
	ListPageDefault = 100
	ListPageMax     = 1000
)

// MessagePage is one page of ListPage.
type MessagePage struct {
	Messages []*Message
	// Next is the cursor of the following page, "" when this one is the
	// last.
	Next string
}

// params is the driver's List filter for one shard.
func (o *ListOpts) params(after int64, limit int) driver.ListParams {
	return driver.ListParams{Statuses: o.Statuses, Destination: o.Destination, Tag: o.Tag,
		CreatedFrom: o.CreatedFrom, CreatedBefore: o.CreatedBefore, AfterSeq: after, Limit: limit}
}

// ListPage returns up to opts.Limit (default ListPageDefault, at most
// ListPageMax) messages matching opts, across all shards, in send time
// order (each shard's messages in their send order), from the position
// cursor names ("" for the start). Follow MessagePage.Next to the end to see
// every matching message once, also while messages are being sent (a
// message sent meanwhile may appear on a later page or not at all, never
// twice). A cursor is valid only for the queue and shard count it came from.
func (q *Queue) ListPage(ctx context.Context, opts *ListOpts, cursor string) (*MessagePage, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	var o ListOpts
	if opts != nil {
		o = *opts
	}
	limit := cmp.Or(o.Limit, ListPageDefault)
	if limit < 0 || limit > ListPageMax {
		return nil, fmt.Errorf("%w: page limit %d (want 1..%d)", ErrInvalidArgument, limit, ListPageMax)
	}
	if p, ok := q.d.(driver.Pager); ok { // a sharded store merges its shards by send time
		ms, next, err := p.ListPage(ctx, o.params(0, limit), cursor)
		if err != nil {
			return nil, err
		}
		return &MessagePage{Messages: ms, Next: next}, nil
	}
	after, err := shard.DecodeCursor(cursor, 1)
	if err != nil {
		return nil, err
	}
	ms, err := q.d.List(ctx, o.params(after[0], limit))
	if err != nil {
		return nil, err
	}
	page := &MessagePage{Messages: ms}
	if len(ms) == limit {
		page.Next = shard.EncodeCursor([]int64{ms[len(ms)-1].Seq})
	}
	return page, nil
}

// ListenChanges returns the logged listen-data changes after seq after, in
// seq order, at most limit (default ListPageDefault, at most ListPageMax).
// The log holds changes only while a listener group exists and until they
// are pruned (see Cleanup); ListenStats gives its range.
func (q *Queue) ListenChanges(ctx context.Context, after int64, limit int) ([]*Change, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	limit = cmp.Or(limit, ListPageDefault)
	if limit < 0 || limit > ListPageMax || after < 0 {
		return nil, fmt.Errorf("%w: listen changes after %d, limit %d (want after >= 0, limit 1..%d)",
			ErrInvalidArgument, after, limit, ListPageMax)
	}
	ls, err := q.listenStore()
	if err != nil {
		return nil, err
	}
	return ls.ListenChanges(ctx, after, limit)
}
