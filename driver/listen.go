package driver

import (
	"context"
	"time"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// ListenStore is the storage of listen data: a key/value store with a
// change log and durable cursors for listener groups. A backend that
// implements it on its first shard supports listeners.
//
// Seqs and visibility. Each logged change gets a seq, strictly greater than
// every seq logged before it on the store (from any handle, process or
// host) and never reused, even after pruning; a rolled-back write leaves a
// gap, so seqs are increasing, not dense. Listener groups follow a cursor:
// "every change with seq <= cursor is handled", and they read with
// ListenChanges(cursor). That is sound only if changes become visible in
// seq order: once a reader on any handle can see seq N, every change with a
// lower seq is either visible too or will never exist. A backend must
// therefore serialise its appends to the log from allocating the seq to
// commit (on a database with concurrent writers, seq 11 must not commit
// before seq 10, or a cursor moves past 10 and that change is never
// delivered). SQLite does so by its single write lock: the seq is taken
// inside the write transaction, and no other transaction can write, from
// this or another process, before it commits or rolls back. A backend with
// concurrent writers takes a lock on the log (for example a row or advisory
// lock held until commit) in SetListen and SetListenTx alike. The
// conformance suite checks it across handles (TwoHandles/
// ListenChangesBecomeVisibleInSeqOrder).
type ListenStore interface {
	// SetListen writes (or, with a nil Value, deletes) a key. When the value
	// really changes and at least one listener group exists, the change is
	// logged in the same transaction. It returns the change, or nil when
	// the value was equal (nothing is written).
	SetListen(ctx context.Context, p SetListenParams) (*queuetype.Change, error)
	// SetListenTx does the same inside the caller's transaction.
	SetListenTx(ctx context.Context, tx Tx, p SetListenParams) (*queuetype.Change, error)
	// GetListen returns one key, or ErrNotFound.
	GetListen(ctx context.Context, key string) (*queuetype.ListenEntry, error)
	// ListListen returns the keys starting with prefix, in key order.
	ListListen(ctx context.Context, prefix string) ([]*queuetype.ListenEntry, error)

	// ListenChanges returns logged changes with seq > after, in seq order:
	// only committed ones, and (see the type's doc) never a seq whose lower
	// seqs could still appear.
	ListenChanges(ctx context.Context, after int64, limit int) ([]*queuetype.Change, error)
	// ListenHead returns the first and last seq in the change log (0, 0 when empty).
	ListenHead(ctx context.Context) (first, last int64, err error)

	// ClaimListenGroup creates the group if needed (its cursor starting at
	// the newest change) and leases it to Owner when nobody holds it or its
	// holder is in p.Dead (or in p.Ownerless with its lease time passed). It
	// returns the group's cursor and whether it is now held.
	ClaimListenGroup(ctx context.Context, p ListenLeaseParams) (cursor int64, held bool, err error)
	// AdvanceListenGroup moves the cursor forward to Seq (never back) and
	// renews the lease; held is false when Owner no longer holds it.
	AdvanceListenGroup(ctx context.Context, p ListenLeaseParams) (held bool, err error)
	// ReleaseListenGroup gives up Owner's lease on the group.
	ReleaseListenGroup(ctx context.Context, group, owner string) error
	// DropListenGroup deletes a group's cursor, so the change log no longer
	// waits for it.
	DropListenGroup(ctx context.Context, group string) error
	// RecordListenFailure notes a change a listener gave up on.
	RecordListenFailure(ctx context.Context, f ListenFailure) error
	// PruneListenChanges deletes changes every group is past, changes older
	// than Before, and all but the newest Keep changes.
	PruneListenChanges(ctx context.Context, p PruneParams) (int, error)
	// ListenGroups describes every listener group.
	ListenGroups(ctx context.Context) ([]ListenGroup, error)
}

// SetListenParams sets (Value non-nil) or deletes (Value nil) a key.
type SetListenParams struct {
	Key   string
	Value *queuetype.Value
	Now   time.Time
}

// ListenLeaseParams identifies a listener group's lease.
type ListenLeaseParams struct {
	Group string
	Owner string
	Seq   int64 // for Advance: the new cursor
	Now   time.Time
	Until time.Time // stored for display; a live holder keeps the group whatever the clocks say
	// Dead and Ownerless (Claim only) are the owners judged dead, as in
	// MaintainParams: the group may be taken from them.
	Dead      []string
	Ownerless []string
}

// ListenFailure is a change a listener gave up on.
type ListenFailure struct {
	Group, Listener, Key string
	Seq                  int64
	Attempts             int
	Error                string
	Now                  time.Time
}

// PruneParams bounds the change log.
type PruneParams struct {
	Before time.Time // delete changes older than this
	Keep   int       // keep at most this many of the newest changes
}

// ListenGroup describes one listener group.
type ListenGroup struct {
	Name       string
	Cursor     int64
	LeaseOwner string
	LeaseUntil time.Time
	Failures   int
}
