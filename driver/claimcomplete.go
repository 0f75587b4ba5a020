package driver

import "context"

// ClaimCompleter is implemented by drivers that record outcomes and claim
// the next batch in one commit, so a busy worker pool pays one commit (an
// fsync on SQLite, a WAL flush and a round trip on PostgreSQL) for both
// instead of two. The queue then hands the outcomes that wait when its
// fetcher claims to CompleteAndClaim rather than to Complete (never
// holding an outcome back for long: see package complete).
//
// CompleteAndClaim applies cs exactly as Complete would (each only if its
// attempt still holds the lease, Applied set on each), then claims as
// Claim would with p, seeing the completions' effects: a message a
// completion made ready again (released to pending) can be claimed by the
// same call. Both happen in one transaction: when the call returns an
// error nothing of it is applied (every Applied is false) and nothing is
// claimed, unless the answer alone was lost (the connection broke around
// the commit), the same doubt as for a failed Complete or Claim. With no
// completions it is Claim; with p.Max of 0 (or no destinations) it is
// Complete.
//
// A sharded store (package shard) does not implement it: its completions
// span shards that commit apart, and its claim visits shards in priority
// order, so the queue records a sharded store's outcomes with Complete.
type ClaimCompleter interface {
	CompleteAndClaim(ctx context.Context, cs []*Completion, p ClaimParams) ([]*Message, error)
}
