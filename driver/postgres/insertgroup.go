package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Group commit for plain inserts. Each Insert is one statement and one
// commit, so concurrent senders each wait for a WAL flush of their own
// and hold a pool connection for it. insertGroup folds the Insert calls
// that arrive while one is running into the next statement: a lone send
// runs at once, as before, and under load one commit carries every send
// that waited for it. Calls stay independent: a call whose row is refused
// (a duplicate id, a bad value) fails alone, and a call whose context ends
// before its statement starts writes nothing.

// groupMaxMessages bounds the messages one grouped statement carries; a
// call of this many or more runs on its own.
const groupMaxMessages = 1000

// groupStatementsMax is how many grouped statements run at once: more than
// one lets a statement travel while another commits, and each new one
// carries what queued meanwhile.
const groupStatementsMax = 4

// insertGroup is one handle's queue of Insert calls waiting to be folded.
type insertGroup struct {
	mu      sync.Mutex
	pending []*insertCall
	running int  // statements running; at groupStatementsMax later calls queue
	max     int  // groupStatementsMax, or what a benchmark sets
	off     bool // tests and benchmarks: every call runs on its own
	// statements counts the grouped statements run, for tests.
	statements atomic.Int64
	// underWay counts the insert statements running on the pool, grouped
	// or not (see poolInsert).
	underWay atomic.Int32
}

// insertCall is one Insert waiting for its turn.
type insertCall struct {
	ctx   context.Context
	p     driver.InsertParams
	lead  chan struct{} // closed when this call is to run the next group
	done  chan error    // its outcome, once its group ran
	state callState     // under insertGroup.mu
	seqs  []int64       // the stored seqs, parallel to p.Messages, set before done
	// notified: the statement carried the wake-up, set before done.
	notified bool
}

type callState int

const (
	callQueued callState = iota
	callLeading
	callTaken
)

// insertGrouped stores p, folded with concurrent calls, and reports
// whether its statement carried the wake-up (see poolInsert).
func (d *DB) insertGrouped(ctx context.Context, p driver.InsertParams) (bool, error) {
	g := &d.inserts
	g.mu.Lock()
	if g.off || len(p.Messages) >= groupMaxMessages {
		g.mu.Unlock()
		return d.poolInsert(ctx, p)
	}
	c := &insertCall{ctx: ctx, p: p, lead: make(chan struct{}), done: make(chan error, 1)}
	g.pending = append(g.pending, c)
	if g.running < g.limit() {
		g.running++
		c.state = callLeading
		close(c.lead)
	}
	g.mu.Unlock()
	select {
	case <-c.lead:
		go d.runGroup(c)
	case err := <-c.done:
		return c.finish(err)
	case <-ctx.Done():
		if g.withdraw(c) {
			return false, ctx.Err()
		}
		select { // chosen to lead, or taken into a group, meanwhile
		case <-c.lead:
			go d.runGroup(c)
		case err := <-c.done:
			return c.finish(err)
		}
	}
	select {
	case err := <-c.done:
		return c.finish(err)
	case <-ctx.Done():
		// The statement carrying this call runs on for the others of its
		// group (it works on copies of the messages), so it may commit.
		return false, fmt.Errorf("%w (the insert was under way and may still commit)", ctx.Err())
	}
}

func (g *insertGroup) limit() int {
	if g.max > 0 {
		return g.max
	}
	return groupStatementsMax
}

// finish copies the stored seqs into the caller's messages.
func (c *insertCall) finish(err error) (bool, error) {
	if err != nil {
		return false, err
	}
	for i, m := range c.p.Messages {
		m.Seq = c.seqs[i]
	}
	return c.notified, nil
}

// withdraw takes a call that is still queued out of the queue.
func (g *insertGroup) withdraw(c *insertCall) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.state != callQueued {
		return false
	}
	for i, o := range g.pending {
		if o == c {
			g.pending = append(g.pending[:i], g.pending[i+1:]...)
			break
		}
	}
	return true
}

// take removes the next group from the queue: leader first, then queued
// calls with the same MaxAttemptsDefault while they fit.
func (g *insertGroup) take(leader *insertCall) []*insertCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	group, n := []*insertCall{leader}, len(leader.p.Messages)
	leader.state = callTaken
	rest := g.pending[:0]
	for _, c := range g.pending {
		switch {
		case c == leader:
		case c.state == callQueued && c.p.MaxAttemptsDefault == leader.p.MaxAttemptsDefault &&
			n+len(c.p.Messages) <= groupMaxMessages:
			c.state, n = callTaken, n+len(c.p.Messages)
			group = append(group, c)
		default:
			rest = append(rest, c)
		}
	}
	clear(g.pending[len(rest):])
	g.pending = rest
	return group
}

// handOver ends a statement: the first queued call leads the next one.
func (g *insertGroup) handOver() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.pending {
		if c.state == callQueued {
			c.state = callLeading
			close(c.lead)
			return
		}
	}
	g.running--
}

// runGroup runs the group led by leader, then hands the lead on.
func (d *DB) runGroup(leader *insertCall) {
	group := d.inserts.take(leader)
	defer d.inserts.handOver()
	ctx, release := groupContext(group)
	defer release()
	err := d.insertCalls(ctx, group)
	if err != nil && len(group) > 1 && rowRefused(err) {
		for _, c := range group { // find the call whose row was refused
			c.done <- d.insertCalls(ctx, []*insertCall{c})
		}
		return
	}
	for _, c := range group {
		c.done <- err
	}
}

// insertCalls stores the calls' messages in one statement, on copies, so
// that a caller that gave up never sees its messages written to later.
func (d *DB) insertCalls(ctx context.Context, group []*insertCall) error {
	p := driver.InsertParams{MaxAttemptsDefault: group[0].p.MaxAttemptsDefault}
	withOwners := false
	for _, c := range group {
		withOwners = withOwners || c.p.CallbackOwners != nil
	}
	for _, c := range group {
		for i, m := range c.p.Messages {
			cp := *m
			p.Messages = append(p.Messages, &cp)
			if withOwners {
				owner := ""
				if c.p.CallbackOwners != nil {
					owner = c.p.CallbackOwners[i]
				}
				p.CallbackOwners = append(p.CallbackOwners, owner)
			}
		}
	}
	d.inserts.statements.Add(1)
	notified, err := d.poolInsert(ctx, p)
	if err != nil {
		return err
	}
	at := 0
	for _, c := range group {
		c.notified = notified
		c.seqs = make([]int64, len(c.p.Messages))
		for i := range c.seqs {
			c.seqs[i] = p.Messages[at].Seq
			at++
		}
	}
	return nil
}

// groupContext ends when every call of the group has given up: the
// statement runs for as long as one of them still waits for it.
func groupContext(group []*insertCall) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(group[0].ctx))
	var waiting atomic.Int32
	waiting.Store(int32(len(group)))
	stops := make([]func() bool, len(group))
	for i, c := range group {
		stops[i] = context.AfterFunc(c.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// rowRefused reports an error that names one row's content (a duplicate
// id, a value the server refuses) rather than the server or connection,
// so the calls of a group are worth running one by one.
func rowRefused(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return errors.Is(err, queuetype.ErrInvalidArgument)
	}
	class := pe.Code[:2]
	return class == "22" || class == "23" // data exception, integrity constraint violation
}
