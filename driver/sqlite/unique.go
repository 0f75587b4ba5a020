package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
)

// Unique messages. The writer's transactions are BEGIN IMMEDIATE, so the
// look-up of a key and the insert that follows it run under the file's
// write lock: no other connection or process can store the key between
// the two, and a batch's later messages see its earlier ones. A key blocks
// while a message holding it is in one of its unique_states: the look-up
// reads the status, so nothing has to release a key when a message moves
// on (and a message requeued into a blocking status blocks again).

const (
	// sqlUniqueHolder finds a message whose key blocks: it holds the key
	// and its status is one of its blocking states.
	sqlUniqueHolder = `SELECT id FROM messages WHERE unique_key = ?1 AND ((unique_states >> status) & 1) = 1 LIMIT 1`
	// sqlInsertUnique is sqlInsert with the message's key (?17, NULL for
	// none) and blocking states (?18).
	sqlInsertUnique = `INSERT INTO messages (id, type, status, destination, source, content, priority,
	created_at, updated_at, run_at, expire_at, max_attempts, tags, metadata, shard_key, callback_owner,
	max_attempts_unset, unique_key, unique_states)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)`
)

// InsertUnique implements driver.UniqueInserter.
func (d *DB) InsertUnique(ctx context.Context, p qdriver.InsertParams, keys []qdriver.UniqueKey) ([]string, error) {
	existing := make([]string, len(p.Messages))
	// One message writes one row (its key and route look-ups only read): no
	// savepoint. A batch's rows are checked against the routes at once.
	multi := len(p.Messages) > 1
	err := d.w.do(ctx, multi, func(t *tx) error {
		clear(existing) // a retried transaction starts over
		if !multi {
			return insertUniques(t, p, keys, existing, true)
		}
		after, err := maxSeq(t)
		if err != nil {
			return err
		}
		if err := insertUniques(t, p, keys, existing, false); err != nil {
			return err
		}
		return checkRoutedAfter(t, after)
	})
	if err != nil {
		return nil, d.wrap("insert", err)
	}
	return existing, nil
}

// insertUniques stores each message of p whose key does not block, and
// sets existing[i] to the id of the message holding the key of each one
// it leaves out. With routeEach, each id's route is looked up first.
func insertUniques(t *tx, p qdriver.InsertParams, keys []qdriver.UniqueKey, existing []string, routeEach bool) error {
	for i, m := range p.Messages {
		key := qdriver.UniqueKey{}
		if i < len(keys) {
			key = keys[i]
		}
		if key.Key != "" {
			holder, found, err := t.queryString(sqlUniqueHolder, key.Key)
			if err != nil {
				return err
			}
			if found {
				existing[i], m.Seq = holder, 0
				continue
			}
		}
		if routeEach {
			if err := checkNotRouted(txInserter{t}, m.ID); err != nil {
				return err
			}
		}
		if err := insertOne(t, p, i, key); err != nil {
			return err
		}
	}
	return nil
}

// insertOne inserts message i of p with its key and sets its Seq.
func insertOne(t *tx, p qdriver.InsertParams, i int, key qdriver.UniqueKey) error {
	m := p.Messages[i]
	owner := ""
	if p.CallbackOwners != nil {
		owner = p.CallbackOwners[i]
	}
	args, err := insertArgs(m, owner, p.MaxAttemptsDefault)
	if err != nil {
		return err
	}
	res, err := t.exec(sqlInsertUnique, append(args, nullText(key.Key), int64(key.States))...)
	if err != nil {
		return err
	}
	m.Seq, err = res.LastInsertId()
	return err
}

// queryString runs a one-value text query; found is false without a row.
func (t *tx) queryString(query string, args ...any) (string, bool, error) {
	rows, err := t.w.query(query, args...)
	if err != nil {
		return "", false, err
	}
	defer rows.Close()
	vals := make([]driver.Value, 1)
	if err := rows.Next(vals); err != nil {
		if errors.Is(err, errEOF) {
			return "", false, nil
		}
		return "", false, err
	}
	switch v := vals[0].(type) {
	case string:
		return v, true, nil
	case []byte:
		return string(v), true, nil
	}
	return "", false, nil
}
