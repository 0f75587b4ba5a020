package sqlite

import (
	"fmt"
	"strings"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
)

// List filters beyond status and destination. Tags are stored as a JSON
// array, so a tag matches an element of it exactly (no LIKE, no wildcards).
const (
	sqlListByTag         = ` AND EXISTS (SELECT 1 FROM json_each(messages.tags) WHERE json_each.value = ?)`
	sqlListCreatedFrom   = ` AND created_at >= ?`
	sqlListCreatedBefore = ` AND created_at < ?`
)

// listQuery builds List's statement and its arguments from p: after seq,
// then one condition per filter that is set, then the limit.
func listQuery(p qdriver.ListParams) (string, []any) {
	args := []any{p.AfterSeq}
	var where strings.Builder
	if len(p.Statuses) > 0 {
		where.WriteString(" AND status IN (?" + strings.Repeat(", ?", len(p.Statuses)-1) + ")")
		for _, s := range p.Statuses {
			args = append(args, int64(s))
		}
	}
	add := func(cond string, arg any) {
		where.WriteString(cond)
		args = append(args, arg)
	}
	if p.Destination != "" {
		add(" AND destination = ?", p.Destination)
	}
	if p.Tag != "" {
		add(sqlListByTag, p.Tag)
	}
	if !p.CreatedFrom.IsZero() {
		add(sqlListCreatedFrom, micros(p.CreatedFrom))
	}
	if !p.CreatedBefore.IsZero() {
		add(sqlListCreatedBefore, micros(p.CreatedBefore))
	}
	n := p.Limit
	if n <= 0 {
		n = listLimitDefault
	}
	args = append(args, int64(n))
	return fmt.Sprintf(sqlListTemplate, where.String()), args
}
