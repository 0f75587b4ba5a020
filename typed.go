package queuesqlite

import (
	"context"
	"encoding/json"
	"fmt"
)

// JobArgs is the content of a typed job. Kind names the handler that runs
// it: SendJob sends the args to Kind() and HandleJob registers its handler
// under the Kind() of its type, so a typed job cannot go to the wrong
// destination. Kind must return the same name for every value of the type
// (it is also called on the zero value), and the type must encode to and
// decode from JSON.
//
// A pointer type works as well as a value type, as long as Kind does not
// dereference its receiver.
type JobArgs interface {
	Kind() string
}

// Job is what a typed handler receives: the decoded Args and the message
// they came in, with its ID, Attempt, MaxAttempts, Metadata, Tags, Priority
// and the rest (promoted from the embedded *Message).
type Job[T JobArgs] struct {
	// Args is the message content, decoded into T.
	Args T
	*Message
}

// JobFunc processes one typed job. Its result and error mean what they
// mean for a HandlerFunc: the result is stored as JSON, a plain error is
// retried, ErrSkipRetry fails at once, RunAgainAfter runs it again later.
type JobFunc[T JobArgs] func(ctx context.Context, j *Job[T]) (any, error)

// HandleJob registers fn as the handler of T's Kind(). A message whose
// content does not decode into T fails at once (ErrSkipRetry) with an
// error naming the kind and the decoding problem; it is not retried,
// since no attempt would decode it better. opts may be nil.
func HandleJob[T JobArgs](q *Queue, fn JobFunc[T], opts *HandlerOpts) error {
	kind, err := kindOf[T]()
	if err != nil {
		return fmt.Errorf("register job handler: %w", err)
	}
	if fn == nil {
		return fmt.Errorf("%w: job handler %q has no function", ErrInvalidArgument, kind)
	}
	return q.Handle(kind, func(ctx context.Context, m *Message) (any, error) {
		args, err := decodeArgs[T](kind, m)
		if err != nil {
			return nil, err
		}
		return fn(ctx, &Job[T]{Args: args, Message: m})
	}, opts)
}

// SendJob sends args to the handler of its Kind() and returns the message
// id, like Send. tmpl, if not nil, gives every other field of the message
// (ID, Priority, Delay or RunAt, TTL or ExpireAt, MaxAttempts, Tags,
// Metadata, ShardKey, Source); it is not modified. Its Destination must be
// empty or equal to Kind(), and its Content empty: anything else is
// refused with ErrInvalidArgument. Without a template the message has
// Normal priority, as NewMessage gives; a template's Priority is used as it
// is (the zero value of a Message literal is PriorityLow).
func SendJob[T JobArgs](ctx context.Context, q *Queue, args T, tmpl *Message, cb Callback) (string, error) {
	m, err := jobMessage(args, tmpl)
	if err != nil {
		return "", err
	}
	return q.Send(ctx, m, cb)
}

// SendJobUnique is SendJob that also says whether the job was a duplicate
// of a unique job already stored (tmpl.Unique; see Queue.SendUnique).
func SendJobUnique[T JobArgs](ctx context.Context, q *Queue, args T, tmpl *Message, cb Callback) (SendResult, error) {
	m, err := jobMessage(args, tmpl)
	if err != nil {
		return SendResult{}, err
	}
	return q.SendUnique(ctx, m, cb)
}

// SendJobs sends several jobs of one type in one batch (see SendBatch),
// each built from its args and the shared template tmpl (see SendJob; a
// template with an ID is refused, as the ids would collide; a template
// Unique with a Key would make every job of the batch share it, so leave
// the Key empty to make each job unique by its args). It returns the ids
// in input order.
func SendJobs[T JobArgs](ctx context.Context, q *Queue, args []T, tmpl *Message, cb Callback) ([]string, error) {
	ms, err := jobMessages(args, tmpl)
	if err != nil {
		return nil, err
	}
	return q.SendBatch(ctx, ms, cb)
}

// SendJobTx sends args inside the caller's transaction, like SendTx: the
// job exists if and only if tx commits. tmpl is as for SendJob.
func SendJobTx[T JobArgs](ctx context.Context, q *Queue, tx Tx, args T, tmpl *Message) (string, error) {
	m, err := jobMessage(args, tmpl)
	if err != nil {
		return "", err
	}
	ids, err := q.SendTx(ctx, tx, m)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// kindOf returns the Kind() of T's zero value, refusing an empty one.
func kindOf[T JobArgs]() (string, error) {
	var zero T
	kind := zero.Kind()
	if kind == "" {
		return "", fmt.Errorf("%w: job args type %T has an empty Kind()", ErrInvalidArgument, zero)
	}
	return kind, nil
}

// jobMessage builds the message that carries args, from tmpl when given.
func jobMessage[T JobArgs](args T, tmpl *Message) (*Message, error) {
	kind, err := kindOf[T]()
	if err != nil {
		return nil, err
	}
	if got := args.Kind(); got != kind {
		return nil, fmt.Errorf("%w: job args %T give Kind() %q, but its zero value gives %q: Kind must not depend on the value",
			ErrInvalidArgument, args, got, kind)
	}
	m := NewMessage(kind, args)
	if err := m.Validate(); err != nil { // an args value that does not encode
		return nil, fmt.Errorf("job args %T: %w", args, err)
	}
	if tmpl == nil {
		return m, nil
	}
	if tmpl.Destination != "" && tmpl.Destination != kind {
		return nil, fmt.Errorf("%w: job template names destination %q, but the args are of kind %q",
			ErrInvalidArgument, tmpl.Destination, kind)
	}
	if len(tmpl.Content) > 0 {
		return nil, fmt.Errorf("%w: job template has content; the args are the content", ErrInvalidArgument)
	}
	c := tmpl.Clone()
	c.Destination, c.Content = kind, m.Content
	return c, nil
}

// jobMessages builds one message per args, refusing a template with an ID.
func jobMessages[T JobArgs](args []T, tmpl *Message) ([]*Message, error) {
	if tmpl != nil && tmpl.ID != "" {
		return nil, fmt.Errorf("%w: a job template for a batch cannot carry an ID (every job would share it)", ErrInvalidArgument)
	}
	ms := make([]*Message, len(args))
	for i, a := range args {
		m, err := jobMessage(a, tmpl)
		if err != nil {
			return nil, fmt.Errorf("job %d: %w", i, err)
		}
		ms[i] = m
	}
	return ms, nil
}

// decodeArgs decodes m's content into T; one that does not decode fails
// the attempt with ErrSkipRetry.
func decodeArgs[T JobArgs](kind string, m *Message) (T, error) {
	var args T
	if err := json.Unmarshal(m.Content, &args); err != nil {
		return args, fmt.Errorf("decode args of job %s (kind %q) into %T: %v: %w", m.ID, kind, args, err, ErrSkipRetry)
	}
	return args, nil
}
