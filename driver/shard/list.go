package shard

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// listDefault is List's page size when p.Limit is 0, as for one shard.
const listDefault = 100

// List implements driver.Driver. Its order is the order of this driver's
// seqs as pages see them: shard 0's messages in send order, then shard
// 1's, and so on, so paging by AfterSeq (the last seq of a page) sees every
// match once. Send order across shards is ListPage's.
func (d *Driver) List(ctx context.Context, p driver.ListParams) ([]*queuetype.Message, error) {
	limit := cmp.Or(p.Limit, listDefault)
	local, first := int64(0), 0
	if p.AfterSeq > 0 {
		var err error
		if local, first, err = d.split(p.AfterSeq); err != nil {
			return nil, err
		}
	}
	var out []*queuetype.Message
	for shard := first; shard < len(d.shards) && len(out) < limit; shard++ {
		sp := p
		sp.AfterSeq, sp.Limit = 0, limit-len(out)
		if shard == first {
			sp.AfterSeq = local
		}
		ms, err := d.shards[shard].List(ctx, sp)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", shard, err)
		}
		mark(shard, ms...)
		out = append(out, ms...)
	}
	return out, nil
}

// ListPage implements driver.Pager: up to p.Limit messages across all
// shards in send time order (each shard's in its send order), from the
// position the cursor names. The cursor is the last seq seen on each
// shard, so a message sent meanwhile may appear on a later page or not at
// all, never twice; it is valid only for this shard count.
func (d *Driver) ListPage(ctx context.Context, p driver.ListParams, cursor string) ([]*queuetype.Message, string, error) {
	limit := cmp.Or(p.Limit, listDefault)
	after, err := decodeCursor(cursor, len(d.shards))
	if err != nil {
		return nil, "", err
	}
	heads := make([][]*queuetype.Message, len(d.shards))
	err = d.each(func(shard int, s driver.Driver) error {
		sp := p
		sp.AfterSeq, sp.Limit = after[shard], limit
		ms, err := s.List(ctx, sp)
		heads[shard] = ms
		return err
	})
	if err != nil {
		return nil, "", err
	}
	ms, next := mergePage(heads, after, limit)
	return ms, next, nil
}

// mergePage takes up to limit messages from the shards' lists, oldest send
// time first, each list in its own order, and computes the next cursor: a
// shard that filled its list may hold more, one whose list was not used up
// does. The messages are marked with their shard.
func mergePage(heads [][]*queuetype.Message, after []int64, limit int) ([]*queuetype.Message, string) {
	var out []*queuetype.Message
	next := append([]int64(nil), after...)
	pos := make([]int, len(heads))
	for len(out) < limit {
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
		next[best] = m.Seq
		mark(best, m)
		out = append(out, m)
		pos[best]++
	}
	for s, ms := range heads {
		if pos[s] < len(ms) || len(ms) == limit {
			return out, EncodeCursor(next)
		}
	}
	return out, ""
}

// EncodeCursor returns the page cursor of the last seq seen on each shard
// (one seq for a store of one shard): dot-separated and base64url encoded,
// so callers treat it as opaque.
func EncodeCursor(after []int64) string {
	parts := make([]string, len(after))
	for i, seq := range after {
		parts[i] = strconv.FormatInt(seq, 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, ".")))
}

// DecodeCursor reads a cursor of EncodeCursor for a store of this many
// shards; "" is the start. Anything else fails with ErrInvalidArgument.
func DecodeCursor(cursor string, shards int) ([]int64, error) { return decodeCursor(cursor, shards) }

func decodeCursor(cursor string, shards int) ([]int64, error) {
	after := make([]int64, shards)
	if cursor == "" {
		return after, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	parts := strings.Split(string(raw), ".")
	if err != nil || len(parts) != shards {
		return nil, fmt.Errorf("%w: bad page cursor (from another queue, or altered?)", queuetype.ErrInvalidArgument)
	}
	for i, p := range parts {
		seq, err := strconv.ParseInt(p, 10, 64)
		if err != nil || seq < 0 {
			return nil, fmt.Errorf("%w: bad page cursor (from another queue, or altered?)", queuetype.ErrInvalidArgument)
		}
		after[i] = seq
	}
	return after, nil
}
