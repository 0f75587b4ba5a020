package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// insertColumns are sqlInsert's parameters: one array per column.
type insertColumns struct {
	id, typ, dest, src             []string
	status, priority               []int16
	content, metadata              [][]byte
	created, runAt                 []time.Time
	expire                         []*time.Time
	maxAttempts, uniqueStates      []int32
	unset                          []bool
	tags, shardKey, cb, uniqueKeys []*string
}

// newInsertColumns returns columns with room for n messages.
func newInsertColumns(n int) *insertColumns {
	return &insertColumns{id: make([]string, 0, n), typ: make([]string, 0, n), dest: make([]string, 0, n),
		src: make([]string, 0, n), status: make([]int16, 0, n), priority: make([]int16, 0, n),
		content: make([][]byte, 0, n), metadata: make([][]byte, 0, n), created: make([]time.Time, 0, n),
		runAt: make([]time.Time, 0, n), expire: make([]*time.Time, 0, n), maxAttempts: make([]int32, 0, n),
		uniqueStates: make([]int32, 0, n), unset: make([]bool, 0, n), tags: make([]*string, 0, n),
		shardKey: make([]*string, 0, n), cb: make([]*string, 0, n), uniqueKeys: make([]*string, 0, n)}
}

func (c *insertColumns) args() []any {
	return []any{c.id, c.typ, c.status, c.dest, c.src, c.content, c.priority, c.created, c.runAt, c.expire,
		c.maxAttempts, c.unset, c.tags, c.metadata, c.shardKey, c.cb, c.uniqueKeys, c.uniqueStates}
}

// add appends one message with its callback owner and unique key.
func (c *insertColumns) add(m *queuetype.Message, owner string, standIn int, key driver.UniqueKey) error {
	maxAttempts, unset := int32(m.MaxAttempts), false
	if m.MaxAttempts <= 0 {
		if standIn <= 0 {
			return fmt.Errorf("%w: message %q has no MaxAttempts and the insert no MaxAttemptsDefault",
				queuetype.ErrInvalidArgument, m.ID)
		}
		maxAttempts, unset = int32(standIn), true
	}
	tags, err := tagsJSON(m.Tags)
	if err != nil {
		return err
	}
	c.id, c.typ, c.dest, c.src = append(c.id, m.ID), append(c.typ, m.Type), append(c.dest, m.Destination), append(c.src, m.Source)
	c.status, c.priority = append(c.status, int16(m.Status)), append(c.priority, int16(m.Priority))
	c.content, c.metadata = append(c.content, []byte(m.Content)), append(c.metadata, nullJSON(m.Metadata))
	c.created, c.runAt, c.expire = append(c.created, ts(m.CreatedAt)), append(c.runAt, ts(m.RunAt)), append(c.expire, nullTime(m.ExpireAt))
	c.maxAttempts, c.unset = append(c.maxAttempts, maxAttempts), append(c.unset, unset)
	c.tags, c.shardKey, c.cb = append(c.tags, tags), append(c.shardKey, nullText(m.ShardKey)), append(c.cb, nullText(owner))
	c.uniqueKeys, c.uniqueStates = append(c.uniqueKeys, nullText(key.Key)), append(c.uniqueStates, int32(key.States))
	return nil
}

// insertMessages stores the messages of p for which skip is false, in one
// statement, and sets their seqs.
func insertMessages(ctx context.Context, d *DB, q querier, p driver.InsertParams, keys []driver.UniqueKey, skip []bool) error {
	return insertNotifying(ctx, d, q, p, keys, skip, nil)
}

