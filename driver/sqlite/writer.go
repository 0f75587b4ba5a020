package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// lockSlice is the longest the writer's connection waits inside SQLite for
// another connection's write lock (its busy timeout). Between slices the
// writer looks at its callers: one whose context ended withdraws, unwritten,
// so every caller returns by its deadline however long the lock is held.
const lockSlice = 50 * time.Millisecond

// lockPause spaces the writer's tries for a lock that SQLite reported busy
// without waiting.
const lockPause = 2 * time.Millisecond

// maxOpsPerTx bounds how many queued operations one transaction folds in, so
// a flood of sends cannot hold the write lock for long.
const maxOpsPerTx = 512

// Op states. A queued op can still be withdrawn by its caller; once a leader
// takes it, the caller waits for the real outcome. A queued op can also be
// handed the leadership (its caller then runs the next transactions).
const (
	opQueued int32 = iota
	opTaken
	opWithdrawn
	opLead
)

// op is one unit of work for the writer: the statements of one driver call.
type op struct {
	fn    func(*tx) error
	multi bool // runs more than one statement: isolate it with a savepoint
	// outside runs the op on its own, outside any transaction (checkpoints).
	outside bool
	state   atomic.Int32
	err     error
	done    chan struct{} // one signal: the op is finished, or (state opLead) lead now
}

var opPool = sync.Pool{New: func() any { return &op{done: make(chan struct{}, 1)} }}

// writer owns the only writing connection to one SQLite file. Every write of
// the process goes through it, and concurrent callers' operations are folded
// into shared BEGIN IMMEDIATE transactions (group commit), so a burst of N
// writes costs one commit instead of N.
//
// There is no writer goroutine in the hot path: the caller that finds the
// writer idle becomes the leader and runs the transaction itself, with
// whatever other callers queued meanwhile; when its own operation is done it
// hands the leadership to the next waiting caller. A lone caller thus pays
// no goroutine switch, and a crowd still shares commits.
type writer struct {
	path      string
	db        *sql.DB
	pollEvery time.Duration
	lockWarn  time.Duration // log a warning after waiting this long for another connection's lock
	logger    *slog.Logger
	changes   chan struct{}
	commits   atomic.Int64 // committed transactions, for WriteTransactions
	committed atomic.Int64 // ops in those transactions, for WriteOps (helper obs)
	quit      chan struct{}
	done      chan struct{}
	closing   atomic.Bool  // stop has begun: the lock is no longer waited for
	lockedAt  atomic.Int64 // unix nanos since when the writer tries to take the write lock; 0 if it is not trying

	mu      sync.Mutex
	idle    *sync.Cond // signalled when leadership is released
	queue   []*op
	leading bool
	closed  bool

	// Used only by the leader (or by start, before anyone leads).
	conn         *sqlite3.SQLiteConn
	stmts        map[string]driver.Stmt
	dataVersion  int64
	versionCheck time.Time     // when data_version was last read
	lowSpace     bool          // a write failed for lack of space and the log has not been emptied since
	smallLog     bool          // the checkpoint threshold was lowered after a full disk
	lastRoomTry  time.Time     // when makeRoom last tried
	lastBatch    int           // ops in the last transaction
	lockWarned   time.Duration // how long the current lock wait had lasted at its last warning
	args         []driver.NamedValue
}

func newWriter(path string, db *sql.DB, pollEvery, lockWarn time.Duration, logger *slog.Logger) *writer {
	w := &writer{
		path:      path,
		db:        db,
		lockWarn:  lockWarn,
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		changes:   make(chan struct{}, 1),
		pollEvery: pollEvery,
		logger:    logger,
		stmts:     make(map[string]driver.Stmt),
	}
	w.idle = sync.NewCond(&w.mu)
	return w
}

