package queuesqlite

import (
	"context"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// foldWait is how long a batch of outcomes waits for the next claim to
// record it in the claim's commit (driver.ClaimCompleter) before it is
// committed alone: the most folding delays an outcome (its callback, its
// waiters). A busy queue claims well within it; an idle one pays it once
// per batch.
const foldWait = 2 * time.Millisecond

// foldWaitOf is the completer's FoldWait: foldWait over a store that
// claims and completes in one commit, 0 (never offer) over any other, or
// with folding turned off for a test (export_test.go).
func (q *Queue) foldWaitOf() time.Duration {
	if _, ok := q.d.(driver.ClaimCompleter); !ok || q.noFold.Load() {
		return 0
	}
	return foldWait
}

// claimFolded claims with p for run r, recording in the same commit the
// outcomes the completer offers, if any (and if the store can).
func (q *Queue) claimFolded(ctx context.Context, r *runState, p driver.ClaimParams) ([]*Message, error) {
	cc, ok := q.d.(driver.ClaimCompleter)
	if !ok || r.foldWait == 0 {
		return q.d.Claim(ctx, p)
	}
	f := r.completer.Take()
	if f == nil {
		return q.d.Claim(ctx, p)
	}
	out, err := cc.CompleteAndClaim(ctx, f.Completions(), p)
	r.completer.Settle(f, err)
	return out, err
}