// insertNotifying is insertMessages that also notifies the payloads on the
// schema's channel, in the statement's transaction.
func insertNotifying(ctx context.Context, d *DB, q querier, p driver.InsertParams, keys []driver.UniqueKey, skip []bool,
	payloads []string) error {
	cols := newInsertColumns(len(p.Messages))
	byID := make(map[string]*queuetype.Message, len(p.Messages))
	for i, m := range p.Messages {
		if skip != nil && skip[i] {
			continue
		}
		owner, key := "", driver.UniqueKey{}
		if p.CallbackOwners != nil {
			owner = p.CallbackOwners[i]
		}
		if i < len(keys) {
			key = keys[i]
		}
		if err := cols.add(m, owner, p.MaxAttemptsDefault, key); err != nil {
			return err
		}
		byID[m.ID] = m
	}
	if len(cols.id) == 0 {
		return nil
	}
	if payloads == nil {
		payloads = []string{}
	}
	r, err := q.query(ctx, d.sql(sqlInsert), append(cols.args(), d.channel, payloads)...)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		var id string
		var seq int64
		if err := r.Scan(&id, &seq); err != nil {
			return err
		}
		if m := byID[id]; m != nil {
			m.Seq = seq
		}
	}
	return r.Err()
}

// readyTopics are the work signals of messages stored ready.
func readyTopics(ms []*queuetype.Message, skip []bool) []driver.Topic {
	var out []driver.Topic
	for i, m := range ms {
		if (skip == nil || !skip[i]) && m.Status == queuetype.StatusPending {
			out = append(out, driver.Topic{Kind: driver.TopicWork, Key: m.Destination})
		}
	}
	return out
}

// Insert implements driver.Driver: one statement, all or none (with
// dependencies, one transaction: the insert, the parents' check and the
// dependency rows).
func (d *DB) Insert(ctx context.Context, p driver.InsertParams) error {
	var err error
	notified := false
	if hasDependencies(p.Messages) {
		err = d.tx(ctx, func(tx pgx.Tx) error { return d.insertWithDependencies(ctx, pgxQuerier{tx}, p) })
	} else {
		notified, err = d.insertGrouped(ctx, p)
	}
	if err != nil {
		return d.wrap("insert", err)
	}
	if !notified {
		d.signal(readyTopics(p.Messages, nil)...)
	}
	return nil
}

// InsertTx implements driver.Driver. tx is a pgx.Tx begun on Pool or a
// *sql.Tx begun on AppDB (or on any database/sql pool over pgx on the same
// database). The other handles hear of the messages when tx commits.
func (d *DB) InsertTx(ctx context.Context, tx driver.Tx, p driver.InsertParams) error {
	q, err := d.checkTx(ctx, tx)
	if err != nil {
		return err
	}
	if err := d.insertWithDependencies(ctx, q, p); err != nil {
		return d.wrap("insert", err)
	}
	return d.wrap("insert", d.signalInTx(ctx, q, readyTopics(p.Messages, nil)))
}

// Claim implements driver.Driver.
func (d *DB) Claim(ctx context.Context, p driver.ClaimParams) ([]*queuetype.Message, error) {
	if len(p.Destinations) == 0 || p.Max <= 0 {
		return nil, nil
	}
	c := d.newClaimCall(p)
	var err error
	if c.simple() {
		// The claim statement (under generic plans), committed on its own:
		// a claim costs one round trip.
		c.out, err = d.claimPlain(ctx, c)
	} else {
		err = d.tx(ctx, func(tx pgx.Tx) error { return d.claimInTx(ctx, tx, c) })
	}
	if err != nil {
		d.claims.add(c.p.Owner, c.p.LeaseUntil) // it may have committed
		return nil, d.wrap("claim", err)
	}
	return d.claimed(c), nil
}

// claimCall is one claim's parameters as its statements take them, and
// what it claimed.
type claimCall struct {
	p                 driver.ClaimParams // LeaseUntil stamped (see lostClaims)
	maxAttempts, caps []int32            // parallel to p.Destinations
	lost              []time.Time        // the owner's claims that got no answer
	out, adopted      []*queuetype.Message
}

func (d *DB) newClaimCall(p driver.ClaimParams) *claimCall {
	c := &claimCall{maxAttempts: make([]int32, len(p.Destinations)), caps: make([]int32, len(p.Destinations))}
	for i := range p.Destinations {
		if i < len(p.MaxAttempts) && p.MaxAttempts[i] > 0 {
			c.maxAttempts[i] = int32(p.MaxAttempts[i])
		}
		c.caps[i] = int32(p.Max)
	}
	p.LeaseUntil, c.lost = d.claims.stamp(p.LeaseUntil), d.claims.of(p.Owner)
	c.p = p
	return c
}

