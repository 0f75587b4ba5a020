package sqlite

// Message statuses as SQL literals, for building the statements in sql.go
// (each equals the number of its queuetype.Status; status_test.go checks).
// Write `status = ` + stProcessing + ` AND ...`, never a bare number. They
// stay literals in the SQL text, not bound parameters: the partial indexes
// of migration 0001 (WHERE status = 0, IN (4, 7), ...) are used only by a
// query whose WHERE names the same literal values.
const (
	stPending    = "0"
	stProcessing = "1"
	stCompleted  = "2"
	stFailed     = "3"
	stRetrying   = "4"
	stExpired    = "5"
	stCancelled  = "6"
	stScheduled  = "7"
)

// Sets of statuses, for `status IN (` + set + `)`.
const (
	// stTimed: waiting for their run time (Promote makes them ready).
	stTimed = stRetrying + ", " + stScheduled
	// stNotStarted: not yet run and not running; they may still be
	// cancelled or expire.
	stNotStarted = stPending + ", " + stTimed
	// stTerminal: finished (queuetype.Status.Terminal).
	stTerminal = stCompleted + ", " + stFailed + ", " + stExpired + ", " + stCancelled
	// stRequeueable: finished without a result; Requeue makes them pending.
	stRequeueable = stFailed + ", " + stExpired + ", " + stCancelled
)
