package queuesqlite

import (
	"fmt"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// checkDependencies refuses messages with dependencies the queue cannot
// store: a backend without dependencies, or a unique message (a duplicate
// is not stored, so its dependency rows would have no child). A sharded
// store puts a message in its parents' shard (package driver/shard).
func (q *Queue) checkDependencies(rows []*Message) error {
	for i, m := range rows {
		if len(m.DependsOn) == 0 {
			continue
		}
		if _, ok := q.d.(driver.DependencyStore); !ok {
			return fmt.Errorf("message %d: %w: this storage backend cannot store dependencies", i, ErrInvalidArgument)
		}
		if m.Unique != nil {
			return fmt.Errorf("message %d: %w: a unique message cannot have dependencies", i, ErrInvalidArgument)
		}
		if err := m.ValidateDependsOn(); err != nil { // again: the id may have been generated
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return nil
}

// dependenciesSent tells the promoter of a running queue that messages
// with dependencies were stored.
func (q *Queue) dependenciesSent(r *runState, rows []*Message) {
	for _, m := range rows {
		if len(m.DependsOn) > 0 {
			r.maint.DependenciesSent()
			return
		}
	}
}
