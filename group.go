package queuesqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// groupMetaPrefix is the metadata key prefix of stored groups (in the
// first shard): "group/<id>".
const groupMetaPrefix = "group/"

// groupStoreTimeout bounds the write of a finished group's result from the
// callback pool.
const groupStoreTimeout = 30 * time.Second

// Group is a batch sent with SendGroup.
type Group struct {
	ID         string   // the group's id, for GroupResult
	MessageIDs []string // its members' ids, in send order
}

// GroupResult is the outcome of a group: how many of its members are in
// each status. It is stored when every member has finished, and
// GroupResult reads it from any process.
type GroupResult struct {
	ID         string
	MessageIDs []string       // the members, in send order
	Counts     map[Status]int // members per status
	// Missing counts members no longer stored (cleaned up after they
	// finished, or never stored because their send failed); they count
	// as finished.
	Missing    int
	Finished   bool      // every member has finished
	CreatedAt  time.Time // when the group was sent
	FinishedAt time.Time // the last member's finish (zero until Finished)
	// Messages are the members as they finished, in send order: set in
	// SendGroup's callback only (GroupResult leaves it nil).
	Messages []*Message
}

// groupRecord is a GroupResult as stored.
type groupRecord struct {
	ID         string         `json:"id"`
	MessageIDs []string       `json:"message_ids"`
	Counts     map[string]int `json:"counts,omitempty"` // by status name
	Missing    int            `json:"missing,omitempty"`
	Finished   bool           `json:"finished"`
	CreatedAt  time.Time      `json:"created_at"`
	FinishedAt time.Time      `json:"finished_at,omitzero"`
}

// GroupFunc is told once that every member of a group has finished.
type GroupFunc func(*GroupResult)

// SendGroup sends ms as one batch (as SendBatch, dependencies included)
// and calls fn once, in this process, when every member has finished,
// whatever its outcome (completed, failed, expired or cancelled), with the
// members as they finished. The group (its id and members) is stored in
// the first shard's metadata before the members are sent, and its final
// result once the last one finishes, so GroupResult reports it from any
// process. fn fires only in a process that stays open until then: like a
// message's callback it is held in memory, so a sender that closed or
// restarted first fires nothing (GroupResult still tells the outcome). fn
// may be nil. Members may not be unique messages. If the send fails, the
// group is dropped again (best effort; one left behind reports every
// member missing).
func (q *Queue) SendGroup(ctx context.Context, ms []*Message, fn GroupFunc) (*Group, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	rows := make([]*Message, len(ms))
	ids := make([]string, len(ms))
	for i, m := range ms {
		if m == nil || m.Unique != nil {
			return nil, fmt.Errorf("message %d: %w: a group holds messages that are not nil and not unique", i, ErrInvalidArgument)
		}
		c := *m
		if c.ID == "" {
			c.ID = newID()
		}
		rows[i], ids[i] = &c, c.ID
	}
	g := &groupRun{q: q, fn: fn, res: &GroupResult{ID: newID(), MessageIDs: ids,
		CreatedAt: q.now()}, got: make(map[string]*Message, len(ids))}
	if err := q.storeGroup(ctx, g.res); err != nil {
		return nil, err
	}
	if _, err := q.SendBatch(ctx, rows, g.done); err != nil {
		q.dropGroup(ctx, g.res.ID)
		return nil, err
	}
	return &Group{ID: g.res.ID, MessageIDs: ids}, nil
}

// GroupResult returns the result of the group id. For a group that has not
// finished it counts its members' current statuses (Finished false); once
// every member has finished it stores and returns the final result, which
// outlives the members' cleanup. Cleanup deletes that record too once the
// group finished longer ago than its retention (the longest
// Config.Retention of its members' final statuses); from then on, as for a
// group never sent, GroupResult fails with an error wrapping ErrNotFound
// that says so.
func (q *Queue) GroupResult(ctx context.Context, id string) (*GroupResult, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	res, err := q.loadGroup(ctx, id)
	if err != nil || res.Finished {
		return res, err
	}
	res.Counts, res.Missing, res.FinishedAt = map[Status]int{}, 0, time.Time{}
	res.Finished = true
	for _, mid := range res.MessageIDs {
		m, err := q.Get(ctx, mid)
		switch {
		case errors.Is(err, ErrNotFound):
			res.Missing++
			continue
		case err != nil:
			return nil, err
		}
		res.count(m)
	}
	if res.Finished {
		return res, q.storeGroup(ctx, res)
	}
	return res, nil
}

