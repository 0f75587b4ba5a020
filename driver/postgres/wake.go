package postgres

import (
	"context"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// Where a plain insert's wake-up goes. PostgreSQL serialises the commits
// of the transactions that NOTIFY (a lock held from before the commit
// record to the end of its flush), so a NOTIFY inside concurrent inserts
// would make them wait for each other's disk flushes. A NOTIFY after the
// commit costs a transaction of its own instead. An insert statement that
// is the handle's only one under way has nothing to wait for: it carries
// its NOTIFY itself, one transaction and one round trip for the send and
// its wake-up, which goes out at the very commit that makes the rows
// visible. Inserts that overlap leave theirs to the notifier, which sends
// what piles up in one transaction, each destination once.

// poolInsert stores p in one statement on the pool and reports whether
// the statement carried the wake-up of p's ready messages (the caller
// signals them after the commit otherwise).
func (d *DB) poolInsert(ctx context.Context, p driver.InsertParams) (notified bool, err error) {
	alone := d.inserts.underWay.Add(1) == 1
	defer d.inserts.underWay.Add(-1)
	var payloads []string
	if alone && d.notifier != nil {
		payloads = encodePayloads(d.handle, dedupe(readyTopics(p.Messages, nil)))
	}
	if err := insertNotifying(ctx, d, d.poolQ(), p, nil, nil, payloads); err != nil {
		return false, err
	}
	return payloads != nil, nil
}
