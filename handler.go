package queuesqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/exec"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// HandlerFunc processes one message. It returns a result (encoded as JSON
// and stored with the message) or an error: a plain error is retried with
// backoff until attempts run out; ErrSkipRetry fails the message at once;
// RunAgainAfter(d) runs it again later without counting the attempt. A
// panic counts as a failed attempt, with its stack stored as the error.
//
// ctx is cancelled when the handler's Timeout passes (cause
// ErrHandlerTimeout, which also matches context.DeadlineExceeded), when the
// queue stops past its deadline (cause ErrStopping) and when this worker
// loses the message's lease (cause ErrLeaseLost); context.Cause tells which.
type HandlerFunc func(ctx context.Context, m *Message) (any, error)

// HandlerOpts are per-handler settings. Zero fields take the queue's defaults.
type HandlerOpts struct {
	// MaxAttempts bounds the attempts of each message; default Config.MaxAttempts.
	MaxAttempts int
	// Backoff gives the delay before each retry; default Config.Backoff.
	Backoff BackoffFunc
	// Timeout cancels an attempt's context after this long; 0 = no limit.
	Timeout time.Duration
	// TimeoutGrace is how long a handler may go on after its Timeout
	// cancelled its context. A handler still running then is abandoned: its
	// worker is freed for other messages, the attempt fails (counted against
	// MaxAttempts, with an error saying the handler ignored its timeout),
	// its lease is no longer renewed, and it is logged and counted
	// (Queue.Abandoned). If it returns later, its outcome is discarded.
	// Default TimeoutGraceDefault; it applies only with a Timeout.
	TimeoutGrace time.Duration
	// Description says what the handler does, for stats and the CLI.
	Description string
	// Queue names the worker queue whose workers run the handler's
	// messages: QueueDefault (the default, for "") or one of
	// Config.Queues. Handle refuses a queue the Config does not have.
	Queue string
	// GlobalConcurrency, when above 0, is the most messages of this
	// destination processing at once across every process (and host) on
	// the store, enforced by the store at each claim; the process's own
	// worker count still bounds it too. 0 = no global bound.
	GlobalConcurrency int
	// RateLimit and RatePer, when set, allow at most RateLimit starts of
	// this destination per RatePer across every process on the store (a
	// token bucket kept in the store, full at first). A limited message
	// waits, pending; it is not failed. Both or neither.
	RateLimit int
	RatePer   time.Duration
}

// limit is the store-enforced bound of o.
func (o *HandlerOpts) limit() driver.ClaimLimit {
	return driver.ClaimLimit{Concurrency: o.GlobalConcurrency, Rate: o.RateLimit, Per: o.RatePer}
}

// TimeoutGraceDefault is the default HandlerOpts.TimeoutGrace.
const TimeoutGraceDefault = 5 * time.Second

type handler struct {
	name string
	fn   HandlerFunc
	opts HandlerOpts
}

// Handle registers fn as the handler for messages sent to name. Handlers are
// registered before Start; a second registration of a name is an error
// (ErrHandlerExists). opts may be nil.
func (q *Queue) Handle(name string, fn HandlerFunc, opts *HandlerOpts) error {
	if name == "" || fn == nil {
		return fmt.Errorf("%w: a handler needs a name and a function", ErrInvalidArgument)
	}
	if err := queuetype.ValidateDestination(name); err != nil {
		return fmt.Errorf("register handler: %w", err)
	}
	var o HandlerOpts
	if opts != nil {
		o = *opts
	}
	if o.MaxAttempts < 0 || o.Timeout < 0 || o.TimeoutGrace < 0 {
		return fmt.Errorf("%w: handler %q: negative MaxAttempts, Timeout or TimeoutGrace", ErrInvalidArgument, name)
	}
	if err := q.checkLimits(name, &o); err != nil {
		return err
	}
	if o.Queue == "" {
		o.Queue = QueueDefault
	}
	if _, ok := q.cfg.queueWorkers(o.Queue); !ok {
		return fmt.Errorf("%w: handler %q names queue %q, which Config.Queues does not configure (configured: %v)",
			ErrInvalidArgument, name, o.Queue, q.queueNames())
	}
	if err := q.checkStoreLimits(fmt.Sprintf("handler %q: queue %q's GlobalConcurrency", name, o.Queue),
		q.cfg.Queues[o.Queue].GlobalConcurrency > 0); err != nil {
		return err
	}
	setDefault(&o.MaxAttempts, q.cfg.MaxAttempts)
	setDefault(&o.TimeoutGrace, TimeoutGraceDefault)
	if o.Backoff == nil {
		o.Backoff = q.cfg.Backoff
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.checkOpen(); err != nil {
		return err
	}
	if q.run.Load() != nil {
		return fmt.Errorf("register handler %q: %w: register handlers before Start", name, ErrStarted)
	}
	old := q.handlerMap()
	if _, ok := old[name]; ok {
		return fmt.Errorf("register handler %q: %w", name, ErrHandlerExists)
	}
	next := maps.Clone(old)
	next[name] = &handler{name: name, fn: fn, opts: o}
	q.handlers.Store(&next)
	return nil
}

// HandleJSON registers a typed handler: the message content is decoded into
// In (a content that does not decode fails the message without retries) and
// the returned Out is stored as the JSON result.
func HandleJSON[In, Out any](q *Queue, name string, fn func(ctx context.Context, in In) (Out, error), opts *HandlerOpts) error {
	return q.Handle(name, func(ctx context.Context, m *Message) (any, error) {
		var in In
		if err := json.Unmarshal(m.Content, &in); err != nil {
			return nil, fmt.Errorf("decode content for %s: %v: %w", name, err, ErrSkipRetry)
		}
		return fn(ctx, in)
	}, opts)
}

// invoke runs the handler of m's destination with its timeout.
func (q *Queue) invoke(ctx context.Context, m *Message) (any, error) {
	h := q.handlerMap()[m.Destination]
	if h.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, h.opts.Timeout, &timeoutCause{h.name, h.opts.Timeout})
		defer cancel()
	}
	return q.runHandler(ctx, h, m) // middleware and error handler: middleware.go
}

