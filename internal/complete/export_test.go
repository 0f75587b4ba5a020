package complete

import "time"

// SetClaimTimeForTest sets the recent claim time that bounds how long an
// offer waits for the next claim (foldHold).
func (c *Completer) SetClaimTimeForTest(d time.Duration) { c.claimTime.Store(int64(d)) }
