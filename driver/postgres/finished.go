package postgres

import (
	"context"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// terminalStatuses are the statuses a finished message has.
var terminalStatuses = []int16{int16(queuetype.StatusCompleted), int16(queuetype.StatusFailed),
	int16(queuetype.StatusExpired), int16(queuetype.StatusCancelled)}

// ListFinished implements driver.FinishedLister.
func (d *DB) ListFinished(ctx context.Context, p driver.FinishedListParams) ([]*queuetype.Message, error) {
	statuses := terminalStatuses
	if len(p.Statuses) > 0 {
		statuses = make([]int16, len(p.Statuses))
		for i, s := range p.Statuses {
			statuses[i] = int16(s)
		}
	}
	var ms []*queuetype.Message
	err := d.reread(ctx, func() (err error) {
		ms, err = scanMessages(ctx, d.poolQ(), keepReadable, d.sql(sqlListFinished), statuses, ts(p.Since),
			p.Destination, int64(limit(p.Limit)))
		return err
	})
	return ms, d.wrap("list finished", err)
}
