package sqlite

// WriteTransactions returns how many write transactions the file's writer
// has committed since Open. Every Insert, Claim, Complete and maintenance
// write goes through that writer, and group commit folds concurrent calls
// into one transaction, so dividing the growth of this count by the
// messages processed gives the write transactions per message. Transactions
// of the application's own pool (AppDB, InsertTx) are not counted.
func (d *DB) WriteTransactions() int64 { return d.w.commits.Load() }

// WriteOps returns how many writes (Insert, Claim, Complete, maintenance
// calls) the transactions counted by WriteTransactions carried, an op that
// failed alone inside its transaction included. WriteOps divided by
// WriteTransactions is the mean group-commit size.
func (d *DB) WriteOps() int64 { return d.w.committed.Load() }
