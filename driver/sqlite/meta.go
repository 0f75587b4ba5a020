package sqlite

import (
	"context"
	"fmt"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ qdriver.MetaScanner = (*DB)(nil)

// MetaPrefixed implements driver.MetaScanner.
func (d *DB) MetaPrefixed(ctx context.Context, prefix, after string, limit int) ([]qdriver.MetaEntry, error) {
	end, bounded := prefixEnd(prefix)
	if !bounded {
		return nil, fmt.Errorf("%w: metadata prefix %q has no end", queuetype.ErrInvalidArgument, prefix)
	}
	rows, err := d.read.QueryContext(ctx, sqlMetaPrefixed, max(after, prefix), end, int64(limit))
	if err != nil {
		return nil, d.wrap("list meta", err)
	}
	defer rows.Close()
	var out []qdriver.MetaEntry
	for rows.Next() {
		var e qdriver.MetaEntry
		if err := rows.Scan(&e.Key, &e.Value); err != nil {
			return nil, d.wrap("list meta", err)
		}
		out = append(out, e)
	}
	return out, d.wrap("list meta", rows.Err())
}

// prefixEnd is the least string above every string starting with prefix
// (its last byte below 0xff raised by one); false when there is none.
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
