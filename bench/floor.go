package main

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// The floor is the least a persistent SQLite queue in one process can do:
// one writer goroutine on one connection, group commit (every send, claim
// and acknowledgement waiting when a transaction starts goes into it), no
// leases, attempts, priorities, results or callbacks; a message is a row
// (id, state, body), a claim flips state, an acknowledgement deletes the
// row. It shows what SQLite costs for each scenario on this machine, so
// every table can give our queue's ratio to it from the same run.
const (
	floorSchema = `CREATE TABLE IF NOT EXISTS q (
  id INTEGER PRIMARY KEY,
  state INTEGER NOT NULL DEFAULT 0,
  body BLOB NOT NULL)`
	floorRecover = `UPDATE q SET state = 0 WHERE state = 1`
	floorPending = `SELECT count(*) FROM q WHERE state = 0`
	floorInsert  = `INSERT INTO q (body) VALUES (?)`
	floorClaim   = `UPDATE q SET state = 1 WHERE id IN (SELECT id FROM q WHERE state = 0 ORDER BY id LIMIT ?) RETURNING id, body`
	floorAck     = `DELETE FROM q WHERE id = ?`

	// floorPrefetch is how many jobs per worker may be claimed at once:
	// two, so workers find the next job while its claim commits.
	floorPrefetch = 2
	// floorTxRows bounds the sends and acknowledgements one transaction
	// gathers.
	floorTxRows = 10_000
	// floorSendQueue is the buffer of waiting send requests.
	floorSendQueue = 1024
)

// floorSystem is the reference queue.
func floorSystem() system {
	return system{
		Name: floorName,
		Note: "the reference queue of floor.go: one writer goroutine, group commit, claims and acknowledgements " +
			"in the same transactions, no leases, results or callbacks; a row (id, state, body) per message",
		SQLite: true,
		Open:   openFloor,
	}
}

type floorReq struct {
	bodies [][]byte
	done   chan error
}

type floorJob struct {
	id   int64
	body []byte
}

type floorStmts struct{ insert, claim, ack *sql.Stmt }

type floorInst struct {
	db       *sql.DB
	conn     *sql.Conn
	st       floorStmts
	env      benchkit.Env
	pad      string
	capacity int
	pending  int // rows with state 0; the writer's alone

	sends    chan floorReq
	acks     chan int64
	jobs     chan floorJob
	start    chan struct{}
	quit     chan struct{}
	done     chan struct{}
	workers  sync.WaitGroup
	started  atomic.Bool
	txs      atomic.Int64
	finished benchkit.Counter
	failOnce sync.Once
	failed   chan struct{}
	err      error
}

func openFloor(ctx context.Context, e env) (benchkit.Instance, error) {
	db, err := openSQLite(e.Dir, "floor.db", e.Sync, 1)
	if err != nil {
		return nil, err
	}
	f := &floorInst{db: db, env: e.Env, pad: padFor(e.Size), capacity: floorPrefetch * e.Workers,
		sends: make(chan floorReq, floorSendQueue), start: make(chan struct{}), quit: make(chan struct{}),
		done: make(chan struct{}), failed: make(chan struct{})}
	f.acks = make(chan int64, f.capacity)
	f.jobs = make(chan floorJob, f.capacity)
	if err := f.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	go f.writer()
	return f, nil
}