// simple reports whether the claim is the claim statement alone: no lost
// claim to take back and no limit to enforce.
func (c *claimCall) simple() bool { return len(c.lost) == 0 && !limitedClaim(c.p) }

// claimInTx claims in tx: first what the owner's lost claims committed,
// then the rest, within the limits.
func (d *DB) claimInTx(ctx context.Context, tx pgx.Tx, c *claimCall) (err error) {
	if c.adopted, err = d.adoptClaims(ctx, tx, c.p, c.lost, c.p.LeaseUntil); err != nil {
		return err
	}
	rest := c.p
	rest.Max -= len(c.adopted)
	c.out = c.adopted
	if rest.Max <= 0 {
		return nil
	}
	caps := slices.Clone(c.caps)
	for i := range caps {
		caps[i] = min(caps[i], int32(rest.Max))
	}
	var ms []*queuetype.Message
	if limitedClaim(c.p) {
		ms, err = d.claimLimited(ctx, tx, rest, c.maxAttempts, caps)
	} else {
		ms, err = d.claimRows(ctx, pgxQuerier{tx}, rest, c.maxAttempts, caps)
	}
	c.out = append(c.adopted, ms...)
	return err
}

// claimed finishes a committed claim: it forgets the lost claims taken
// back, signals the messages finished at claim time and returns the
// messages in claim order.
func (d *DB) claimed(c *claimCall) []*queuetype.Message {
	if len(c.adopted) > 0 {
		d.opts.Logger.Warn("took back the messages of a claim whose answer was lost with the connection",
			"schema", d.schema, "owner", c.p.Owner, "n", len(c.adopted))
	}
	if len(c.lost) > 0 && len(c.adopted) < c.p.Max {
		d.claims.drop(c.p.Owner, c.lost)
	}
	out := c.out
	slices.SortFunc(out, func(a, b *queuetype.Message) int {
		if a.Priority != b.Priority {
			return int(b.Priority - a.Priority)
		}
		return int(a.Seq - b.Seq)
	})
	if finished := finishedTopics(out); len(finished) > 0 {
		d.signal(finished...)
	}
	return out
}

// adoptClaims leases again to the claiming owner, up to p.Max, the rows
// its claims that got no answer committed (see lostClaims).
func (d *DB) adoptClaims(ctx context.Context, tx pgx.Tx, p driver.ClaimParams, lost []time.Time, until time.Time) ([]*queuetype.Message, error) {
	if len(lost) == 0 {
		return nil, nil
	}
	return scanMessages(ctx, pgxQuerier{tx}, keepReadable, d.sql(sqlAdoptClaims), p.Owner, lost, until, int64(p.Max))
}

// claimRows runs the claim statement on q. Rows a foreign tool left
// undecodable (never written by the queue) are failed by a second
// statement; should that one fail, they stay leased to Owner and come back
// to pending when Owner stops or dies.
func (d *DB) claimRows(ctx context.Context, q querier, p driver.ClaimParams, maxAttempts, caps []int32) ([]*queuetype.Message, error) {
	var bad undecodable
	out, err := scanMessages(ctx, q, bad.keep, d.sql(sqlClaim), claimArgs(p, maxAttempts, caps)...)
	if err != nil {
		return nil, err
	}
	return out, d.failAll(ctx, q, bad, p)
}

// claimArgs are sqlClaim's parameters.
func claimArgs(p driver.ClaimParams, maxAttempts, caps []int32) []any {
	return []any{ts(p.Now), p.Owner, ts(p.LeaseUntil), int64(p.Max), p.Me, p.Destinations, maxAttempts, caps}
}

// undecodable collects the claimed rows that cannot be decoded.
type undecodable struct {
	ms   []*queuetype.Message
	errs []error
}

