package queuesqlite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/queue-sqlite/queuesqlite/internal/exec"
)

// HandlerMiddleware wraps every handler of the queue: it receives the next
// function in the chain and returns one that runs around it, with the
// message (ID, Destination, Attempt, Metadata, ...) and the attempt's
// context. It may change the context it passes on, time or log the call,
// refuse to run it (return an error: it counts as the handler's error) or
// translate the result. A panic in the handler reaches the middleware as a
// *PanicError return, so middleware sees every failed attempt as an error.
//
// The first middleware registered is the outermost: Config.HandlerMiddleware
// in order, then those given to UseHandler in order.
type HandlerMiddleware func(next HandlerFunc) HandlerFunc

// SendFunc stores a batch of messages. A SendMiddleware receives the
// messages as they will be stored: ids, times, status and defaults are
// filled in, and each message is the queue's own copy (never the caller's),
// so the middleware may change Content, Metadata, Tags and Priority, for
// example to put trace context in Metadata. Assign new slices rather than
// writing into the old ones: they may share memory with the caller's
// message. It must not change the batch's length or order, nor a
// message's ID, Destination or ShardKey (the send fails with
// ErrInvalidArgument if it does), and what it stores is validated again.
// Times and status are already decided: changes to them are not reliable.
type SendFunc func(ctx context.Context, ms []*Message) error

// SendMiddleware wraps every send (Send, SendBatch and SendTx): it receives
// the next function in the chain and returns one that runs around it. It
// may refuse the send by returning an error without calling next (nothing
// is stored and Send returns that error). The first middleware registered
// is the outermost: Config.SendMiddleware in order, then UseSend in order.
type SendMiddleware func(next SendFunc) SendFunc

// ErrorHandlerFunc is told of every failed attempt: err is what the handler
// (with its middleware) returned, a *PanicError after a panic. Attempts
// that return RunAgainAfter are not failures and are not reported. ctx is
// the attempt's context: context.Cause(ctx) tells a timeout, a stop
// (cause exec.ErrStopping, the attempt is given back uncharged) or a lost
// lease. m.Attempt counts this attempt and m.MaxAttempts bounds them, so
// m.Attempt >= m.MaxAttempts means no retry follows. It runs on the
// worker, before the outcome is recorded: keep it quick. A panic in it is
// logged and does not change the outcome.
type ErrorHandlerFunc func(ctx context.Context, m *Message, err error)

// PanicError is a handler panic turned into an error: the value given to
// panic and the goroutine's stack. Handler middleware and the error
// handler receive it; the stored LastError is its text.
type PanicError = exec.PanicError

// middlewares holds the queue's middleware lists and, per handler, the
// composed chain (built on first use, rebuilt after UseHandler).
type middlewares struct {
	mu      sync.Mutex // serializes writers of the fields below
	handler atomic.Pointer[[]HandlerMiddleware]
	send    atomic.Pointer[[]SendMiddleware]
	chains  atomic.Pointer[map[*handler]HandlerFunc]
	outcome atomic.Pointer[[]OutcomeFunc]
}

// UseHandler adds handler middleware after those already registered (so
// inside them). Attempts that start after it returns run through it; it
// may be called before or after Start.
func (q *Queue) UseHandler(mws ...HandlerMiddleware) error {
	if hasNil(mws) {
		return fmt.Errorf("%w: nil handler middleware", ErrInvalidArgument)
	}
	q.mw.mu.Lock()
	defer q.mw.mu.Unlock()
	next := slices.Concat(q.handlerMiddleware(), mws)
	q.mw.handler.Store(&next)
	q.mw.chains.Store(nil)
	return nil
}

// UseSend adds send middleware after those already registered (so inside
// them). Sends that begin after it returns run through it.
func (q *Queue) UseSend(mws ...SendMiddleware) error {
	if hasNil(mws) {
		return fmt.Errorf("%w: nil send middleware", ErrInvalidArgument)
	}
	q.mw.mu.Lock()
	defer q.mw.mu.Unlock()
	next := slices.Concat(q.sendMiddleware(), mws)
	q.mw.send.Store(&next)
	return nil
}

// hasNil reports whether a middleware list has a nil entry.
func hasNil[F ~func(T) T, T any](mws []F) bool {
	for _, mw := range mws {
		if mw == nil {
			return true
		}
	}
	return false
}