// count adds one member to the counts.
func (r *GroupResult) count(m *Message) {
	r.Counts[m.Status]++
	if !m.Status.Terminal() {
		r.Finished = false
	}
	if m.FinishedAt.After(r.FinishedAt) {
		r.FinishedAt = m.FinishedAt
	}
}

// groupRun follows one group in its sending process.
type groupRun struct {
	q     *Queue
	fn    GroupFunc
	mu    sync.Mutex
	res   *GroupResult
	got   map[string]*Message // members finished so far
	fired bool
}

// done is every member's callback: the last one finishes the group.
func (g *groupRun) done(m *Message) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.got[m.ID] = m
	if g.fired || len(g.got) < len(g.res.MessageIDs) {
		return
	}
	g.fired = true
	r := g.res
	r.Counts, r.Finished, r.Messages = map[Status]int{}, true, make([]*Message, len(r.MessageIDs))
	for i, id := range r.MessageIDs {
		r.Messages[i] = g.got[id]
		r.count(g.got[id])
	}
	go g.finish(r)
}

// finish stores the result and calls fn (outside the callback pool's
// worker, which it must not hold while it writes).
func (g *groupRun) finish(r *GroupResult) {
	ctx, cancel := context.WithTimeout(context.Background(), groupStoreTimeout)
	defer cancel()
	if err := g.q.storeGroup(ctx, r); err != nil {
		g.q.logger.Warn("store the result of a finished group (GroupResult recounts it)", "group", r.ID, "err", err)
	}
	if g.fn != nil {
		g.fn(r)
	}
}

// storeGroup writes r to the first shard's metadata.
func (q *Queue) storeGroup(ctx context.Context, r *GroupResult) error {
	rec := groupRecord{ID: r.ID, MessageIDs: r.MessageIDs, Missing: r.Missing, Finished: r.Finished,
		CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt}
	if len(r.Counts) > 0 {
		rec.Counts = make(map[string]int, len(r.Counts))
		for s, n := range r.Counts {
			rec.Counts[s.String()] = n
		}
	}
	b, err := json.Marshal(rec)
	if err == nil {
		err = q.d.SetMeta(ctx, groupMetaPrefix+r.ID, string(b))
	}
	if err != nil {
		return fmt.Errorf("store group %s: %w", r.ID, err)
	}
	return nil
}

// loadGroup reads a stored group; ErrNotFound when there is none.
func (q *Queue) loadGroup(ctx context.Context, id string) (*GroupResult, error) {
	v, ok, err := q.d.Meta(ctx, groupMetaPrefix+id)
	if err != nil {
		return nil, fmt.Errorf("group %s: %w", id, err)
	}
	if !ok {
		return nil, fmt.Errorf("group %s: %w (never sent here, or cleaned up after it finished: see Config.Retention)", id, ErrNotFound)
	}
	var rec groupRecord
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return nil, fmt.Errorf("group %s: %w: its stored result does not decode: %v", id, ErrCorrupt, err)
	}
	r := &GroupResult{ID: rec.ID, MessageIDs: rec.MessageIDs, Counts: map[Status]int{}, Missing: rec.Missing,
		Finished: rec.Finished, CreatedAt: rec.CreatedAt, FinishedAt: rec.FinishedAt}
	for name, n := range rec.Counts {
		s, err := ParseStatus(name)
		if err != nil {
			return nil, fmt.Errorf("group %s: %w: stored count of %v", id, ErrCorrupt, err)
		}
		r.Counts[s] = n
	}
	return r, nil
}

// dropGroup deletes the record of a group whose send failed, where the
// backend can delete metadata (both built-in ones can).
func (q *Queue) dropGroup(ctx context.Context, id string) {
	if d, ok := q.d.(interface {
		DeleteMeta(ctx context.Context, key string) error
	}); ok {
		_ = d.DeleteMeta(context.WithoutCancel(ctx), groupMetaPrefix+id)
	}
}
