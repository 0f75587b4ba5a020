package queuesqlite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// Get returns the message with this id from whichever shard holds it, with
// its status, result and last error. ErrNotFound if there is none (never
// sent, or cleaned up after its retention).
func (q *Queue) Get(ctx context.Context, id string) (*Message, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	m, err := q.d.Get(ctx, id) // a sharded store follows the id's route
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("message %q: %w", id, ErrNotFound)
		}
		return nil, err
	}
	return m, nil
}

// Wait blocks until the message is finished (completed, failed, expired or
// cancelled) and returns it. It works for messages sent by any process. When
// ctx ends first, the error wraps ctx's error (errors.Is(err,
// context.DeadlineExceeded) after a timeout) and says the message had not
// finished.
func (q *Queue) Wait(ctx context.Context, id string) (*Message, error) {
	w := q.waiters.add(id)
	defer q.waiters.remove(id, w)
	safety := time.NewTicker(q.cfg.MaintenanceInterval)
	defer safety.Stop()
	var last *Message
	for {
		if ctx.Err() != nil {
			return nil, notFinished(ctx, id, last)
		}
		m, err := q.Get(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return nil, notFinished(ctx, id, last) // the read was cut short by ctx
			}
			return nil, err
		}
		if m.Status.Terminal() {
			return m, nil
		}
		last = m
		select {
		case <-w:
		case <-safety.C:
		case <-ctx.Done():
			return nil, notFinished(ctx, id, last)
		}
	}
}

// notFinished is Wait's error when ctx ended first.
func notFinished(ctx context.Context, id string, last *Message) error {
	if last == nil {
		return fmt.Errorf("wait for message %s: not finished when the wait ended: %w", id, ctx.Err())
	}
	return fmt.Errorf("wait for message %s: not finished when the wait ended (still %s, attempt %d): %w",
		id, last.Status, last.Attempt, ctx.Err())
}

// Cancel cancels a message that has not started (pending, scheduled or
// retrying). Its callback fires with StatusCancelled, and the messages that
// depend on it (Message.DependsOn) are cancelled in turn. A running or finished
// message is not changed: the error wraps ErrInvalidState.
func (q *Queue) Cancel(ctx context.Context, id string) (*Message, error) {
	m, err := q.change(ctx, id, func(d driver.Driver, p driver.ChangeParams) (*Message, error) { return d.Cancel(ctx, p) })
	if r := q.run.Load(); err == nil && r != nil {
		r.maint.MessageFinished() // its dependants, if dependencies are in use
	}
	return m, err
}

// Retry puts a failed (or expired, or cancelled) message back to pending with
// its attempts reset, to run as soon as a worker is free. Any other status
// gives ErrInvalidState.
func (q *Queue) Retry(ctx context.Context, id string) (*Message, error) {
	m, err := q.change(ctx, id, func(d driver.Driver, p driver.ChangeParams) (*Message, error) { return d.Requeue(ctx, p) })
	if err == nil {
		q.sent([]*Message{m})
	}
	return m, err
}

func (q *Queue) change(ctx context.Context, id string, fn func(driver.Driver, driver.ChangeParams) (*Message, error)) (*Message, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	p := driver.ChangeParams{ID: id, Now: q.now(), Me: q.instance}
	m, err := fn(q.d, p)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("message %q: %w", id, ErrNotFound)
		}
		return m, err
	}
	if m.Status.Terminal() {
		q.finished(m)
	}
	return m, nil
}

// listPerShard is List's default limit per shard.
const listPerShard = 100

// ListOpts filters List.
type ListOpts struct {
	Statuses    []Status // any of these; nil = all
	Destination string   // "" = all
	Limit       int      // per shard (a queue of n shards lists up to n*Limit); 0 = 100 (ListPage: per page)
	// Tag, when not "", keeps only messages carrying this tag.
	Tag string
	// CreatedFrom and CreatedBefore, when not zero, keep only messages sent
	// at or after CreatedFrom and before CreatedBefore.
	CreatedFrom, CreatedBefore time.Time
}

// List returns messages matching opts, shard by shard, in send order within
// each shard.
func (q *Queue) List(ctx context.Context, opts *ListOpts) ([]*Message, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	var o ListOpts
	if opts != nil {
		o = *opts
	}
	limit := o.Limit
	if q.nShards > 1 {
		limit = cmp.Or(limit, listPerShard) * q.nShards // per shard, as the store lists shard after shard
	}
	return q.d.List(ctx, o.params(0, limit))
}

// ListFailed returns the dead-lettered messages: those that used up their
// attempts or failed without retry. Requeue them with Retry.
func (q *Queue) ListFailed(ctx context.Context, destination string, limit int) ([]*Message, error) {
	return q.List(ctx, &ListOpts{Statuses: []Status{StatusFailed}, Destination: destination, Limit: limit})
}