// keep is scanMessages' keep for a claim: a bad row is kept, to be failed.
func (u *undecodable) keep(m *queuetype.Message, err error) error {
	if err != nil && m.Status == queuetype.StatusProcessing {
		u.ms, u.errs = append(u.ms, m), append(u.errs, err)
	}
	return nil
}

// failAll fails the undecodable rows the claim p took.
func (d *DB) failAll(ctx context.Context, q querier, u undecodable, p driver.ClaimParams) error {
	for i, m := range u.ms {
		if err := d.failUndecodable(ctx, q, m, u.errs[i], ts(p.Now), p.Me); err != nil {
			return err
		}
	}
	return nil
}

// failUndecodable fails a claimed row that cannot be decoded: it never
// reaches a handler.
func (d *DB) failUndecodable(ctx context.Context, q querier, m *queuetype.Message, cause error, now time.Time, me string) error {
	msg := cause.Error() + "; failed without running"
	if _, err := q.exec(ctx, d.sql(sqlFailUndecodable), now, msg, me, m.Seq); err != nil {
		return err
	}
	m.Status, m.LastError, m.FinishedAt, m.UpdatedAt = queuetype.StatusFailed, msg, now.UTC(), now.UTC()
	m.LeaseOwner, m.LeaseExpiry = "", time.Time{}
	return nil
}

// finishedTopics are the signals of messages that reached a terminal status.
func finishedTopics(ms []*queuetype.Message) []driver.Topic {
	var out []driver.Topic
	for _, m := range ms {
		if m.Status.Terminal() {
			out = append(out, driver.Topic{Kind: driver.TopicFinished})
		}
	}
	return out
}

// Head implements driver.Driver.
func (d *DB) Head(ctx context.Context, destinations []string) (queuetype.Priority, bool, error) {
	if len(destinations) == 0 {
		return 0, false, nil
	}
	var p *int16
	if err := d.reread(ctx, func() error { return d.pool.QueryRow(ctx, d.sql(sqlHead), destinations).Scan(&p) }); err != nil {
		return 0, false, d.wrap("head", err)
	}
	if p == nil {
		return 0, false, nil
	}
	return queuetype.Priority(*p), true, nil
}

// completeColumns are sqlComplete's parameters: one array per column.
type completeColumns struct {
	seq               []int64
	attempt           []int32
	owner, me         []string
	status            []int16
	result            [][]byte
	errText           []*string
	runAt, finished   []*time.Time
	uncharge, retried []int32
	now               []time.Time
}

func (c *completeColumns) add(x *driver.Completion) {
	var finished *time.Time
	if x.Status.Terminal() {
		finished = nullTime(x.Now)
	}
	var uncharge, retried int32
	if x.Uncharge {
		uncharge = 1
	}
	if x.Status == queuetype.StatusRetrying {
		retried = 1
	}
	c.seq, c.attempt, c.owner = append(c.seq, x.Seq), append(c.attempt, int32(x.Attempt)), append(c.owner, x.Owner)
	c.status, c.result, c.errText = append(c.status, int16(x.Status)), append(c.result, nullJSON(x.Result)), append(c.errText, nullText(x.Error))
	c.runAt, c.finished = append(c.runAt, nullTime(x.RunAt)), append(c.finished, finished)
	c.uncharge, c.retried = append(c.uncharge, uncharge), append(c.retried, retried)
	c.me, c.now = append(c.me, x.Me), append(c.now, ts(x.Now))
}

// Complete implements driver.Driver: one statement for the whole batch;
// the fence is in its WHERE clause.
func (d *DB) Complete(ctx context.Context, cs []*driver.Completion) error {
	if len(cs) == 0 {
		return nil
	}
	cols, bySeq := completeBatch(cs)
	r, err := d.pool.Query(ctx, d.sql(sqlComplete), cols.args()...)
	if err != nil {
		return d.wrap("complete", err)
	}
	topics, err := scanCompleted(r, bySeq)
	if err != nil {
		return d.wrap("complete", err)
	}
	d.signal(topics...)
	return nil
}

