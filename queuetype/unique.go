package queuetype

import (
	"fmt"
	"time"
)

// MaxUniqueKeyLength bounds UniqueOpts.Key, in bytes.
const MaxUniqueKeyLength = 1024

// UniqueOpts makes a message unique: while a message with the same
// destination, ShardKey and key is unfinished (pending, scheduled,
// processing or retrying) or in one of States, a send of another one is
// not stored; the send returns the id of the one stored, and says it was
// a duplicate (Queue.SendUnique).
type UniqueOpts struct {
	// Key identifies the work. Empty: the message content is the key, so
	// two messages to one destination with equal content are duplicates.
	Key string
	// Period, when set, adds the period the send falls in (the send time
	// truncated to a multiple of Period, UTC) to the key: at most one such
	// message per period.
	Period time.Duration
	// States are the finished statuses (completed, failed, cancelled,
	// expired) in which the key still blocks duplicates, besides the
	// unfinished ones, which always do. A key stops blocking once its
	// message reaches a status outside them, and for good: a message
	// requeued after that (Retry) no longer holds its key.
	States []Status
}

// UnfinishedStatuses are the statuses in which a unique key always blocks.
var UnfinishedStatuses = []Status{StatusPending, StatusScheduled, StatusProcessing, StatusRetrying}

// StateMask returns the statuses in which u's key blocks, as bits 1<<status.
func (u *UniqueOpts) StateMask() uint32 {
	var mask uint32
	for _, s := range UnfinishedStatuses {
		mask |= 1 << uint(s)
	}
	for _, s := range u.States {
		mask |= 1 << uint(s)
	}
	return mask
}

// validateUnique reports a bad UniqueOpts, wrapping ErrInvalidArgument.
func validateUnique(u *UniqueOpts) error {
	if u == nil {
		return nil
	}
	if len(u.Key) > MaxUniqueKeyLength {
		return fmt.Errorf("%w: unique key of %d bytes, longer than %d", ErrInvalidArgument, len(u.Key), MaxUniqueKeyLength)
	}
	if u.Period < 0 {
		return fmt.Errorf("%w: negative unique period %v", ErrInvalidArgument, u.Period)
	}
	for _, s := range u.States {
		if s < StatusPending || s > StatusScheduled {
			return fmt.Errorf("%w: unique states: unknown status %d", ErrInvalidArgument, int(s))
		}
	}
	return nil
}