// timeoutCause is the cause of a handler context whose Timeout passed: it
// names the handler and the limit, and matches ErrHandlerTimeout (and so
// context.DeadlineExceeded).
type timeoutCause struct {
	handler string
	after   time.Duration
}

func (e *timeoutCause) Error() string {
	return fmt.Sprintf("handler %s timed out after %v", e.handler, e.after)
}

func (e *timeoutCause) Unwrap() error { return ErrHandlerTimeout }

// outcome turns what a handler returned into the completion to record.
func (q *Queue) outcome(j *exec.Job, result any, err error) driver.Completion {
	m := j.Msg
	h := q.handlerMap()[m.Destination]
	now := q.cfg.Clock().UTC()
	c := driver.Completion{Seq: m.Seq, Attempt: m.Attempt, Owner: m.LeaseOwner, Now: now, Me: q.instance}
	if err == nil {
		raw, encErr := queuetype.EncodeJSON(result)
		if encErr == nil {
			c.Status, c.Result = StatusCompleted, raw
			return c
		}
		err = fmt.Errorf("encode result: %v: %w", encErr, ErrSkipRetry)
	}
	if cause := j.Cause(); errors.Is(cause, ErrStopping) && !errors.Is(err, exec.ErrTimeoutIgnored) {
		c.Status, c.Uncharge, c.Error = StatusPending, true, "released at shutdown: "+err.Error()
		return c
	}
	var again *runAgainError
	if errors.As(err, &again) {
		c.Status, c.Uncharge, c.RunAt = StatusScheduled, true, now.Add(max(again.after, 0))
		return c
	}
	c.Error = err.Error()
	maxAttempts := m.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = h.opts.MaxAttempts
	}
	if errors.Is(err, ErrSkipRetry) || m.Attempt >= maxAttempts {
		c.Status = StatusFailed
		return c
	}
	c.Status, c.RunAt = StatusRetrying, now.Add(h.opts.Backoff(m.Attempt))
	return c
}

// timeouts gives the executor a message's handler timeout and grace.
func (q *Queue) timeouts(m *Message) (time.Duration, time.Duration) {
	h := q.handlerMap()[m.Destination]
	if h == nil {
		return 0, 0
	}
	return h.opts.Timeout, h.opts.TimeoutGrace
}

// released is the completion that gives an abandoned attempt back.
func (q *Queue) released(m *Message) driver.Completion {
	return driver.Completion{Seq: m.Seq, Attempt: m.Attempt, Owner: m.LeaseOwner, Now: q.cfg.Clock().UTC(),
		Me: q.instance, Status: StatusPending, Uncharge: true,
		Error: "released at shutdown: the handler did not return before the stop deadline"}
}

// checkLimits refuses limits that are malformed or that the storage cannot
// enforce: every shard's driver must be a driver.Limiter, and a sharded
// queue cannot keep one count across its files.
func (q *Queue) checkLimits(name string, o *HandlerOpts) error {
	if o.GlobalConcurrency < 0 || o.RateLimit < 0 || o.RatePer < 0 {
		return fmt.Errorf("%w: handler %q: negative GlobalConcurrency, RateLimit or RatePer", ErrInvalidArgument, name)
	}
	if (o.RateLimit > 0) != (o.RatePer > 0) {
		return fmt.Errorf("%w: handler %q: RateLimit and RatePer go together (%d per %v)", ErrInvalidArgument, name, o.RateLimit, o.RatePer)
	}
	return q.checkStoreLimits(fmt.Sprintf("handler %q", name), !o.limit().IsZero())
}

// checkStoreLimits refuses, when limited, a limit the storage cannot
// enforce; what names it in the error.
func (q *Queue) checkStoreLimits(what string, limited bool) error {
	if !limited {
		return nil
	}
	if len(q.shards) > 1 {
		return fmt.Errorf("%w: %s: global concurrency and rate limits need a queue of one shard (this one has %d: each file would count on its own)",
			ErrInvalidArgument, what, len(q.shards))
	}
	if l, ok := q.shards[0].(driver.Limiter); !ok || !l.EnforcesClaimLimits() {
		return fmt.Errorf("%w: %s: the storage backend does not enforce claim limits", ErrInvalidArgument, what)
	}
	return nil
}
