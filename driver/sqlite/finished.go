package sqlite

import (
	"context"
	"fmt"
	"strings"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// sqlListFinished lists finished messages by finish time. The status list
// (never empty) and the finish time range use the messages_finished index.
const sqlListFinished = `SELECT ` + messageColumns + ` FROM messages
	WHERE status IN (%s) AND finished_at >= ? %s ORDER BY finished_at, seq LIMIT ?`

// terminalStatuses are the statuses a finished message has.
var terminalStatuses = []queuetype.Status{queuetype.StatusCompleted, queuetype.StatusFailed,
	queuetype.StatusExpired, queuetype.StatusCancelled}

// ListFinished implements driver.FinishedLister.
func (d *DB) ListFinished(ctx context.Context, p qdriver.FinishedListParams) ([]*queuetype.Message, error) {
	query, args := listFinishedQuery(p)
	ms, err := d.readMessages(ctx, query, args...)
	return ms, d.wrap("list finished", err)
}

// listFinishedQuery builds ListFinished's statement and arguments.
func listFinishedQuery(p qdriver.FinishedListParams) (string, []any) {
	statuses := p.Statuses
	if len(statuses) == 0 {
		statuses = terminalStatuses
	}
	var args []any
	for _, s := range statuses {
		args = append(args, int64(s))
	}
	args = append(args, micros(p.Since))
	dest := ""
	if p.Destination != "" {
		dest = " AND destination = ?"
		args = append(args, p.Destination)
	}
	args = append(args, int64(limit(p.Limit)))
	marks := "?" + strings.Repeat(", ?", len(statuses)-1)
	return fmt.Sprintf(sqlListFinished, marks, dest), args
}