// start reserves the writing connection and returns once it is ready. A
// goroutine holds the connection for the writer's lifetime and, while no
// one leads, looks for other processes' commits every pollEvery.
func (w *writer) start(ctx context.Context) error {
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return err
	}
	ready := make(chan error, 1)
	go func() {
		defer close(w.done)
		defer conn.Close()
		_ = conn.Raw(func(dc any) error {
			w.conn = dc.(*sqlite3.SQLiteConn)
			// Ephemeral tables (IN lists, RETURNING rows) stay in memory
			// rather than in temporary files.
			if _, err := w.conn.Exec("PRAGMA temp_store = MEMORY", nil); err != nil {
				ready <- err
				return err
			}
			slice := fmt.Sprintf("%s = %d", sqlBusyTimeout, min(lockSlice, max(w.lockWarn, time.Millisecond)).Milliseconds())
			if _, err := w.conn.Exec(slice, nil); err != nil {
				ready <- err
				return err
			}
			if err := w.readDataVersion(); err != nil {
				ready <- err
				return err
			}
			ready <- nil
			w.poll()
			w.closeStmts()
			return nil
		})
	}()
	return <-ready
}

// poll checks data_version every pollEvery while nobody leads (a leader
// checks it between its transactions), until stop.
func (w *writer) poll() {
	ticker := time.NewTicker(w.pollEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			if w.acquire() {
				w.checkDataVersion()
				w.lead(nil, context.Background())
			}
		case <-w.quit:
			return
		}
	}
}

// acquire takes the leadership if nobody holds it.
func (w *writer) acquire() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.leading || w.closed {
		return false
	}
	w.leading = true
	return true
}

// do runs fn in the writer's next transaction and returns its error. If ctx
// ends before the writer takes the op, the op is withdrawn and never runs;
// once taken, do waits for the true outcome, so a caller never reports
// failure for something that was committed. The writer takes ops only once
// it holds the write lock, so a caller whose context ends while another
// connection holds the lock returns at once, with an error wrapping
// ErrLocked and ctx's error, and nothing written.
func (w *writer) do(ctx context.Context, multi bool, fn func(*tx) error) error {
	return w.submit(ctx, multi, false, fn)
}

// doOutsideTx runs fn on the writer's connection between transactions.
func (w *writer) doOutsideTx(ctx context.Context, fn func(*tx) error) error {
	return w.submit(ctx, false, true, fn)
}

func (w *writer) submit(ctx context.Context, multi, outside bool, fn func(*tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := opPool.Get().(*op)
	o.fn, o.multi, o.outside, o.err = fn, multi, outside, nil
	o.state.Store(opQueued)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		opPool.Put(o)
		return queuetype.ErrClosed
	}
	w.queue = append(w.queue, o)
	lead := !w.leading
	w.leading = w.leading || lead
	w.mu.Unlock()
	if !lead && !w.wait(ctx, o) {
		return w.withdrawn(ctx, w.lockedAt.Load()) // withdrawn before it ran; the leader drops it
	}
	if lead || o.state.Load() == opLead {
		if ok, lockedAt := w.lead(o, ctx); !ok {
			return w.withdrawn(ctx, lockedAt) // o was withdrawn: it is no longer ours to touch
		}
	}
	err := o.err
	o.fn = nil
	opPool.Put(o)
	return err
}

// wait blocks until o is finished or handed the leadership. It reports
// false when ctx ended first and o was withdrawn unrun.
func (w *writer) wait(ctx context.Context, o *op) bool {
	select {
	case <-o.done:
		return true
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opWithdrawn) {
			return false
		}
		<-o.done
		return true
	}
}

// withdrawn is the error of an op withdrawn because its caller's context
// ended: it says so when the writer was waiting for another connection's
// write lock.
func (w *writer) withdrawn(ctx context.Context, since int64) error {
	if since == 0 {
		return ctx.Err()
	}
	return fmt.Errorf("%w: waited %v for the write lock; nothing was written: %w", queuetype.ErrLocked,
		time.Since(time.Unix(0, since)).Round(time.Millisecond), ctx.Err())
}

