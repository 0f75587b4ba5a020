package queuesqlite

// ClaimableForTest returns the destinations the named worker queue of the
// running queue would claim for now (after its last read of the pauses),
// and false when the queue is not running, has no such worker queue or
// has not read the pauses yet.
func (q *Queue) ClaimableForTest(queue string) ([]string, bool) {
	r := q.run.Load()
	if r == nil {
		return nil, false
	}
	for _, w := range r.workers {
		if w.name == queue {
			if set := w.claimable.Load(); set != nil {
				return append([]string{}, set.destinations...), true
			}
		}
	}
	return nil, false
}

// CallbacksHeldForTest is how many callbacks this process holds for
// messages not yet finished.
func (q *Queue) CallbacksHeldForTest() int { return q.callbacks.Len() }

// SetFoldForTest turns recording outcomes in the next claim's commit
// (fold.go) on or off for the runs started after it; on by default.
func (q *Queue) SetFoldForTest(on bool) { q.noFold.Store(!on) }

// FoldedBatchesForTest reports how many outcome batches the running
// queue recorded with a claim and how many alone.
func (q *Queue) FoldedBatchesForTest() (folded, alone int64) {
	if r := q.run.Load(); r != nil {
		return r.completer.Batches()
	}
	return 0, 0
}
