package sqlite

import (
	"context"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ qdriver.ClaimCompleter = (*DB)(nil)

// CompleteAndClaim implements driver.ClaimCompleter: one op of the writer,
// isolated by its savepoint, so the completions and the claim share a
// commit and a failure of either leaves neither.
func (d *DB) CompleteAndClaim(ctx context.Context, cs []*qdriver.Completion, p qdriver.ClaimParams) ([]*queuetype.Message, error) {
	if len(cs) == 0 {
		return d.Claim(ctx, p)
	}
	if len(p.Destinations) == 0 || p.Max <= 0 {
		return nil, d.Complete(ctx, cs)
	}
	c := newClaimCall(p)
	err := d.w.do(ctx, true, func(t *tx) error {
		if err := t.complete(cs); err != nil {
			return err
		}
		return c.run(t)
	})
	if err != nil {
		for _, x := range cs {
			x.Applied = false
		}
		return nil, d.wrap("complete and claim", err)
	}
	return c.sorted(), nil
}