// lead runs transactions for the queued ops until own (the leader's own
// op, nil for the poller) is finished, then passes the leadership to the
// next waiting caller, or releases it when nobody waits. It returns false
// when own was withdrawn because ctx ended while the writer waited for the
// lock (since lockedAt, unix nanos); own must then not be touched again.
func (w *writer) lead(own *op, ctx context.Context) (ok bool, lockedAt int64) {
	if own != nil {
		own.state.CompareAndSwap(opLead, opQueued) // an ordinary queued op again
	}
	for {
		// When the last transaction carried several ops, callers are
		// crowding in: yielding once lets the ones just woken by that commit
		// queue their next op, so the next transaction carries more of them.
		// A lone caller never waits here.
		if w.lastBatch > 1 {
			runtime.Gosched()
		}
		began, beginErr, leave := w.lock(own, ctx)
		if leave == leaveWithdrawn {
			lockedAt := w.lockedAt.Load()
			w.handOff() // the next waiting caller goes on waiting for the lock
			return false, lockedAt
		}
		if leave == leaveClosing {
			break
		}
		batch := w.take(began || beginErr != nil)
		w.lastBatch = len(batch)
		if len(batch) > 0 || began {
			w.runCollected(batch, began, beginErr)
		}
		if time.Since(w.versionCheck) >= w.pollEvery {
			w.checkDataVersion()
		}
		if own == nil || own.state.Load() == opTaken {
			break
		}
	}
	w.handOff()
	if own != nil {
		<-own.done // the finished signal it sent itself, or stop's ErrClosed
	}
	return true, 0
}

// Why lock tells the leader to leave.
const (
	leaveNot       = iota
	leaveWithdrawn // the leader's own op was withdrawn: its caller's context ended
	leaveClosing   // the writer is stopping
)

// lock begins the next transaction when a queued op needs one, waiting for
// another connection's write lock in slices of lockSlice. Between slices it
// withdraws own if ctx has ended, gives up when no queued op needs the
// transaction any more (their callers withdrew) or when the writer stops.
// It reports whether a transaction was begun, or the error that kept it
// from beginning (to be reported to the ops), and whether to leave.
func (w *writer) lock(own *op, ctx context.Context) (began bool, err error, leave int) {
	for w.needsTx() {
		// The wait begins with the first try (maybe under a previous leader
		// whose caller withdrew): a BEGIN that does not return at once is
		// waiting inside SQLite for another connection's lock.
		w.lockedAt.CompareAndSwap(0, time.Now().UnixNano())
		err = w.execNoArgs(sqlBegin)
		if err == nil || !isBusy(err) {
			w.endLockWait()
			return err == nil, err, leaveNot
		}
		since := time.Unix(0, w.lockedAt.Load())
		if waited := time.Since(since); waited-w.lockWarned >= w.lockWarn {
			w.lockWarned = waited // a lock held this long deserves an operator's look
			w.logger.Warn("write lock held by another connection or process; waiting", "path", w.path,
				"waited", waited.Round(time.Millisecond), "err", err)
		}
		if w.closing.Load() {
			return false, nil, leaveClosing
		}
		if own != nil && ctx.Err() != nil && own.state.CompareAndSwap(opQueued, opWithdrawn) {
			return false, nil, leaveWithdrawn
		}
		t := time.NewTimer(lockPause)
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-w.quit:
		}
		t.Stop()
	}
	w.endLockWait() // nobody waits any more
	return false, nil, leaveNot
}

// endLockWait records that the writer no longer waits for the lock.
func (w *writer) endLockWait() {
	w.lockedAt.Store(0)
	w.lockWarned = 0
}

// needsTx reports whether a queued op waits for a transaction.
func (w *writer) needsTx() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range w.queue[:min(len(w.queue), maxOpsPerTx)] {
		if !o.outside && o.state.Load() == opQueued {
			return true
		}
	}
	return false
}

