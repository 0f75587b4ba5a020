package queuetype

import (
	"context"
	"errors"
	"strings"
)

// Sentinel errors. Every error the queue returns for one of these conditions
// matches it with errors.Is, whatever extra context it carries.
var (
	// ErrNotFound: no message (or listen key) with that id exists.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: a message with that id already exists.
	ErrDuplicate = errors.New("duplicate message id")
	// ErrClosed: the queue was closed; open a new one.
	ErrClosed = errors.New("queue is closed")
	// ErrLeaseLost: the worker no longer holds the message's lease (it expired
	// and another attempt took over, or the queue stopped), so its outcome was
	// not recorded.
	ErrLeaseLost = errors.New("lease lost")
	// ErrStorageFull: the disk (or a size limit) is full. Nothing was written;
	// retry once space is freed.
	ErrStorageFull = errors.New("storage full")
	// ErrCorrupt: a database file is damaged.
	ErrCorrupt = errors.New("database is corrupt")
	// ErrSchemaTooNew: the database was written by a newer version of this
	// library; it is refused rather than misread.
	ErrSchemaTooNew = errors.New("database schema is newer than this library")
	// ErrInvalidArgument: a bad option, message or argument. Nothing was written.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrInvalidState: the message is not in a status that allows the
	// operation (cancelling a running message, retrying a completed one).
	ErrInvalidState = errors.New("invalid state for operation")
	// ErrHandlerExists: a handler is already registered under that name.
	ErrHandlerExists = errors.New("handler already registered")
	// ErrShardMismatch: the queue directory was created with another shard count.
	ErrShardMismatch = errors.New("shard count mismatch")
	// ErrStarted: the operation is only allowed before Start (or after Stop).
	ErrStarted = errors.New("queue already started")
	// ErrLocked: another connection or process (a long transaction on
	// Queue.DB, another tool, a frozen process) held the database's write
	// lock until the caller's context ended. Nothing was written; the error
	// also matches the context's error (context.DeadlineExceeded).
	ErrLocked = errors.New("database is locked by another connection or process")
	// ErrStopping is the cause (context.Cause) of a handler's context
	// cancelled because the queue is stopping and the stop deadline passed;
	// the attempt is given back, not charged.
	ErrStopping = errors.New("queue is stopping")
	// ErrForeignTx: a transaction handed to SendTx or SetListenDataTx
	// belongs to another database than the queue's store. Nothing was
	// written. Drivers wrap ErrInvalidArgument with it.
	ErrForeignTx = errors.New("transaction belongs to another database")
	// ErrHandlerTimeout is the cause (context.Cause) of a handler's context
	// cancelled because its HandlerOpts.Timeout passed. It also matches
	// context.DeadlineExceeded with errors.Is.
	ErrHandlerTimeout error = handlerTimeout{}
)

// handlerTimeout is ErrHandlerTimeout: a deadline, so it matches
// context.DeadlineExceeded.
type handlerTimeout struct{}

func (handlerTimeout) Error() string { return "handler timed out" }

// Is makes errors.Is(err, context.DeadlineExceeded) hold.
func (handlerTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

// StorageError describes a failure of a storage file in terms an operator can
// act on: what was being done, to which file, and what to do about it.
type StorageError struct {
	Op   string // what was being done, e.g. "open", "send", "claim"
	Path string // the file concerned, if known
	Hint string // what an operator can do, if anything
	Err  error  // the sentinel and/or the underlying driver error
}

// Error implements error.
func (e *StorageError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Path != "" {
		b.WriteString(" ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the wrapped error, so errors.Is finds the sentinel.
func (e *StorageError) Unwrap() error { return e.Err }
