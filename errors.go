package queuesqlite

import (
	"errors"
	"fmt"
	"time"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Sentinel errors; match them with errors.Is. See package queuetype for what
// each means.
var (
	ErrNotFound        = queuetype.ErrNotFound
	ErrDuplicate       = queuetype.ErrDuplicate
	ErrClosed          = queuetype.ErrClosed
	ErrLeaseLost       = queuetype.ErrLeaseLost
	ErrStorageFull     = queuetype.ErrStorageFull
	ErrCorrupt         = queuetype.ErrCorrupt
	ErrSchemaTooNew    = queuetype.ErrSchemaTooNew
	ErrInvalidArgument = queuetype.ErrInvalidArgument
	ErrInvalidState    = queuetype.ErrInvalidState
	ErrHandlerExists   = queuetype.ErrHandlerExists
	ErrShardMismatch   = queuetype.ErrShardMismatch
	ErrStarted         = queuetype.ErrStarted
	ErrLocked          = queuetype.ErrLocked
)

// Causes of a handler's cancelled context, as context.Cause reports them. A
// handler that returns context.Cause(ctx) (or wraps it) stores the reason
// with the attempt.
var (
	ErrStopping       = queuetype.ErrStopping       // the queue is stopping; the attempt is not charged
	ErrForeignTx      = queuetype.ErrForeignTx      // SendTx was given a transaction of another database
	ErrHandlerTimeout = queuetype.ErrHandlerTimeout // HandlerOpts.Timeout passed; matches context.DeadlineExceeded
	// ErrLeaseLost (above) is the cause when the worker lost the message's lease.
)

// StorageError describes a storage failure with the file concerned and a
// hint for the operator.
type StorageError = queuetype.StorageError

// ErrSkipRetry, returned by a handler (or wrapped in its error), fails the
// message at once instead of retrying it:
//
//	return nil, fmt.Errorf("bad input %q: %w", in.URL, queuesqlite.ErrSkipRetry)
var ErrSkipRetry = errors.New("do not retry")

// RunAgainAfter, returned by a handler, puts the message back to run again
// after d. The attempt is not counted against MaxAttempts.
func RunAgainAfter(d time.Duration) error { return &runAgainError{after: d} }

type runAgainError struct{ after time.Duration }

func (e *runAgainError) Error() string { return fmt.Sprintf("run again after %v", e.after) }