// take removes up to maxOpsPerTx ops from the queue, dropping withdrawn
// ones. Without a transaction (inTx false) it takes only the ops that run
// outside one: the others stay queued (and withdrawable) until lock has
// begun one.
func (w *writer) take(inTx bool) []*op {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(len(w.queue), maxOpsPerTx)
	batch := make([]*op, 0, n)
	kept := 0
	for _, o := range w.queue[:n] {
		switch {
		case !inTx && !o.outside && o.state.Load() == opQueued:
			w.queue[kept] = o // waits for the next transaction
			kept++
		case o.state.CompareAndSwap(opQueued, opTaken):
			batch = append(batch, o)
		default:
			opPool.Put(o) // withdrawn: its caller has gone
		}
	}
	w.queue = append(w.queue[:kept], w.queue[n:]...)
	return batch
}

// handOff gives the leadership to the first waiting caller, or releases it.
func (w *writer) handOff() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.queue) > 0 && !w.closed {
		o := w.queue[0]
		if o.state.CompareAndSwap(opQueued, opLead) {
			o.done <- struct{}{}
			return
		}
		w.queue = w.queue[1:] // withdrawn
		opPool.Put(o)
	}
	w.endLockWait() // nobody goes on waiting for the lock
	w.leading = false
	w.idle.Broadcast()
}

// runCollected commits the transactional ops together (in the transaction
// lock began, or failing with the error that kept it from beginning), then
// runs the ops that must run outside a transaction one by one.
func (w *writer) runCollected(batch []*op, began bool, beginErr error) {
	if !slices.ContainsFunc(batch, func(o *op) bool { return o.outside }) {
		w.commit(batch, began, beginErr)
		return
	}
	var inTx, outside []*op
	for _, o := range batch {
		if o.outside {
			outside = append(outside, o)
		} else {
			inTx = append(inTx, o)
		}
	}
	if len(inTx) > 0 || began {
		w.commit(inTx, began, beginErr)
	}
	for _, o := range outside {
		o.err = o.fn(&tx{w: w})
		o.done <- struct{}{}
	}
}

// commit runs a batch of ops in one transaction. An op that fails alone (a
// duplicate id) is rolled back to its savepoint and fails alone; a failure of
// the transaction itself (disk full, I/O error) fails every op in it, so no
// caller is told "done" for something that was not committed. The first
// transaction was begun by lock (began), or failed to begin with beginErr;
// a busy error after it began (which WAL mode makes all but impossible) is
// retried.
func (w *writer) commit(batch []*op, began bool, beginErr error) {
	madeRoom := false
	for try := 0; ; try++ {
		var err error
		switch {
		case try > 0:
			err = w.execNoArgs(sqlBegin)
		case !began:
			err = beginErr
		}
		if err == nil {
			err = w.runBatch(batch)
		}
		if err == nil {
			err = w.execNoArgs(sqlCommit)
		}
		if err == nil {
			w.commits.Add(1)
			w.committed.Add(int64(len(batch))) // WriteOps (helper obs)
			if w.lowSpace {
				w.makeRoom(true) // space came back: empty the log before it eats it again
			}
			break
		}
		if !w.conn.AutoCommit() {
			_ = w.execNoArgs(sqlRollback)
		}
		if isBusy(err) {
			level := slog.LevelDebug
			if try >= 3 {
				level = slog.LevelWarn // a lock held this long deserves an operator's look
			}
			w.logger.Log(context.Background(), level, "write lock busy, retrying", "path", w.path, "try", try, "err", err)
			time.Sleep(busyBackoff(try))
			continue
		}
		if isFull(err) {
			w.shortOfSpace()
			if !madeRoom && w.makeRoom(false) {
				madeRoom = true // the log was emptied: the batch may fit now
				continue
			}
		}
		for _, o := range batch {
			o.err = err
		}
		break
	}
	for _, o := range batch {
		o.done <- struct{}{}
	}
}

// runBatch runs each op; it returns an error only when the transaction as a
// whole is lost.
func (w *writer) runBatch(batch []*op) error {
	for _, o := range batch {
		o.err = w.runOp(o)
		if o.err != nil && w.conn.AutoCommit() {
			return o.err // SQLite rolled the whole transaction back
		}
		if isBusy(o.err) {
			return o.err
		}
	}
	return nil
}

