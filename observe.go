package queuesqlite

import (
	"fmt"

	"github.com/queue-sqlite/queuesqlite/internal/complete"
)

// OutcomeFunc is told of every attempt outcome this process's workers
// recorded: m is the message as its handler received it (m.Attempt counts
// this attempt) and status is what was stored: StatusCompleted,
// StatusFailed, StatusRetrying (a retry is scheduled), StatusScheduled
// (RunAgainAfter) or StatusPending (given back at shutdown). An outcome
// that was not recorded because the lease was lost is not reported. It
// runs on the goroutine that records outcomes, after the commit: keep it
// quick and do not block.
type OutcomeFunc func(m *Message, status Status)

// OnOutcome registers fn to be told of every recorded outcome from now on,
// for metrics and audit (see package queuemetrics).
func (q *Queue) OnOutcome(fn OutcomeFunc) error {
	if fn == nil {
		return fmt.Errorf("%w: nil outcome function", ErrInvalidArgument)
	}
	q.mw.mu.Lock()
	defer q.mw.mu.Unlock()
	var next []OutcomeFunc
	if p := q.mw.outcome.Load(); p != nil {
		next = append(next, *p...)
	}
	next = append(next, fn)
	q.mw.outcome.Store(&next)
	return nil
}

// observeOutcome tells the OutcomeFuncs of one recorded outcome.
func (q *Queue) observeOutcome(it *complete.Item) {
	p := q.mw.outcome.Load()
	if p == nil {
		return
	}
	for _, fn := range *p {
		fn(it.Msg, it.C.Status)
	}
}
