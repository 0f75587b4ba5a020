package driver

import (
	"context"
	"time"
)

// FinishedListParams selects finished messages by the time they finished.
type FinishedListParams struct {
	// Statuses are terminal statuses to keep; nil = completed, failed,
	// expired and cancelled.
	Statuses    []Status
	Destination string    // "" = all
	Since       time.Time // only messages that finished at or after this
	Limit       int       // 0 = driver default
}

// FinishedLister is implemented by a backend that can list finished
// messages in the order they finished; the queue's ListFinished (and the
// CLI's tail) need it.
type FinishedLister interface {
	// ListFinished returns up to Limit messages matching p, ordered by
	// finish time, then seq.
	ListFinished(ctx context.Context, p FinishedListParams) ([]*Message, error)
}