func (w *writer) runOp(o *op) error {
	t := &tx{w: w}
	if !o.multi {
		return o.fn(t)
	}
	if err := w.execNoArgs(sqlSavepoint); err != nil {
		return err
	}
	if err := o.fn(t); err != nil {
		if !w.conn.AutoCommit() {
			_ = w.execNoArgs(sqlRollbackTo)
			_ = w.execNoArgs(sqlRelease)
		}
		return err
	}
	return w.execNoArgs(sqlRelease)
}

// makeRoomEvery spaces the writer's tries to make room after failed writes,
// so a disk that stays full is not hammered with checkpoints.
const makeRoomEvery = 250 * time.Millisecond

// smallLogPages is the automatic checkpoint threshold once the disk has been
// full: the write-ahead log is then checkpointed (and reused from its start)
// every 64 pages (256 KB) instead of SQLite's default of 1000 (4 MB).
const smallLogPages = 64

// shortOfSpace is called when a write failed because the disk is full. The
// log grows until a checkpoint lets it be reused, and the automatic
// checkpoint waits for 1000 pages (about 4 MB): with less room than that on
// the disk, the log would eat whatever space is freed and fail again. So
// from the first full disk on (until the file is reopened) the writer
// checkpoints every smallLogPages pages, and it empties the log (makeRoom)
// as soon as it can.
func (w *writer) shortOfSpace() {
	w.lowSpace = true
	if w.smallLog {
		return
	}
	if err := (&tx{w: w}).drain(fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", smallLogPages)); err != nil {
		w.logger.Debug("lower the checkpoint threshold", "path", w.path, "err", err)
		return
	}
	w.smallLog = true
	w.logger.Warn("disk full: checkpointing the write-ahead log more often from now on", "path", w.path, "pages", smallLogPages)
}

// makeRoom checkpoints the write-ahead log into the database and truncates
// it, giving the log's space back. The checkpoint itself needs room to grow
// the database file, so on a disk that is still full it fails and changes
// nothing. The writer tries at once after a failed write (the failed
// transaction gets one more try if the log was emptied), then after every
// commit that succeeds while space is short (afterCommit), until a
// checkpoint succeeds: as soon as some space is freed, the log is emptied
// before new commits eat that space again. A truncating checkpoint has to
// wait for readers (of any process) to leave the log, so it runs with no
// busy timeout: it never stalls the writer, it just tries again later. It
// reports whether the log was emptied.
func (w *writer) makeRoom(afterCommit bool) bool {
	if !afterCommit && time.Since(w.lastRoomTry) < makeRoomEvery {
		return false
	}
	w.lastRoomTry = time.Now()
	t := &tx{w: w}
	timeout, _, err := t.queryInt(sqlBusyTimeout)
	if err == nil {
		err = t.drain(sqlBusyTimeout + " = 0")
	}
	if err != nil {
		w.logger.Debug("checkpoint to make room", "path", w.path, "err", err)
		return false
	}
	defer func() {
		if err := t.drain(fmt.Sprintf("%s = %d", sqlBusyTimeout, timeout)); err != nil {
			w.logger.Warn("restore the busy timeout", "path", w.path, "err", err)
		}
	}()
	busy, _, err := t.queryInt(sqlCheckpoint) // busy, log frames, checkpointed frames
	if err != nil || busy != 0 {
		w.logger.Debug("checkpoint to make room failed", "path", w.path, "busy", busy, "err", err)
		return false
	}
	w.lowSpace = false
	w.logger.Warn("disk was full: emptied the write-ahead log to make room", "path", w.path)
	return true
}

// sqlBusyTimeout reads (or, with " = ms", sets) the connection's busy timeout.
const sqlBusyTimeout = `PRAGMA busy_timeout`

func busyBackoff(try int) time.Duration {
	d := time.Millisecond << min(try, 7)
	return d
}

