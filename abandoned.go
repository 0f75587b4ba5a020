package queuesqlite

import "sync/atomic"

// Abandoned counts the application functions (handlers, callbacks,
// listeners) the queue stopped waiting for because they ignored their
// context, since Open. Each is also logged at warning level with the
// message id or listener name. Go cannot kill a goroutine, so an abandoned
// function keeps running until it returns; what it returns then is
// discarded.
type Abandoned struct {
	// HandlersTimedOut counts attempts whose handler was still running
	// TimeoutGrace after its Timeout. Each such attempt failed (it is
	// retried while attempts remain), its worker slot was freed and its
	// lease is no longer renewed.
	HandlersTimedOut int64
	// HandlersAtStop counts handlers still running when Stop gave up on
	// them; their messages went back to pending without the attempt counted.
	HandlersAtStop int64
	// Callbacks counts completion callbacks still running when Close's
	// deadline passed. Each had been called once and is never called again.
	Callbacks int64
	// CallbacksDropped counts callbacks that had not started when Close's
	// deadline passed: they never run (each is logged with its message id;
	// the message's outcome is stored and Get returns it).
	CallbacksDropped int64
	// Listeners counts listener calls still running after Stop's deadline
	// and a grace. Their change was not marked delivered, so it is delivered
	// again (at least once) when the group next runs.
	Listeners int64
	// Running is how many abandoned handlers, callbacks and listener calls
	// have not returned yet.
	Running int64
}

// Abandoned returns the counts of application functions the queue gave up
// waiting for.
func (q *Queue) Abandoned() Abandoned {
	a := &q.abandoned
	return Abandoned{HandlersTimedOut: a.handlersTimedOut.Load(), HandlersAtStop: a.handlersAtStop.Load(),
		Callbacks: a.callbacks.Load(), CallbacksDropped: a.callbacksDropped.Load(),
		Listeners: a.listeners.Load(), Running: a.running.Load()}
}

// abandonCounters backs Queue.Abandoned.
type abandonCounters struct {
	handlersTimedOut, handlersAtStop, callbacks, callbacksDropped, listeners atomic.Int64
	running                                                                  atomic.Int64
}