// completeBatch returns sqlComplete's parameters for cs, and cs by seq,
// with Applied cleared on each.
func completeBatch(cs []*driver.Completion) (*completeColumns, map[int64]*driver.Completion) {
	var cols completeColumns
	bySeq := make(map[int64]*driver.Completion, len(cs))
	for _, c := range cs {
		c.Applied = false
		cols.add(c)
		bySeq[c.Seq] = c
	}
	return &cols, bySeq
}

// args are the columns in sqlComplete's parameter order.
func (c *completeColumns) args() []any {
	return []any{c.seq, c.attempt, c.owner, c.status, c.result, c.errText, c.runAt, c.finished,
		c.uncharge, c.retried, c.me, c.now}
}

// scanCompleted reads sqlComplete's rows: it sets Applied on the
// completions applied, and returns the signals their new statuses call for.
// It closes r.
func scanCompleted(r rows, bySeq map[int64]*driver.Completion) ([]driver.Topic, error) {
	defer r.Close()
	var topics []driver.Topic
	for r.Next() {
		var seq int64
		var status int16
		var dest string
		var owner *string
		if err := r.Scan(&seq, &status, &dest, &owner); err != nil {
			return nil, err
		}
		if c := bySeq[seq]; c != nil {
			c.Applied = true
		}
		switch st := queuetype.Status(status); {
		case st == queuetype.StatusPending:
			topics = append(topics, driver.Topic{Kind: driver.TopicWork, Key: dest})
		case st.Terminal():
			topics = append(topics, driver.Topic{Kind: driver.TopicFinished, Key: str(owner)})
		}
	}
	return topics, r.Err()
}