// prepare creates the table, makes claimed rows pending again (what a
// restart after a crash needs) and prepares the statements on the one
// connection.
func (f *floorInst) prepare(ctx context.Context) error {
	conn, err := f.db.Conn(ctx)
	if err != nil {
		return err
	}
	f.conn = conn
	for _, q := range []string{floorSchema, floorRecover} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if err := conn.QueryRowContext(ctx, floorPending).Scan(&f.pending); err != nil {
		return err
	}
	for q, dst := range map[string]**sql.Stmt{floorInsert: &f.st.insert, floorClaim: &f.st.claim, floorAck: &f.st.ack} {
		if *dst, err = conn.PrepareContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// writer runs every transaction: it waits for work, gathers every send and
// acknowledgement waiting, and commits them in one transaction with a claim
// of as many pending rows as the workers have room for.
func (f *floorInst) writer() {
	defer close(f.done)
	inflight := 0
	start := f.start
	for {
		var sends []floorReq
		var acks []int64
		if !f.started.Load() || f.pending == 0 || inflight >= f.capacity {
			select {
			case r := <-f.sends:
				sends = append(sends, r)
			case id := <-f.acks:
				acks = append(acks, id)
			case <-start:
				start = nil
				continue
			case <-f.quit:
				return
			}
		}
		sends, acks = f.gather(sends, acks)
		inflight -= len(acks)
		claimed, err := f.commit(sends, acks, f.capacity-inflight)
		for _, r := range sends {
			r.done <- err
		}
		if err != nil {
			f.fail(err)
			return
		}
		f.finished.Add(int64(len(acks)))
		inflight += claimed
	}
}

// gather adds every waiting send and acknowledgement, up to floorTxRows.
func (f *floorInst) gather(sends []floorReq, acks []int64) ([]floorReq, []int64) {
	rows := len(acks)
	for _, r := range sends {
		rows += len(r.bodies)
	}
	for rows < floorTxRows {
		select {
		case r := <-f.sends:
			sends = append(sends, r)
			rows += len(r.bodies)
		case id := <-f.acks:
			acks = append(acks, id)
			rows++
		default:
			return sends, acks
		}
	}
	return sends, acks
}

// commit runs one transaction: the inserts, the deletes, then (once
// started) a claim of up to room pending rows, handed to the workers after
// the commit. It returns how many it claimed.
func (f *floorInst) commit(sends []floorReq, acks []int64, room int) (int, error) {
	ctx := context.Background()
	if _, err := f.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, err
	}
	f.txs.Add(1)
	jobs, inserted, err := f.work(ctx, sends, acks, room)
	if err == nil {
		_, err = f.conn.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		_, _ = f.conn.ExecContext(ctx, "ROLLBACK")
		return 0, err
	}
	f.pending += inserted - len(jobs)
	for _, j := range jobs {
		f.jobs <- j // never blocks: the buffer holds capacity, inflight never exceeds it
	}
	return len(jobs), nil
}

func (f *floorInst) work(ctx context.Context, sends []floorReq, acks []int64, room int) ([]floorJob, int, error) {
	inserted := 0
	for _, r := range sends {
		for _, b := range r.bodies {
			if _, err := f.st.insert.ExecContext(ctx, b); err != nil {
				return nil, 0, err
			}
			inserted++
		}
	}
	for _, id := range acks {
		if _, err := f.st.ack.ExecContext(ctx, id); err != nil {
			return nil, 0, err
		}
	}
	if !f.started.Load() || room <= 0 || f.pending+inserted == 0 {
		return nil, inserted, nil
	}
	jobs, err := f.claim(ctx, room)
	return jobs, inserted, err
}

func (f *floorInst) claim(ctx context.Context, room int) ([]floorJob, error) {
	rows, err := f.st.claim.QueryContext(ctx, room)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []floorJob
	for rows.Next() {
		var j floorJob
		if err := rows.Scan(&j.id, &j.body); err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

func (f *floorInst) fail(err error) {
	f.failOnce.Do(func() { f.err = err; close(f.failed) })
}

// send hands bodies to the writer and waits for their commit.
func (f *floorInst) send(ctx context.Context, bodies [][]byte) error {
	r := floorReq{bodies: bodies, done: make(chan error, 1)}
	select {
	case f.sends <- r:
	case <-f.failed:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send implements benchkit.Instance.
func (f *floorInst) Send(ctx context.Context, p benchkit.Payload) error {
	return f.send(ctx, [][]byte{content(p, f.pad)})
}

// SendBatch implements benchkit.Instance: the batch commits in one
// transaction (with whatever else was waiting).
func (f *floorInst) SendBatch(ctx context.Context, ps []benchkit.Payload) error {
	bodies := make([][]byte, len(ps))
	for i, p := range ps {
		bodies[i] = content(p, f.pad)
	}
	return f.send(ctx, bodies)
}

// Start implements benchkit.Instance: it starts the workers and lets the
// writer claim.
func (f *floorInst) Start(context.Context) error {
	if f.started.Swap(true) {
		return errors.New("floor: started twice")
	}
	for range f.env.Workers {
		f.workers.Go(f.work1)
	}
	close(f.start)
	return nil
}

// work1 is one worker: run the no-op handler, acknowledge.
func (f *floorInst) work1() {
	for j := range f.jobs {
		if err := handle(&f.env, j.body); err != nil {
			f.fail(err)
		}
		select {
		case f.acks <- j.id:
		case <-f.quit:
			return
		}
	}
}

// WaitFinished implements benchkit.Instance: a job is finished once its
// acknowledgement committed.
func (f *floorInst) WaitFinished(ctx context.Context, n int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-f.failed:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := f.finished.Wait(ctx, int64(n))
	select {
	case <-f.failed:
		return f.err
	default:
		return err
	}
}

// WriteTransactions implements benchkit.WriteCounter.
func (f *floorInst) WriteTransactions() int64 { return f.txs.Load() }

// Close implements benchkit.Instance.
func (f *floorInst) Close() error {
	close(f.quit)
	<-f.done
	close(f.jobs)
	f.workers.Wait()
	err := f.conn.Close()
	if cerr := f.db.Close(); err == nil {
		err = cerr
	}
	return err
}