// checkDataVersion signals a change when another connection (another process,
// or the application's own transaction) has committed to the file since the
// last look. PRAGMA data_version on the writer's own connection does not move
// for the writer's own commits, so the signal means "someone else wrote".
func (w *writer) checkDataVersion() {
	w.versionCheck = time.Now()
	old := w.dataVersion
	if err := w.readDataVersion(); err != nil {
		w.logger.Warn("read data_version", "path", w.path, "err", err)
		return
	}
	if w.dataVersion != old {
		select {
		case w.changes <- struct{}{}:
		default:
		}
	}
}

func (w *writer) readDataVersion() error {
	rows, err := w.query(sqlDataVersion)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]driver.Value, 1)
	if err := rows.Next(vals); err != nil {
		return err
	}
	w.dataVersion, _ = vals[0].(int64)
	return nil
}

// stmt returns the prepared statement for query, preparing it once.
func (w *writer) stmt(query string) (driver.Stmt, error) {
	if s, ok := w.stmts[query]; ok {
		return s, nil
	}
	s, err := w.conn.Prepare(query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	w.stmts[query] = s
	return s, nil
}

func (w *writer) closeStmts() {
	for q, s := range w.stmts {
		_ = s.Close()
		delete(w.stmts, q)
	}
}

func (w *writer) execNoArgs(query string) error {
	_, err := w.exec(query)
	return err
}

func (w *writer) exec(query string, args ...any) (driver.Result, error) {
	s, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.(driver.StmtExecContext).ExecContext(context.Background(), w.named(args))
}

func (w *writer) query(query string, args ...any) (driver.Rows, error) {
	s, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.(driver.StmtQueryContext).QueryContext(context.Background(), w.named(args))
}

// named converts arguments into the writer's reusable buffer. The driver
// copies them while binding, so the buffer can be reused by the next call.
func (w *writer) named(args []any) []driver.NamedValue {
	w.args = w.args[:0]
	for i, a := range args {
		w.args = append(w.args, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	return w.args
}

// stop waits for the transaction in progress (but not for another
// connection's lock), fails the ops still queued with ErrClosed, and
// releases the connection.
func (w *writer) stop() {
	w.closing.Store(true)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return
	}
	w.closed = true
	for w.leading {
		w.idle.Wait()
	}
	for _, o := range w.queue {
		if o.state.CompareAndSwap(opQueued, opTaken) {
			o.err = queuetype.ErrClosed
			o.done <- struct{}{}
		}
	}
	w.queue = nil
	w.mu.Unlock()
	close(w.quit)
	<-w.done
}

// tx is what an op's function sees: the writer's connection inside the
// current transaction.
type tx struct{ w *writer }

func (t *tx) exec(query string, args ...any) (driver.Result, error) {
	return t.w.exec(query, args...)
}

// drain runs a statement that may return rows (a PRAGMA) to completion and
// discards the rows. A row-returning statement left unfinished would keep
// the transaction from committing ("SQL statements in progress").
func (t *tx) drain(query string, args ...any) error {
	rows, err := t.w.query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(vals); err != nil {
			if errors.Is(err, errEOF) {
				return nil
			}
			return err
		}
	}
}

// queryMessages runs a row-returning statement and decodes every row. A row
// with bad columns comes back as far as it reads (see decodeMessage): the
// statement has already changed it, so failing the whole call would hide
// what was done.
func (t *tx) queryMessages(query string, args ...any) ([]*queuetype.Message, error) {
	var out []*queuetype.Message
	err := t.eachRow(query, args, func(m *queuetype.Message, _ error) { out = append(out, m) })
	return out, err
}

// queryInt runs a one-value query; ok is false when the value is NULL.
func (t *tx) queryInt(query string, args ...any) (int64, bool, error) {
	rows, err := t.w.query(query, args...)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	vals := make([]driver.Value, 1)
	if err := rows.Next(vals); err != nil {
		if errors.Is(err, errEOF) {
			return 0, false, nil
		}
		return 0, false, err
	}
	v, ok := vals[0].(int64)
	return v, ok, nil
}
