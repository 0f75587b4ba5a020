// Package driver defines the storage interface behind the queue. It is an
// internal-facing contract: the queue calls it, storage backends implement it,
// and the conformance suite in drivertest checks every backend against it.
// Application code uses package queuesqlite instead.
//
// The interface is shaped around batches, because the queue claims,
// completes and renews leases for many messages at once. One Driver serves one
// storage shard; a sharded queue holds one Driver per shard.
//
// Drivers never read a clock: every time they compare or store comes in the
// params, so one clock (the real one, or a test's) rules the whole queue. A
// backend whose instances run on several hosts offers that clock itself, by
// implementing Clock: the queue then reads the time from the database.
//
// Several handles (processes, hosts) may open one store at once. What one
// commits is visible to every other once the call returns, a message is
// leased to one claim at a time whichever handle claims, fencing holds
// across handles, and Changes fires for commits made through any other
// handle. The conformance suite checks all of it with two handles
// (drivertest, TwoHandles).
package driver

import (
	"context"
	"database/sql"
	"time"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Message is the row type every driver reads and writes.
type Message = queuetype.Message

// Status is a message status.
type Status = queuetype.Status

// Driver is one storage shard of a queue. All methods are safe for
// concurrent use. Errors wrap the queuetype sentinels where one applies
// (ErrNotFound, ErrDuplicate, ErrStorageFull, ErrCorrupt, ErrClosed).
type Driver interface {
	// Insert stores new messages, all or none. IDs must be set; each message's
	// Seq is filled in.
	Insert(ctx context.Context, p InsertParams) error
	// InsertTx stores new messages inside the caller's transaction on this
	// shard's database; they exist if and only if that transaction commits.
	// A transaction of another database fails with ErrForeignTx, and one
	// of a type the driver cannot use with ErrInvalidArgument.
	InsertTx(ctx context.Context, tx Tx, p InsertParams) error

	// Claim takes up to Max ready messages for the given destinations, highest
	// priority first and in send order within a priority, leases them to
	// Owner and counts an attempt. Ready messages whose expire time has passed
	// are not run: they come back with StatusExpired. A claimed row that
	// cannot be decoded is failed at once, alone (its attempt counted), and
	// comes back with StatusFailed and a LastError naming what is wrong.
	// Returned messages are in claim order.
	Claim(ctx context.Context, p ClaimParams) ([]*Message, error)
	// Head reports the highest priority among ready messages for the given
	// destinations, and false when there are none. It does not write.
	Head(ctx context.Context, destinations []string) (queuetype.Priority, bool, error)
	// Complete records the outcomes of attempts. Each outcome is applied only
	// if its attempt still holds the lease (fencing); Applied reports which.
	Complete(ctx context.Context, cs []*Completion) error
	// ExtendLeases renews Owner's leases on the given attempts (seq and
	// attempt number) and returns the seqs it still holds; a missing seq
	// means that attempt lost its lease.
	ExtendLeases(ctx context.Context, p LeaseParams) ([]int64, error)

	// BeatOwner records that the lease owner is alive: it creates the
	// owner's liveness row or bumps its beat counter.
	BeatOwner(ctx context.Context, p OwnerParams) error
	// RetireOwner marks the owner as stopped cleanly, so whatever it still
	// leases is rescued at once.
	RetireOwner(ctx context.Context, owner string) error
	// Owners reports every owner's liveness row, and (with NoRow set) the
	// owners that hold a lease but have no row.
	Owners(ctx context.Context) ([]OwnerState, error)

	// Rescue returns the messages leased to the dead owners in p (their
	// worker died, froze or stopped) to pending with the attempt counted, or
	// fails them when attempts are used up, frees the listener groups they
	// hold, and forgets dead owners that hold nothing any more. It returns the rescued messages with their new
	// status. It never compares the lease time of an owner with a row.
	Rescue(ctx context.Context, p MaintainParams) ([]*Message, error)
	// Promote makes scheduled and retrying messages whose run time has come
	// ready, and returns how many it promoted.
	Promote(ctx context.Context, p MaintainParams) (int, error)
	// NextDue returns the earliest run time among scheduled and retrying
	// messages, and false when there are none.
	NextDue(ctx context.Context) (time.Time, bool, error)
	// Expire moves messages not yet started whose expire time has passed to
	// expired and returns them.
	Expire(ctx context.Context, p MaintainParams) ([]*Message, error)
	// Cleanup deletes terminal messages that finished before the cut-off of
	// their status, then gives the freed space back to the file system.
	Cleanup(ctx context.Context, p CleanupParams) (CleanupResult, error)

	// Get returns one message by id, or ErrNotFound.
	Get(ctx context.Context, id string) (*Message, error)
	// List returns messages matching p in send order.
	List(ctx context.Context, p ListParams) ([]*Message, error)
	// Cancel moves a pending, scheduled or retrying message to cancelled.
	// ErrInvalidState when it is running or finished, ErrNotFound when absent.
	Cancel(ctx context.Context, p ChangeParams) (*Message, error)
	// Requeue makes a failed, expired or cancelled message pending again with
	// its attempts reset. ErrInvalidState for any other status.
	Requeue(ctx context.Context, p ChangeParams) (*Message, error)

	// Finished returns terminal messages whose callback belongs to Owner.
	Finished(ctx context.Context, owner string, limit int) ([]*Message, error)
	// AckCallbacks records that the callbacks of these messages have fired.
	AckCallbacks(ctx context.Context, seqs []int64) error

	// Stats counts messages per destination and status.
	Stats(ctx context.Context) (*Stats, error)
	// Meta reads a value of the shard's key/value metadata.
	Meta(ctx context.Context, key string) (string, bool, error)
	// SetMeta writes a value of the shard's key/value metadata.
	SetMeta(ctx context.Context, key, value string) error
	// Check runs an integrity check of the storage; nil when sound.
	Check(ctx context.Context) error

	// Changes signals (coalesced) when another connection or process has
	// changed the shard, so the queue can look for new work or results. A
	// driver that also implements TopicWatcher says what changed instead;
	// the queue then does not read Changes.
	Changes() <-chan struct{}
	// Close releases the shard. Calls after Close fail with ErrClosed.
	Close() error
}

// Clock is implemented by a backend whose database gives the time: the
// time leases and schedules are compared in. A multi-host backend (several
// hosts sharing one database, each with its own clock) implements it, so
// every instance stores and compares times of one clock; the queue then
// takes the times it passes in the params from Now instead of its own
// clock (Config.Clock, when set, still wins, for tests). Readings must not
// go back, from one handle or across handles on one store. A one-host
// backend such as SQLite does not implement it: its instances share the
// host's clock.
type Clock interface {
	// Now returns the database's current time.
	Now(ctx context.Context) (time.Time, error)
}

// Tx is an application's transaction handed through the queue to the
// driver (SendTx, SetListenDataTx). Every backend accepts a *sql.Tx begun
// on its database; a backend may accept its native transaction type as well
// (the PostgreSQL driver takes a pgx.Tx). A value of a type the driver
// cannot use fails with ErrInvalidArgument, a transaction on another
// database with ErrForeignTx: the driver checks, inside the transaction,
// that it runs on the driver's own store, before it writes anything.
type Tx = any

// ErrForeignTx is returned for a transaction that belongs to another
// database than the driver's store.
var ErrForeignTx = queuetype.ErrForeignTx

// AppDB is implemented by drivers that hand out a database/sql pool on
// their store, for the application's own tables: a transaction begun on it
// is a Tx the driver accepts.
type AppDB interface {
	AppDB() (*sql.DB, error)
}

// TxRunner is implemented by drivers that run an application transaction
// on their store themselves (for example waiting for a busy single-writer
// file without failing): fn's transaction commits when fn returns nil.
type TxRunner interface {
	InAppTx(ctx context.Context, fn func(*sql.Tx) error) error
}

// WriteCounter is implemented by drivers that count their write
// transactions (SQLite's group commit), for Queue.WriteTransactions.
type WriteCounter interface {
	// WriteTransactions returns the write transactions committed since open.
	WriteTransactions() int64
	// WriteOps returns the storage calls those transactions carried.
	WriteOps() int64
}

// TopicKind says what a change signal is about.
type TopicKind uint8

// The topics of change signals.
const (
	// TopicAny means "something changed": every waiter looks.
	TopicAny TopicKind = iota
	// TopicWork: messages became ready; Key is their destination.
	TopicWork
	// TopicFinished: messages reached a terminal status; Key is their
	// callback owner ("" for messages without one).
	TopicFinished
	// TopicListen: listen data changed (a change was logged); Key is "".
	TopicListen
)

// Topic names what a change signal is about. A Key of "" in a signal
// matches every key of its kind.
type Topic struct {
	Kind TopicKind
	Key  string
}

// TopicWatcher is implemented by drivers that know what other handles
// changed (PostgreSQL's LISTEN/NOTIFY), so each waiter of the queue wakes
// only for its own kind of change, not for every write of every host.
//
// Contract: after a commit through any handle that makes messages ready
// (insert, promote, requeue, rescue, a retry or release), the watchers of
// every other handle get a TopicWork signal for each destination touched;
// after one that finishes messages, a TopicFinished signal for each
// callback owner touched; after a listen change, a TopicListen signal.
// Signals may coalesce, and a Key of "" may stand for any key of its kind;
// a signal with a Key names a destination or owner a commit touched. A
// signal never arrives before its commit is visible, and the signals of
// one handle's commits arrive in commit order. The conformance suite
// checks this with two handles (drivertest, Topics).
//
// A handle that cannot tell topics in its configuration (PostgreSQL
// behind a pooler without LISTEN) reports false from TellsTopics; the
// queue then reads Changes instead, as for a driver without topics.
type TopicWatcher interface {
	// TellsTopics reports whether WatchTopics delivers the topics above.
	TellsTopics() bool
	// WatchTopics calls fn with each signal until ctx ends. It returns
	// when ctx ends. fn must not block.
	WatchTopics(ctx context.Context, fn func(Topic))
}

// InsertParams holds messages to insert. Every message must have its ID,
// Status (pending or scheduled) and times set.
type InsertParams struct {
	Messages []*Message
	// CallbackOwners, when not nil, is parallel to Messages: the instance
	// that waits for each message's callback, or "" for none.
	CallbackOwners []string
	// MaxAttemptsDefault is stored for messages whose MaxAttempts is 0, as
	// a stand-in marked unset: the claim that first takes such a message
	// replaces it with ClaimParams.MaxAttempts of its destination (reads
	// return the stand-in until then). Required when a message has no
	// MaxAttempts.
	MaxAttemptsDefault int
}

// ClaimParams selects and leases ready messages.
type ClaimParams struct {
	Destinations []string  // handler names this worker serves; required
	Max          int       // at most this many
	Owner        string    // the lease owner
	Now          time.Time // the claim time; messages expired by then are expired, not claimed
	LeaseUntil   time.Time // when the new leases run out unless renewed
	Me           string    // this instance's callback owner id
	// MaxAttempts, parallel to Destinations, is each destination's handler
	// MaxAttempts. A claimed message sent without MaxAttempts takes it (and
	// keeps it from then on); nil or 0 keeps the sender's MaxAttemptsDefault.
	MaxAttempts []int
	// Limits, parallel to Destinations when not nil, bounds how much of
	// each destination the claim may take across every handle (see
	// Limiter); a zero ClaimLimit bounds nothing.
	Limits []ClaimLimit
	// QueueLimit, when its Concurrency is above 0, bounds the claim as a
	// whole: the processing messages of its destinations across every
	// handle, with those the claim takes, stay within it (see Limiter).
	QueueLimit QueueLimit
}

// Completion is the outcome of one attempt, to be recorded if the attempt
// still holds its lease.
type Completion struct {
	Seq     int64  // the message's seq (from the claim)
	Attempt int    // the attempt number the worker ran
	Owner   string // the lease owner that ran it

	Status Status    // completed, failed, retrying, scheduled (snooze) or pending (released)
	Result []byte    // the JSON result, for completed
	Error  string    // the error text, for failed and retrying; "" keeps the previous one
	RunAt  time.Time // for retrying and scheduled: when to run again
	// Uncharge gives the attempt back (snooze, release on shutdown).
	Uncharge bool
	Now      time.Time
	Me       string // this instance's callback owner id

	Applied bool // out: false when the attempt had lost its lease
}

// LeaseParams renews leases.
type LeaseParams struct {
	Owner string
	Seqs  []int64
	// Attempts is parallel to Seqs: the attempt number each lease was
	// claimed for. A lease is renewed only when seq, owner and attempt all
	// match, so an attempt whose message was rescued and claimed again (even
	// by the same owner) learns it lost its lease.
	Attempts []int
	Until    time.Time // stored for display; no rescue compares it
}

// OwnerParams identifies a live lease owner.
type OwnerParams struct {
	Owner string
	Lease time.Duration // the owner beats at least once per Lease
	Now   time.Time     // stored for display only
}

// OwnerState is one lease owner's liveness as stored.
type OwnerState struct {
	Owner string
	Beats int64         // bumped by every heartbeat
	Lease time.Duration // the owner's lease
	Gone  bool          // stopped cleanly
	// NoRow: the owner holds a message or listener-group lease but has no
	// liveness row (a file written by an older version, or a row already
	// forgotten). Beats, Lease and Gone are zero.
	NoRow bool
}

// MaintainParams bounds a maintenance pass.
type MaintainParams struct {
	Now   time.Time
	Limit int
	Me    string // this instance's callback owner id
	// Dead (Rescue only) names the owners judged dead: their leases are
	// rescued whatever their stored lease time.
	Dead []string
	// Ownerless (Rescue only) names owners without a liveness row that were
	// watched for a lease: their leases are rescued once the stored lease
	// time has passed Now as well.
	Ownerless []string
}

// CleanupParams says which finished messages to delete: those with a status
// in Before that finished before its cut-off.
type CleanupParams struct {
	Before    map[Status]time.Time
	BatchSize int // rows per delete transaction; 0 = driver default
}

// CleanupResult reports what Cleanup did.
type CleanupResult struct {
	Deleted    int   // rows deleted
	BytesFreed int64 // bytes given back to the file system
}

// ListParams filters List.
type ListParams struct {
	Statuses    []Status // any of these; nil = all
	Destination string   // "" = all
	AfterSeq    int64    // for paging: only seq > AfterSeq
	Limit       int      // 0 = driver default (100)
	// Tag, when not "", keeps only messages carrying this tag.
	Tag string
	// CreatedFrom and CreatedBefore, when not zero, keep only messages
	// created at or after CreatedFrom and before CreatedBefore.
	CreatedFrom, CreatedBefore time.Time
}

// ChangeParams identifies a message to change.
type ChangeParams struct {
	ID  string
	Now time.Time
	Me  string // this instance's callback owner id
}

// Stats counts one shard's messages.
type Stats struct {
	// Counts maps destination -> status -> number of messages.
	Counts map[string]map[Status]int
	// OldestPending is the creation time of the oldest ready message (zero
	// when none is pending).
	OldestPending time.Time
}

// Route says which shard holds a message stored outside its id's home shard
// (the shard its id alone would route to). Routes make ids unique per queue:
// the home shard holds an id either as a message or as a route, never both.
type Route struct {
	ID    string
	Shard int       // the shard holding the message
	At    time.Time // when the route was written or last renewed
	Token int64     // identifies this write; a renewal changes it
	// Created is set by PutRoutes: true when the route is new, false when
	// an equal route (same shard) was there and has been renewed.
	Created bool
}

// Router is implemented by the drivers of a sharded queue: the id routes
// kept in each home shard. A queue over drivers that do not implement it
// keeps ids unique per shard only.
type Router interface {
	// PutRoutes records routes in this, their home, shard: all or none. A
	// route equal in shard to one already recorded renews it (At, Token);
	// a route to another shard, or an id stored here as a message, fails
	// with ErrDuplicate.
	PutRoutes(ctx context.Context, routes []*Route) error
	// DropRoutes deletes the routes whose id and token both match (one
	// renewed since is kept) and returns how many it deleted.
	DropRoutes(ctx context.Context, routes []*Route) (int, error)
	// Route returns the route of id, and false when there is none.
	Route(ctx context.Context, id string) (*Route, bool, error)
	// OldRoutes returns up to limit routes written before the cut-off, in
	// (At, ID) order, after the route given by afterAt and afterID.
	OldRoutes(ctx context.Context, before, afterAt time.Time, afterID string, limit int) ([]*Route, error)
	// StoredIDs returns which of ids are stored in this shard as messages.
	StoredIDs(ctx context.Context, ids []string) (map[string]bool, error)
}

// Elector is implemented by drivers that hold leader elections, so that the
// maintenance shared by every process on one store (rescue, expiry,
// cleanup, change-log pruning) runs in one process at a time. A queue over
// a driver without it runs that maintenance in every process (it is
// idempotent, only wasteful). A sharded queue elects on its first shard.
//
// A leader row names one lease owner (see BeatOwner). Leadership lasts as
// long as that owner lives: no lease time is stored or compared, because the
// clocks of different processes need not agree. A candidate takes over
// only from a leader that is dead by the same judgment that rescues its
// messages: the caller names the owners it judges dead (their beat counter
// stood still for one of their leases on the caller's monotonic clock, see
// package liveness), and the driver also treats as dead an owner that
// retired (RetireOwner) or has no liveness row at all. An owner must
// therefore beat before it campaigns and for as long as it leads.
//
// Leadership is an economy, not a fence: for a short while after a frozen
// leader wakes, two processes may both believe they lead, so the duties
// the leader runs must stay idempotent.
type Elector interface {
	// Elect campaigns for the election p.Name on behalf of p.Owner: it
	// takes the seat when it is empty or its holder is dead (p.Dead,
	// retired or without a liveness row), keeps it when p.Owner holds it
	// already, and otherwise leaves it alone. It returns who holds the
	// seat afterwards; p.Owner won when the returned Owner is p.Owner.
	Elect(ctx context.Context, p ElectParams) (LeaderState, error)
	// Resign gives up the seat of election name if owner holds it, so the
	// next candidate takes it at once (and its term follows on). Resigning
	// a seat held by another owner changes nothing.
	Resign(ctx context.Context, name, owner string) error
	// Leader reports who holds the seat of election name, and false when
	// it is empty.
	Leader(ctx context.Context, name string) (LeaderState, bool, error)
}

// ElectParams is one campaign.
type ElectParams struct {
	Name  string    // the election (one seat per name)
	Owner string    // the candidate: a lease owner that beats
	Dead  []string  // owners the caller judges dead: their seat may be taken
	Now   time.Time // stored as the time the seat changed hands, for display only
}

// LeaderState is the holder of an election's seat.
type LeaderState struct {
	Owner string    // the lease owner that leads
	Term  int64     // 1 for the first holder, bumped each time the seat changes hands
	Since time.Time // when the holder took the seat (its own clock; display only)
}