// ExtendLeases implements driver.Driver: one statement; lease_expires_at is
// in no index, so each renewal is a HOT update.
func (d *DB) ExtendLeases(ctx context.Context, p driver.LeaseParams) ([]int64, error) {
	if len(p.Attempts) != len(p.Seqs) {
		return nil, fmt.Errorf("%w: extend leases: %d attempts for %d seqs", queuetype.ErrInvalidArgument, len(p.Attempts), len(p.Seqs))
	}
	if len(p.Seqs) == 0 {
		return nil, nil
	}
	attempts := make([]int32, len(p.Attempts))
	for i, a := range p.Attempts {
		attempts[i] = int32(a)
	}
	until := d.claims.stamp(p.Until)
	var held []int64
	err := d.rewrite(ctx, func() error {
		r, err := d.pool.Query(ctx, d.sql(sqlExtendLeases), until, p.Owner, p.Seqs, attempts)
		if err != nil {
			return err
		}
		held, err = pgx.CollectRows(r, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, d.wrap("extend leases", err)
	}
	// in the order asked
	in := make(map[int64]bool, len(held))
	for _, s := range held {
		in[s] = true
	}
	out := held[:0]
	for _, s := range p.Seqs {
		if in[s] {
			out = append(out, s)
			delete(in, s)
		}
	}
	return out, nil
}

// BeatOwner implements driver.Driver.
func (d *DB) BeatOwner(ctx context.Context, p driver.OwnerParams) error {
	err := d.rewrite(ctx, func() error {
		_, err := d.pool.Exec(ctx, d.sql(sqlBeatOwner), p.Owner, p.Lease.Microseconds(), ts(p.Now))
		return err
	})
	return d.wrap("owner heartbeat", err)
}

// RetireOwner implements driver.Driver.
func (d *DB) RetireOwner(ctx context.Context, owner string) error {
	d.claims.forget(owner)
	_, err := d.pool.Exec(ctx, d.sql(sqlRetireOwner), owner)
	return d.wrap("retire owner", err)
}

// Owners implements driver.Driver.
func (d *DB) Owners(ctx context.Context) ([]driver.OwnerState, error) {
	var out []driver.OwnerState
	err := d.reread(ctx, func() (err error) { out, err = d.owners(ctx); return err })
	if err != nil {
		return nil, d.wrap("read owners", err)
	}
	return out, nil
}

// owners reads the owners once.
func (d *DB) owners(ctx context.Context) ([]driver.OwnerState, error) {
	r, err := d.pool.Query(ctx, d.sql(sqlOwners))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []driver.OwnerState
	for r.Next() {
		var o driver.OwnerState
		var leaseUS int64
		if err := r.Scan(&o.Owner, &o.Beats, &leaseUS, &o.Gone, &o.NoRow); err != nil {
			return nil, err
		}
		o.Lease = time.Duration(leaseUS) * time.Microsecond
		out = append(out, o)
	}
	return out, r.Err()
}

// owners is a list of owner ids as a text[] parameter (never NULL).
func owners(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// Rescue implements driver.Driver.
func (d *DB) Rescue(ctx context.Context, p driver.MaintainParams) ([]*queuetype.Message, error) {
	if len(p.Dead) == 0 && len(p.Ownerless) == 0 {
		return nil, nil
	}
	dead, ownerless, now := owners(p.Dead), owners(p.Ownerless), ts(p.Now)
	var out []*queuetype.Message
	err := d.tx(ctx, func(tx pgx.Tx) (err error) {
		q := pgxQuerier{tx}
		out, err = scanMessages(ctx, q, keepReadable, d.sql(sqlRescue), now, int64(limit(p.Limit)), p.Me, dead, ownerless)
		if err == nil {
			_, err = q.exec(ctx, d.sql(sqlReleaseDeadGroups), dead, ownerless, now)
		}
		if err == nil {
			_, err = q.exec(ctx, d.sql(sqlForgetOwners), dead)
		}
		return err
	})
	if err != nil {
		return nil, d.wrap("rescue", err)
	}
	var topics []driver.Topic
	for _, m := range out {
		if m.Status == queuetype.StatusPending {
			topics = append(topics, driver.Topic{Kind: driver.TopicWork, Key: m.Destination})
		}
	}
	d.signal(append(topics, finishedTopics(out)...)...)
	return out, nil
}

func limit(n int) int {
	if n <= 0 {
		return maintainLimit
	}
	return n
}

// Promote implements driver.Driver.
func (d *DB) Promote(ctx context.Context, p driver.MaintainParams) (int, error) {
	r, err := d.pool.Query(ctx, d.sql(sqlPromote), ts(p.Now), int64(limit(p.Limit)))
	if err != nil {
		return 0, d.wrap("promote", err)
	}
	dests, err := pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		return 0, d.wrap("promote", err)
	}
	topics := make([]driver.Topic, len(dests))
	for i, dest := range dests {
		topics[i] = driver.Topic{Kind: driver.TopicWork, Key: dest}
	}
	d.signal(topics...)
	return len(dests), nil
}

// NextDue implements driver.Driver.
func (d *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	var t *time.Time
	if err := d.reread(ctx, func() error { return d.pool.QueryRow(ctx, d.sql(sqlNextDue)).Scan(&t) }); err != nil {
		return time.Time{}, false, d.wrap("next due", err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return t.UTC(), true, nil
}

// Expire implements driver.Driver.
func (d *DB) Expire(ctx context.Context, p driver.MaintainParams) ([]*queuetype.Message, error) {
	out, err := scanMessages(ctx, d.poolQ(), keepReadable, d.sql(sqlExpire), ts(p.Now), int64(limit(p.Limit)), p.Me)
	if err != nil {
		return nil, d.wrap("expire", err)
	}
	d.signal(finishedTopics(out)...)
	return out, nil
}

// Cleanup implements driver.Driver: deletes in batches of short
// transactions. PostgreSQL keeps the freed space for new rows (autovacuum
// marks it free), so BytesFreed is 0: no file shrinks.
func (d *DB) Cleanup(ctx context.Context, p driver.CleanupParams) (driver.CleanupResult, error) {
	var res driver.CleanupResult
	batch := p.BatchSize
	if batch <= 0 {
		batch = cleanupBatchSize
	}
	for status, cutoff := range p.Before {
		for {
			tag, err := d.pool.Exec(ctx, d.sql(sqlCleanup), int16(status), ts(cutoff), int64(batch))
			if err != nil {
				return res, d.wrap("cleanup", err)
			}
			res.Deleted += int(tag.RowsAffected())
			if tag.RowsAffected() < int64(batch) {
				break
			}
		}
	}
	return res, nil
}

// Get implements driver.Driver.
func (d *DB) Get(ctx context.Context, id string) (*queuetype.Message, error) {
	var m *queuetype.Message
	err := d.reread(ctx, func() (err error) { m, err = d.getWithErrors(ctx, id); return err })
	if err != nil {
		return nil, d.wrap("get", err)
	}
	if m == nil {
		return nil, fmt.Errorf("message %q: %w", id, queuetype.ErrNotFound)
	}
	return m, nil
}

// List implements driver.Driver.
func (d *DB) List(ctx context.Context, p driver.ListParams) ([]*queuetype.Message, error) {
	query, args := listQuery(p)
	var ms []*queuetype.Message
	err := d.reread(ctx, func() (err error) {
		ms, err = scanMessages(ctx, d.poolQ(), keepReadable, d.sql(query), args...)
		return err
	})
	return ms, d.wrap("list", err)
}

// listQuery builds List's statement and its arguments from p.
func listQuery(p driver.ListParams) (string, []any) {
	query, args := sqlListHead, []any{p.AfterSeq}
	add := func(cond string, arg any) {
		args = append(args, arg)
		query += fmt.Sprintf(cond, len(args))
	}
	if len(p.Statuses) > 0 {
		statuses := make([]int16, len(p.Statuses))
		for i, s := range p.Statuses {
			statuses[i] = int16(s)
		}
		add(sqlListStatuses, statuses)
	}
	if p.Destination != "" {
		add(sqlListDestination, p.Destination)
	}
	if p.Tag != "" {
		add(sqlListByTag, p.Tag)
	}
	if !p.CreatedFrom.IsZero() {
		add(sqlListCreatedFrom, ts(p.CreatedFrom))
	}
	if !p.CreatedBefore.IsZero() {
		add(sqlListCreatedBefore, ts(p.CreatedBefore))
	}
	n := p.Limit
	if n <= 0 {
		n = listLimitDefault
	}
	add(sqlListTail, int64(n))
	return query, args
}

// Finished implements driver.Driver.
func (d *DB) Finished(ctx context.Context, owner string, n int) ([]*queuetype.Message, error) {
	var ms []*queuetype.Message
	err := d.reread(ctx, func() (err error) {
		ms, err = scanMessages(ctx, d.poolQ(), keepReadable, d.sql(sqlFinished), owner, int64(limit(n)))
		return err
	})
	return ms, d.wrap("finished", err)
}

// AckCallbacks implements driver.Driver.
func (d *DB) AckCallbacks(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	_, err := d.pool.Exec(ctx, d.sql(sqlAckCallbacks), seqs)
	return d.wrap("ack callbacks", err)
}

// Cancel implements driver.Driver.
func (d *DB) Cancel(ctx context.Context, p driver.ChangeParams) (*queuetype.Message, error) {
	m, err := d.change(ctx, "cancel", sqlCancel, p, ts(p.Now), p.ID, p.Me)
	if err == nil {
		d.signal(driver.Topic{Kind: driver.TopicFinished})
	}
	return m, err
}

// Requeue implements driver.Driver.
func (d *DB) Requeue(ctx context.Context, p driver.ChangeParams) (*queuetype.Message, error) {
	m, err := d.change(ctx, "requeue", sqlRequeue, p, ts(p.Now), p.ID)
	if err == nil {
		d.signal(driver.Topic{Kind: driver.TopicWork, Key: m.Destination})
	}
	return m, err
}

// change runs a status change on one message; when it matches nothing it
// tells apart a missing message from one in the wrong status.
func (d *DB) change(ctx context.Context, op, query string, p driver.ChangeParams, args ...any) (*queuetype.Message, error) {
	got, err := scanMessages(ctx, d.poolQ(), keepReadable, d.sql(query), args...)
	if err != nil {
		return nil, d.wrap(op, err)
	}
	if len(got) == 1 {
		return got[0], nil
	}
	current, err := d.Get(ctx, p.ID)
	if errors.Is(err, queuetype.ErrNotFound) {
		return nil, fmt.Errorf("%s message %q: %w", op, p.ID, queuetype.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return current, fmt.Errorf("%s message %q: it is %s: %w", op, p.ID, current.Status, queuetype.ErrInvalidState)
}

// Stats implements driver.Driver.
func (d *DB) Stats(ctx context.Context) (*driver.Stats, error) {
	var st *driver.Stats
	err := d.reread(ctx, func() (err error) { st, err = d.stats(ctx); return err })
	if err != nil {
		return nil, d.wrap("stats", err)
	}
	return st, nil
}

// stats reads the counts and the oldest pending message once.
func (d *DB) stats(ctx context.Context) (*driver.Stats, error) {
	st := &driver.Stats{Counts: map[string]map[queuetype.Status]int{}}
	r, err := d.pool.Query(ctx, d.sql(sqlStatsCounts))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for r.Next() {
		var dest string
		var status int16
		var n int64
		if err := r.Scan(&dest, &status, &n); err != nil {
			return nil, err
		}
		if st.Counts[dest] == nil {
			st.Counts[dest] = map[queuetype.Status]int{}
		}
		st.Counts[dest][queuetype.Status(status)] = int(n)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	var oldest *time.Time
	if err := d.pool.QueryRow(ctx, d.sql(sqlStatsOldest)).Scan(&oldest); err != nil {
		return nil, err
	}
	st.OldestPending = utc(oldest)
	return st, nil
}

// Meta implements driver.Driver.
func (d *DB) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := d.reread(ctx, func() error { return d.pool.QueryRow(ctx, d.sql(sqlMetaGet), key).Scan(&v) })
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, d.wrap("read meta", err)
	}
	return v, true, nil
}

// SetMeta implements driver.Driver.
func (d *DB) SetMeta(ctx context.Context, key, value string) error {
	_, err := d.pool.Exec(ctx, d.sql(sqlMetaSet), key, value)
	return d.wrap("write meta", err)
}

// DeleteMeta removes a metadata key.
func (d *DB) DeleteMeta(ctx context.Context, key string) error {
	_, err := d.pool.Exec(ctx, d.sql(sqlMetaDelete), key)
	return d.wrap("delete meta", err)
}

// Check implements driver.Driver: the schema is there at this build's
// version and its tables can be read. PostgreSQL checks its own pages
// (data checksums, when the cluster has them on).
func (d *DB) Check(ctx context.Context) error {
	var version int
	if err := d.reread(ctx, func() error { return d.pool.QueryRow(ctx, d.sql(sqlVersionGet)).Scan(&version) }); err != nil {
		return d.wrap("check", err)
	}
	if version != SchemaVersion() {
		return &queuetype.StorageError{Op: "check", Path: d.schema,
			Err: fmt.Errorf("%w: schema version %d, want %d", queuetype.ErrCorrupt, version, SchemaVersion())}
	}
	var n int64
	err := d.reread(ctx, func() error { return d.pool.QueryRow(ctx, d.sql(sqlCheck)).Scan(&n) })
	return d.wrap("check", err)
}

var _ driver.MetaScanner = (*DB)(nil)

// MetaPrefixed implements driver.MetaScanner.
func (d *DB) MetaPrefixed(ctx context.Context, prefix, after string, limit int) ([]driver.MetaEntry, error) {
	var out []driver.MetaEntry
	err := d.reread(ctx, func() (err error) { out, err = d.metaPrefixed(ctx, prefix, after, limit); return err })
	if err != nil {
		return nil, d.wrap("list meta", err)
	}
	return out, nil
}

// metaPrefixed reads one page of prefixed metadata once.
func (d *DB) metaPrefixed(ctx context.Context, prefix, after string, limit int) ([]driver.MetaEntry, error) {
	rows, err := d.pool.Query(ctx, d.sql(sqlMetaPrefixed), prefix, after, int64(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []driver.MetaEntry
	for rows.Next() {
		var e driver.MetaEntry
		if err := rows.Scan(&e.Key, &e.Value); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
