package queuesqlite

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/queue-sqlite/queuesqlite/driver"
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
	after, err := decodeCursor(cursor, len(q.shards))
	if err != nil {
		return nil, err
	}
	heads := make([][]*Message, len(q.shards))
	for shard, d := range q.shards {
		ms, err := d.List(ctx, o.params(after[shard], limit))
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			m.Shard = shard
		}
		heads[shard] = ms
	}
	return mergePage(heads, after, limit), nil
}

// mergePage takes up to limit messages from the shards' lists, oldest send
// time first, each list in its own order, and computes the next cursor: a
// shard that filled its list may hold more, one whose list was not used up
// does.
func mergePage(heads [][]*Message, after []int64, limit int) *MessagePage {
	page := &MessagePage{}
	next := append([]int64(nil), after...)
	pos := make([]int, len(heads))
	for len(page.Messages) < limit {
		best := -1
		for s, ms := range heads {
			if pos[s] < len(ms) && (best < 0 || ms[pos[s]].CreatedAt.Before(heads[best][pos[best]].CreatedAt)) {
				best = s
			}
		}
		if best < 0 {
			break
		}
		m := heads[best][pos[best]]
		page.Messages = append(page.Messages, m)
		next[best] = m.Seq
		pos[best]++
	}
	for s, ms := range heads {
		if pos[s] < len(ms) || len(ms) == limit {
			page.Next = encodeCursor(next)
			break
		}
	}
	return page
}

// A cursor is the last seq seen on each shard, dot-separated and base64url
// encoded so callers treat it as opaque.
func encodeCursor(after []int64) string {
	parts := make([]string, len(after))
	for i, seq := range after {
		parts[i] = strconv.FormatInt(seq, 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, ".")))
}

func decodeCursor(cursor string, shards int) ([]int64, error) {
	after := make([]int64, shards)
	if cursor == "" {
		return after, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	parts := strings.Split(string(raw), ".")
	if err != nil || len(parts) != shards {
		return nil, fmt.Errorf("%w: bad page cursor (from another queue, or altered?)", ErrInvalidArgument)
	}
	for i, p := range parts {
		seq, err := strconv.ParseInt(p, 10, 64)
		if err != nil || seq < 0 {
			return nil, fmt.Errorf("%w: bad page cursor (from another queue, or altered?)", ErrInvalidArgument)
		}
		after[i] = seq
	}
	return after, nil
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