// handlerMiddleware returns Config's handler middleware followed by those
// added with UseHandler.
func (q *Queue) handlerMiddleware() []HandlerMiddleware {
	if p := q.mw.handler.Load(); p != nil {
		return *p
	}
	return q.cfg.HandlerMiddleware
}

func (q *Queue) sendMiddleware() []SendMiddleware {
	if p := q.mw.send.Load(); p != nil {
		return *p
	}
	return q.cfg.SendMiddleware
}

// runHandler runs h for m through the middleware and reports a failure to
// the error handler. Panics in the handler reach the middleware as
// *PanicError; panics in a middleware are caught here as well.
func (q *Queue) runHandler(ctx context.Context, h *handler, m *Message) (result any, err error) {
	defer func() { q.reportError(ctx, m, err) }()
	defer recoverPanic(&result, &err)
	return q.chainFor(h)(ctx, m)
}

// chainFor returns h's function wrapped in the middleware, composing it
// once per handler and middleware list.
func (q *Queue) chainFor(h *handler) HandlerFunc {
	if chains := q.mw.chains.Load(); chains != nil {
		if fn, ok := (*chains)[h]; ok {
			return fn
		}
	}
	q.mw.mu.Lock()
	defer q.mw.mu.Unlock()
	next := map[*handler]HandlerFunc{}
	if chains := q.mw.chains.Load(); chains != nil {
		next = maps.Clone(*chains)
	}
	fn := guarded(h.fn)
	mws := q.handlerMiddleware()
	for i := len(mws) - 1; i >= 0; i-- {
		if mws[i] != nil { // a nil entry in Config is skipped
			fn = mws[i](fn)
		}
	}
	next[h] = fn
	q.mw.chains.Store(&next)
	return fn
}

// guarded turns a panic of fn into a *PanicError return.
func guarded(fn HandlerFunc) HandlerFunc {
	return func(ctx context.Context, m *Message) (result any, err error) {
		defer recoverPanic(&result, &err)
		return fn(ctx, m)
	}
}

// recoverPanic, deferred, turns a panic into a *PanicError result.
func recoverPanic(result *any, err *error) {
	if r := recover(); r != nil {
		*result, *err = nil, &PanicError{Value: r, Stack: string(debug.Stack())}
	}
}

// reportError tells Config.ErrorHandler of a failed attempt.
func (q *Queue) reportError(ctx context.Context, m *Message, err error) {
	eh := q.cfg.ErrorHandler
	if eh == nil || err == nil || IsRunAgain(err) {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			q.logger.Error("error handler panicked", "id", m.ID, "panic", r)
		}
	}()
	eh(ctx, m, err)
}

// sendThrough runs the send middleware around store. The innermost step
// checks that the middleware kept what routing and callbacks rely on.
func (q *Queue) sendThrough(ctx context.Context, rows []*Message, store SendFunc) error {
	mws := q.sendMiddleware()
	if len(mws) == 0 {
		return store(ctx, rows)
	}
	fn := checkedSend(rows, store)
	for i := len(mws) - 1; i >= 0; i-- {
		if mws[i] != nil {
			fn = mws[i](fn)
		}
	}
	return fn(ctx, rows)
}

// sendKey is what a send middleware may not change in a message.
type sendKey struct{ id, destination, shardKey string }

// checkedSend wraps store with the checks of what middleware may change.
func checkedSend(rows []*Message, store SendFunc) SendFunc {
	keys := make([]sendKey, len(rows))
	for i, m := range rows {
		keys[i] = sendKey{m.ID, m.Destination, m.ShardKey}
	}
	return func(ctx context.Context, ms []*Message) error {
		if len(ms) != len(keys) {
			return fmt.Errorf("%w: send middleware changed the batch from %d to %d messages", ErrInvalidArgument, len(keys), len(ms))
		}
		for i, m := range ms {
			if m == nil || (sendKey{m.ID, m.Destination, m.ShardKey}) != keys[i] {
				return fmt.Errorf("%w: send middleware changed message %d's id, destination or shard key", ErrInvalidArgument, i)
			}
			if err := m.Validate(); err != nil {
				return fmt.Errorf("message %d after send middleware: %w", i, err)
			}
		}
		return store(ctx, ms)
	}
}

// IsRunAgain reports whether err is (or wraps) a RunAgainAfter: not a
// failure, for middleware that tells failures apart.
func IsRunAgain(err error) bool {
	var again *runAgainError
	return errors.As(err, &again)
}
